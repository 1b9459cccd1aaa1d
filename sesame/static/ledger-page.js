// The ledger explorer: shows the signed checkpoint, checks the log only grew since the last visit
// (consistency proof), and verifies any entry's inclusion proof in the browser.
import {
  fetchCheckpoint, fetchConsistencyProof, fetchVkey, hex, verifyCheckpointSignature, verifyConsistency, verifyEntry,
  b64decode, b64encode,
} from "./ledger.js";

const $ = (id) => document.getElementById(id);
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));
const STORE = "sesame.ledger.last";
let latest = null;
let vkey = null;

function status(el, kind, text) {
  el.textContent = "";
  if (!text) return;
  const badge = document.createElement("span");
  badge.className = `badge ${kind}`;
  badge.textContent = kind === "ok" ? "✓" : kind === "bad" ? "✗" : "i";
  badge.setAttribute("aria-hidden", "true");
  el.append(badge, " ", text);
}

async function loadCheckpoint() {
  const box = $("checkpoint");
  const msg = box.dataset;
  status($("cp-status"), "none", msg.msgLoading);
  try {
    const { note, checkpoint } = await fetchCheckpoint();
    latest = checkpoint;
    $("cp-origin").textContent = checkpoint.origin;
    $("cp-size").textContent = checkpoint.size.toLocaleString(document.documentElement.lang);
    $("cp-root").textContent = hex(checkpoint.rootHash);
    $("cp-note").textContent = note;
    vkey = await fetchVkey();
    const signed = await verifyCheckpointSignature(checkpoint, vkey);
    status($("cp-status"), signed === "verified" ? "ok" : "warn", signed === "verified" ? msg.msgSigned : msg.msgUnsupported);
    box.dataset.verified = signed;
    await checkHistory(checkpoint, msg);
    const input = $("entry-index");
    input.max = String(Math.max(0, checkpoint.size - 1));
    if (input.value === "" && checkpoint.size > 0) input.value = String(checkpoint.size - 1);
  } catch (e) {
    status($("cp-status"), "bad", `${msg.msgFailed} ${e.message}`);
    box.dataset.verified = "failed";
  }
}

async function checkHistory(checkpoint, msg) {
  let previous = null;
  try {
    previous = JSON.parse(localStorage.getItem(STORE) || "null");
  } catch (e) {
    previous = null;
  }
  const out = $("cp-history");
  if (previous && previous.origin === checkpoint.origin && previous.size > 0) {
    if (previous.size === checkpoint.size) {
      await verifyConsistency(previous.size, checkpoint.size, [], b64decode(previous.root), checkpoint.rootHash);
      status(out, "ok", msg.msgSame);
    } else if (previous.size < checkpoint.size) {
      const proof = await fetchConsistencyProof(previous.size, checkpoint.size);
      await verifyConsistency(previous.size, checkpoint.size, proof, b64decode(previous.root), checkpoint.rootHash);
      status(out, "ok", fill(msg.msgGrown, { old: previous.size, new: checkpoint.size }));
    }
  } else {
    status(out, "none", msg.msgFirst);
  }
  localStorage.setItem(STORE, JSON.stringify({ origin: checkpoint.origin, size: checkpoint.size, root: b64encode(checkpoint.rootHash) }));
}

function row(dl, term, value, mono) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  if (mono) dd.className = "mono break";
  dl.append(dt, dd);
}

async function checkEntry(index) {
  const out = $("entry-result");
  const msg = out.dataset;
  out.textContent = "";
  const line = document.createElement("p");
  line.className = "status";
  out.append(line);
  status(line, "none", fill(msg.msgWorking, { index }));
  try {
    if (!latest) await loadCheckpoint();
    const report = await verifyEntry(index, { checkpoint: latest, vkey });
    status(line, "ok", fill(msg.msgOk, { index, size: report.checkpoint.size }));
    out.dataset.verified = "true";
    const dl = document.createElement("dl");
    dl.className = "facts";
    const payload = report.entry.payload || {};
    row(dl, msg.msgKind, report.entry.kind || payload.kind || "");
    row(dl, msg.msgTime, payload.time || "");
    row(dl, msg.msgLeaf, hex(report.leafHash), true);
    row(dl, msg.msgProof, fill(msg.msgHashes, { n: report.proof.length }));
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(payload, null, 2);
    const h = document.createElement("h3");
    h.textContent = msg.msgPayload;
    out.append(dl, h, pre);
  } catch (e) {
    out.dataset.verified = "false";
    status(line, "bad", `${$("checkpoint").dataset.msgFailed} ${e.message}`);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = $("entry-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const index = Number($("entry-index").value);
    history.replaceState(null, "", `/ledger?index=${index}`);
    checkEntry(index);
  });
  const wanted = new URLSearchParams(location.search).get("index");
  await loadCheckpoint();
  if (wanted !== null && /^[0-9]+$/.test(wanted)) checkEntry(Number(wanted));
});
