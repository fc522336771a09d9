// avatar-agent browser demo: WebRTC receive of the avatar stream, chat and state over a WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
const VIDEO_DELAY_MS = Number(new URLSearchParams(location.search).get("video_delay_ms") ?? 60);
const video = $("avatar");
const demo = (window.avatarDemo = {
  t0: performance.now(), firstFrameMs: null, framesSeen: 0, state: "idle",
  events: [], info: null, pc: null, ws: null, timings: {},
});

function log(role, text) {
  const p = document.createElement("p");
  p.className = `msg ${role}`;
  p.textContent = text;
  $("log").appendChild(p);
  $("log").scrollTop = $("log").scrollHeight;
}

function setState(state) {
  demo.state = state;
  $("state").dataset.state = state;
  $("state").textContent = state;
}

function send(obj) {
  if (demo.ws && demo.ws.readyState === WebSocket.OPEN) demo.ws.send(JSON.stringify(obj));
}

function onEvent(ev) {
  demo.events.push(ev);
  switch (ev.type) {
    case "state": setState(ev.state); break;
    case "user": log("user", ev.text); break;
    case "heard": log("sys", `(microphone) “${ev.text}”`); break;
    case "bot": log("bot", ev.text); break;
    case "expression": markExpression(ev.name); break;
    case "ready":
      $("status").textContent = `bot: ${ev.bot_mode} mode · voice: ${ev.tts} · mic: ${ev.stt ? "whisper" : "off"}`;
      if (!ev.stt) { $("mic").disabled = true; $("mic").title = "the server runs without speech recognition"; }
      break;
    case "mic": $("mic").dataset.status = ev.status; break;
    case "error": log("sys", `error: ${ev.error}`); break;
  }
}

function connectSocket() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = () => setTimeout(connectSocket, 1000);
  demo.ws = ws;
}

function markExpression(name) {
  for (const b of $("expressions").children) b.classList.toggle("active", b.dataset.name === name);
}

async function waitIce(pc, ms) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ms);
  });
}

async function connectMedia() {
  const pc = new RTCPeerConnection();
  demo.pc = pc;
  demo.audioTx = pc.addTransceiver("audio", { direction: "sendrecv" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => {
    // Chrome's RTCP lip sync needs ~30 s to pull video back to the audio's jitter buffer;
    // starting the video ~60 ms behind makes the first answers line up already.
    if (e.track.kind === "video" && "jitterBufferTarget" in e.receiver) {
      e.receiver.jitterBufferTarget = VIDEO_DELAY_MS;
    }
    if (video.srcObject !== e.streams[0]) video.srcObject = e.streams[0];
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc, 300);
  demo.timings.offerSent = performance.now() - demo.t0;
  const r = await fetch("/api/offer", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
  });
  await pc.setRemoteDescription(await r.json());
  demo.timings.answered = performance.now() - demo.t0;
  pc.addEventListener("connectionstatechange", () => {
    demo.timings[pc.connectionState] = performance.now() - demo.t0;
    if (pc.connectionState === "failed") log("sys", "the video connection failed; reload the page");
  });
}

function watchFrames() {
  const tick = () => {
    demo.framesSeen += 1;
    if (demo.firstFrameMs === null) {
      demo.firstFrameMs = performance.now() - demo.t0;
      $("metrics").textContent = `first frame ${Math.round(demo.firstFrameMs)} ms after page load`;
    }
    video.requestVideoFrameCallback(tick);
  };
  if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(tick);
}

// Grey levels of a region of the current video frame, resized to w×h (for tests and metrics).
demo.grab = (box, w = 32, h = 16) => {
  const c = $("grab");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  const vw = video.videoWidth, vh = video.videoHeight;
  if (!vw) return null;
  const [x0, y0, x1, y1] = box;
  ctx.drawImage(video, x0 * vw, y0 * vh, (x1 - x0) * vw, (y1 - y0) * vh, 0, 0, w, h);
  const d = ctx.getImageData(0, 0, w, h).data;
  const out = new Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = (d[4 * i] * 0.299 + d[4 * i + 1] * 0.587 + d[4 * i + 2] * 0.114);
  return out;
};

// Per displayed video frame: time, grey levels of boxes and the level of the audio being played
// (WebAudio analyser on the same received stream), for `ms` milliseconds. Tests use it to
// measure lip-sync in the page.
demo.recordSync = (boxes, ms) => new Promise((resolve) => {
  const ctx = (demo.audioCtx ||= new AudioContext());
  ctx.resume();
  const src = ctx.createMediaStreamSource(video.srcObject);
  const an = ctx.createAnalyser();
  an.fftSize = 1024;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  const rec = { t: [], rms: [], grab: Object.fromEntries(Object.keys(boxes).map((k) => [k, []])) };
  const t0 = performance.now();
  const step = (now, meta) => {
    now = (meta && meta.expectedDisplayTime) || now;
    an.getFloatTimeDomainData(buf);
    let e = 0;
    for (const v of buf) e += v * v;
    rec.t.push(now - t0);
    rec.rms.push(Math.sqrt(e / buf.length));
    for (const [k, b] of Object.entries(boxes)) rec.grab[k].push(demo.grab(b));
    if (now - t0 < ms) video.requestVideoFrameCallback(step);
    else { src.disconnect(); resolve(rec); }
  };
  video.requestVideoFrameCallback(step);
});

let micStream = null;
async function toggleMic() {
  const btn = $("mic");
  if (micStream) {
    await demo.audioTx.sender.replaceTrack(null);
    micStream.getTracks().forEach((t) => t.stop());
    micStream = null;
    btn.textContent = "Start mic"; btn.classList.remove("active");
    return;
  }
  try {
    micStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (err) {
    log("sys", `microphone unavailable (${err.name}); type instead`);
    return;
  }
  await demo.audioTx.sender.replaceTrack(micStream.getAudioTracks()[0]);
  btn.textContent = "Stop mic"; btn.classList.add("active");
}

function unmute() {
  video.muted = false;
  video.play().catch(() => {});
  $("sound").hidden = true;
}

async function main() {
  const media = connectMedia(); // first: the first frame should show within a second
  connectSocket();
  watchFrames();
  video.play().catch(() => {});
  $("sound").onclick = unmute;
  $("composer").onsubmit = (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    unmute();
    send({ type: "say", text });
    $("text").value = "";
  };
  $("mic").onclick = () => { unmute(); toggleMic(); };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) $("mic").disabled = true;
  const info = await (await fetch("/api/info")).json();
  demo.info = info;
  for (const name of info.expressions) {
    const b = document.createElement("button");
    b.textContent = name; b.dataset.name = name;
    b.onclick = () => send({ type: "expression", name });
    $("expressions").appendChild(b);
  }
  markExpression("neutral");
  await media;
}

main().catch((err) => { $("status").textContent = `error: ${err}`; console.error(err); });
