// The citizen's "verify" buttons: fetch the receipt's proof bundle (salt, committed JSON, leaf, inclusion proof,
// checkpoint) and check it here with WebCrypto, trusting nothing but the log's public key.
import { verifyReceipt } from "./ledger.js";

const list = document.getElementById("receipts");
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));

function say(el, kind, text) {
  el.textContent = "";
  const badge = document.createElement("span");
  badge.className = `badge ${kind}`;
  badge.textContent = kind === "ok" ? "✓" : kind === "bad" ? "✗" : "…";
  badge.setAttribute("aria-hidden", "true");
  el.append(badge, " ", text);
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest("button.verify");
  if (!button) return;
  const id = button.dataset.receipt;
  const out = document.getElementById(`v-${id}`);
  const msg = list.dataset;
  button.disabled = true;
  say(out, "none", msg.msgWorking);
  try {
    const response = await fetch(`/api/v1/vault/receipts/${id}/proof`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const report = await verifyReceipt(await response.json());
    say(out, "ok", fill(msg.msgOk, { index: report.index, size: report.size }));
    out.dataset.verified = "true";
  } catch (e) {
    say(out, "bad", `${msg.msgFailed} ${e.message}`);
    out.dataset.verified = "false";
  } finally {
    button.disabled = false;
  }
});
