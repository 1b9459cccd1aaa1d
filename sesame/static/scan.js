// The shopper's scanner: camera frames decoded in the browser (zxing-wasm, vendored), or a photo sent to
// /api/v1/scan/image, or typed digits sent to /api/v1/scan; the card then shows in the page (server-rendered
// fragment of the same template as the product page). Without JavaScript the forms still work.

import { cameraAvailable, startCamera } from "./camera.js";

const box = document.getElementById("scanner");
const msg = box.dataset;
const statusLine = document.getElementById("scan-status");
const result = document.getElementById("result");
const video = document.getElementById("video");
const viewfinder = document.getElementById("viewfinder");
const startButton = document.getElementById("start-camera");
const stopButton = document.getElementById("stop-camera");
const FORMATS = ["QRCode", "DataMatrix", "EAN13", "EAN8", "UPCA", "UPCE", "DataBar", "DataBarExpanded", "Code128"];
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));

let stop = null;

function say(text) {
  statusLine.textContent = text;
}

function showProblem(text) {
  result.textContent = "";
  const p = document.createElement("p");
  p.className = "notice bad";
  p.setAttribute("role", "alert");
  p.textContent = text;
  result.append(p);
  box.dataset.state = "error";
}

async function showCard(card, code) {
  const params = new URLSearchParams({ fragment: "1" });
  const lot = card.lot && (card.lot.batch || card.lot);
  if (typeof lot === "string") params.set("lot", lot);
  const response = await fetch(`/products/${encodeURIComponent(card.gtin)}?${params}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  result.innerHTML = await response.text();
  history.replaceState(null, "", `/scan?code=${encodeURIComponent(code)}`);
  box.dataset.state = "card";
  say("");
  result.focus();
}

async function answer(response, code) {
  if (response.ok) {
    const card = await response.json();
    await showCard(card, code || card.gtin);
    return;
  }
  let problem = {};
  try {
    problem = await response.json();
  } catch (e) {
    problem = {};
  }
  if (response.status === 404) showProblem(msg.msgUnknown);
  else if (problem.type && problem.type.endsWith("no-code-found")) showProblem(msg.msgNocode);
  else showProblem(msg.msgFailed);
  say("");
}

async function lookUp(code) {
  say(msg.msgLooking);
  try {
    const response = await fetch("/api/v1/scan", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code }),
      credentials: "omit",
    });
    await answer(response, code);
  } catch (e) {
    showProblem(msg.msgFailed);
  }
}

function stopCamera() {
  if (stop) stop();
  stop = null;
  viewfinder.hidden = true;
  stopButton.hidden = true;
  startButton.hidden = false;
}

async function openCamera() {
  say(msg.msgStarting);
  viewfinder.hidden = false;
  try {
    stop = await startCamera(video, {
      wasmUrl: msg.wasm,
      formats: FORMATS,
      onCode: (text) => {
        stop = null;
        stopCamera();
        say(fill(msg.msgFound, { code: text }));
        box.dataset.decoded = text;
        lookUp(text);
      },
    });
  } catch (e) {
    viewfinder.hidden = true;
    say(msg.msgDenied);
    return;
  }
  startButton.hidden = true;
  stopButton.hidden = false;
  say(msg.msgAim);
  box.dataset.state = "scanning";
}

startButton.addEventListener("click", openCamera);
stopButton.addEventListener("click", () => {
  stopCamera();
  say("");
});

document.getElementById("code-form").addEventListener("submit", (event) => {
  const code = document.getElementById("code").value.trim();
  if (!code) return;
  event.preventDefault();
  lookUp(code);
});

document.getElementById("photo-form").addEventListener("submit", async (event) => {
  const file = document.getElementById("photo").files[0];
  if (!file) return;
  event.preventDefault();
  say(msg.msgReading);
  const data = new FormData();
  data.append("file", file);
  try {
    const response = await fetch("/api/v1/scan/image", {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "omit",
    });
    await answer(response, null);
  } catch (e) {
    showProblem(msg.msgFailed);
  }
});

if (!cameraAvailable()) {
  startButton.disabled = true;
  say(msg.msgDenied);
}
