// At the till: read a customer's Sésame card with the camera into a form field (the server accepts the card's
// URL as well as the bare Sésame number).
import { cameraAvailable, startCamera } from "./camera.js";

for (const box of document.querySelectorAll(".card-scanner")) {
  if (!cameraAvailable()) continue;
  box.hidden = false;
  const input = document.getElementById(box.dataset.target);
  const video = box.querySelector("video");
  const finder = box.querySelector(".viewfinder");
  const status = box.querySelector(".status");
  const button = box.querySelector("button.scan-card");
  let stop = null;
  button.addEventListener("click", async () => {
    if (stop) {
      stop();
      stop = null;
      finder.hidden = true;
      return;
    }
    finder.hidden = false;
    try {
      stop = await startCamera(video, {
        wasmUrl: box.dataset.wasm,
        formats: ["QRCode"],
        onCode: (text) => {
          stop = null;
          finder.hidden = true;
          input.value = text;
          status.textContent = "";
          input.dispatchEvent(new Event("change", { bubbles: true }));
          input.focus();
        },
      });
      status.textContent = box.dataset.msgAim;
    } catch (e) {
      finder.hidden = true;
      status.textContent = box.dataset.msgDenied;
    }
  });
}
