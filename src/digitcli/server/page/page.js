// digitcli serve's page: draw on the canvas (mouse, pen or finger) or drop a
// photo; the image goes to POST /api/read and the reading is shown with each
// digit's confidence and the 28x28 the model saw. No build step, no libraries.
"use strict";

const READ_URL = "/api/read?boxes=1&crops=1&top_k=3";
const DEBOUNCE_MS = 250;       // read this long after the pen last moved
const INK = "#111";

const pad = document.getElementById("pad");
const context = pad.getContext("2d");
const photo = document.getElementById("photo");
const drop = document.getElementById("drop");
const hint = document.getElementById("hint");
const numberView = document.getElementById("number");
const statusView = document.getElementById("status");
const digitsView = document.getElementById("digits");
let minConfidence = 0.5;
let drawn = false;
let lastPoint = null;
let timer = null;
let sent = 0;                  // answers to older requests than the latest are dropped

function clearPad() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
  pad.hidden = false;
  photo.hidden = true;
  hint.hidden = false;
  sent += 1;
  show(null);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function strokeTo(event) {
  const [x, y] = point(event);
  context.strokeStyle = INK;
  context.lineWidth = pad.height / 16 * (event.pointerType === "pen" && event.pressure ? 0.6 + event.pressure : 1);
  context.lineCap = context.lineJoin = "round";
  context.beginPath();
  context.moveTo(...(lastPoint || [x, y]));
  context.lineTo(x, y);
  context.stroke();
  lastPoint = [x, y];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  if (!photo.hidden) clearPad();
  lastPoint = null;
  strokeTo(event);
  drawn = true;
  hint.hidden = true;
});
pad.addEventListener("pointermove", (event) => {
  if (lastPoint === null) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length ? events : [event]) strokeTo(each);
  readSoon();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { if (lastPoint !== null) { lastPoint = null; readSoon(); } });
}

function readSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => { if (drawn) pad.toBlob((blob) => read(blob, "image/png"), "image/png"); }, DEBOUNCE_MS);
}

async function read(body, type) {
  const request = ++sent;
  statusView.textContent = "reading\u2026";
  let record;
  try {
    const response = await fetch(READ_URL, { method: "POST", body, headers: type ? { "Content-Type": type } : {} });
    record = await response.json();
  } catch (error) {
    record = { status: "error", error: `no answer from the server (${error.message})` };
  }
  if (request === sent) show(record);
}

function readFile(file) {
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  pad.hidden = true;
  hint.hidden = true;
  photo.src = URL.createObjectURL(file);
  photo.hidden = false;
  read(form, null);
}

function show(record) {
  digitsView.replaceChildren();
  if (record === null) {
    numberView.textContent = "\u2013";
    numberView.dataset.status = "";
    statusView.textContent = "";
    return;
  }
  numberView.dataset.status = record.status;
  numberView.dataset.reads = String(Number(numberView.dataset.reads) + 1);
  if (record.status === "error") {
    numberView.textContent = "cannot read";
    statusView.textContent = record.error;
    return;
  }
  if (record.status === "no digit") {
    numberView.textContent = "no digit";
    statusView.textContent = "nothing that looks like writing";
    return;
  }
  numberView.textContent = record.number;
  const percent = Math.round(record.confidence * 100);
  statusView.textContent = record.status === "ok"
    ? `${percent}% sure`
    : `only ${percent}% sure: maybe not a digit, or an unclear one`;
  (record.digits || []).forEach((digit, index) => {
    const item = document.createElement("li");
    if (digit.confidence < minConfidence) item.className = "unsure";
    const image = document.createElement("img");
    image.alt = `the 28x28 image the model read as ${digit.digit}`;
    if (record.crops && record.crops[index]) image.src = record.crops[index];
    const label = document.createElement("span");
    label.className = "digit";
    label.textContent = digit.digit;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.title = (digit.top_k || []).map((t) => `${t.digit}: ${Math.round(t.confidence * 100)}%`).join(", ");
    const fill = document.createElement("span");
    fill.style.width = `${Math.round(digit.confidence * 100)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "percent";
    value.textContent = `${Math.round(digit.confidence * 100)}%`;
    item.append(image, label, bar, value);
    digitsView.append(item);
  });
}

document.getElementById("clear").addEventListener("click", clearPad);
photo.addEventListener("click", clearPad);   // back to drawing
document.getElementById("file").addEventListener("change", (event) => readFile(event.target.files[0]));
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("dragging"); });
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("dragging");
  readFile(event.dataTransfer.files[0]);
});
document.addEventListener("keydown", (event) => { if (event.key === "Escape") clearPad(); });

fetch("/api/model").then((response) => response.json()).then((model) => {
  minConfidence = model.min_confidence;
  const accuracy = model.metrics && model.metrics.mnist_test_accuracy;
  document.getElementById("model").textContent = `Model ${model.file}` +
    (accuracy ? `, ${(accuracy * 100).toFixed(2)}% on the MNIST test set` : "") +
    `; readings below ${Math.round(minConfidence * 100)}% are flagged as unsure.`;
}).catch(() => {});

clearPad();
