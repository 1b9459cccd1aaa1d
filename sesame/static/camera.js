// The camera decoder shared by the shopper's scanner and the till: getUserMedia frames, decoded in the browser by
// zxing-wasm (vendored; its .wasm is served by Sésame, never fetched from a CDN).

let ready = null;

function decoder(wasmUrl) {
  if (!ready) {
    const wasm = new URL(wasmUrl, location.href).href;
    ready = window.ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
      fireImmediately: true,
    });
  }
  return ready;
}

export function cameraAvailable() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/**
 * Open the camera into `video` and decode frames until a code is found; resolves to a `stop()` function.
 * `onCode(text)` is called once, after the camera is stopped. Rejects when the camera cannot be opened.
 */
export async function startCamera(video, { wasmUrl, formats, onCode }) {
  await decoder(wasmUrl);
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  let timer = null;
  let busy = false;
  let running = true;
  const stop = () => {
    running = false;
    if (timer) clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
  video.srcObject = stream;
  await video.play();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const frame = async () => {
    if (!running) return;
    if (!busy && video.readyState >= 2 && video.videoWidth) {
      busy = true;
      try {
        const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        const found = await window.ZXingWASM.readBarcodes(image, { formats, tryHarder: true, maxNumberOfSymbols: 1 });
        const hit = found.find((barcode) => barcode.isValid && barcode.text);
        if (hit && running) {
          stop();
          onCode(hit.text);
          return;
        }
      } catch (e) {
        console.warn("decoding failed", e);
      } finally {
        busy = false;
      }
    }
    timer = setTimeout(frame, 150);
  };
  frame();
  return stop;
}
