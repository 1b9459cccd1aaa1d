// The citizen's payment page: an EventSource on the prompt stream; each new prompt is fetched as a
// server-rendered fragment (with its Confirm/Decline forms) and put at the top of the page.
const list = document.getElementById("prompts");
const statusLine = document.getElementById("pay-status");
const msg = statusLine.dataset;

async function show(checkoutId) {
  if (!checkoutId || document.getElementById(`prompt-${checkoutId}`)) return;
  const response = await fetch(`/me/pay/${encodeURIComponent(checkoutId)}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const html = await response.text();
  const doc = new DOMParser().parseFromString(html, "text/html");
  const card = doc.querySelector("article.prompt");
  if (!card || document.getElementById(card.id)) return;
  list.prepend(document.importNode(card, true));
  statusLine.textContent = msg.msgArrived;
  const button = list.querySelector(`#${CSS.escape(card.id)} button`);
  if (button) button.focus();
}

function settle(checkoutId) {
  const card = document.getElementById(`prompt-${checkoutId}`);
  if (card) card.querySelectorAll("button").forEach((b) => (b.disabled = true));
}

function idOf(event) {
  try {
    const data = JSON.parse(event.data);
    return data.checkout_id || data.id || (data.payload && (data.payload.id || data.payload.checkout_id));
  } catch (e) {
    return null;
  }
}

const source = new EventSource("/api/v1/vault/checkouts/events");
source.addEventListener("open", () => {
  statusLine.textContent = list.children.length ? msg.msgArrived : msg.msgListening;
  document.body.dataset.stream = "open";
});
source.addEventListener("error", () => (statusLine.textContent = msg.msgOffline));
source.addEventListener("checkout.prompt", (event) => show(idOf(event)));
source.addEventListener("checkout.updated", (event) => settle(idOf(event)));
