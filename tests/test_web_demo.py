"""Browser test of ``avatar-agent demo``: headless Chromium (Debian) driven by Playwright.

The server runs as a subprocess on a free loopback port. The page is loaded with a WAV file
as the fake microphone. Measured in the page, on every displayed video frame (grabbed from the
<video> through a canvas) together with the level of the received audio (WebAudio analyser):
the first frame's delay after page load, the displayed frame rate, the mouth region changing
far more while the bot speaks than while it idles and more than the eyes (which blink and sway
in both), and the lag between the audio level and the mouth's distance from its rest pose.
Then the microphone path: the WAV's question is transcribed and answered. A screenshot goes to
out/demo-screenshot.png and the numbers to out/demo-browser-report.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("aiortc")
pytest.importorskip("aiohttp")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"

needs_browser = pytest.mark.skipif(
    not Path(CHROMIUM).is_file() or shutil.which("espeak-ng") is None,
    reason="needs Debian's chromium and espeak-ng (make install)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as r:
        return json.loads(r.read())


def _fake_mic_wav(path: Path) -> Path:
    """A spoken question then 6 s of silence, 48 kHz mono 16-bit (Chromium loops it)."""
    sys.path.insert(0, str(ROOT / "examples"))
    from customer_service.tts import make_tts

    from avatar_agent.audio import resample

    tts = make_tts("auto")
    speech = tts.synthesize("What is your returns policy?").astype(np.float32) / 32768.0
    speech = resample(speech, tts.sample_rate, 48000)
    pcm = np.concatenate([np.zeros(24000), speech, np.zeros(6 * 48000)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("demo") / "server.log"
    env = dict(os.environ, OPENAI_BASE_URL="", OPENAI_API_KEY="")  # retrieval mode, offline
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "avatar_agent", "demo", "--port", str(port), "--size", "384",
             "--no-greeting"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(url + "/api/info")["ready"]:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"demo server did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _record(page, boxes: dict, ms: int) -> dict:
    """Per displayed frame: time (ms), audio level, grey grabs of each box (see app.js)."""
    rec = await page.evaluate("([b, ms]) => window.avatarDemo.recordSync(b, ms)", [boxes, ms])
    return {
        "t": np.asarray(rec["t"], np.float64),
        "rms": np.asarray(rec["rms"], np.float64),
        "grab": {k: np.asarray(v, np.float32) for k, v in rec["grab"].items()},
    }


GRAB_W, GRAB_H = 32, 16  # app.js demo.grab


def _registered_diff(a: np.ndarray, b: np.ndarray, shift: int = 2) -> float:
    """Mean absolute grey difference of two grabs after the best shift of ``b`` (±2 px).

    Head sway translates the whole face; registering first leaves what changes shape (the
    lips opening and closing), so the measure follows the mouth, not the head.
    """
    a2, b2 = a.reshape(GRAB_H, GRAB_W), b.reshape(GRAB_H, GRAB_W)
    best = np.inf
    s = shift
    for dy in range(-s, s + 1):
        for dx in range(-s, s + 1):
            pa = a2[s : GRAB_H - s, s : GRAB_W - s]
            pb = b2[s + dy : GRAB_H - s + dy, s + dx : GRAB_W - s + dx]
            best = min(best, float(np.abs(pa - pb).mean()))
    return best


def _motion(stack: np.ndarray) -> float:
    """Mean registered change between consecutive distinct grabs (grey levels)."""
    diffs = np.array([_registered_diff(a, b) for a, b in zip(stack[:-1], stack[1:], strict=True)])
    diffs = diffs[diffs > 0]  # the same video frame grabbed twice
    return float(diffs.mean()) if len(diffs) else 0.0


def _av_lag(idle: dict, speaking: dict, max_lag_ms: int = 320) -> tuple[float, float]:
    """Lag (ms, > 0: the mouth follows the sound) maximising the correlation between the audio
    level heard and the mouth's (registered) distance from its rest pose, and that correlation."""
    rest = np.median(idle["grab"]["mouth"], axis=0)
    mouth = np.array([_registered_diff(rest, g) for g in speaking["grab"]["mouth"]])
    t = speaking["t"]
    grid = np.arange(t[0], t[-1], 10.0)
    m = np.interp(grid, t, mouth)
    a = np.interp(grid, t, speaking["rms"])
    m, a = (m - m.mean()) / (m.std() + 1e-9), (a - a.mean()) / (a.std() + 1e-9)
    best = (0.0, -1.0)
    for lag in range(-max_lag_ms // 10, max_lag_ms // 10 + 1):
        x, y = (a[: len(a) - lag], m[lag:]) if lag >= 0 else (a[-lag:], m[: len(m) + lag])
        r = float(np.mean(x * y))
        if r > best[1]:
            best = (lag * 10.0, r)
    return best


async def _run(url: str, wav: Path) -> dict:
    from playwright import async_api as playwright_api

    OUT.mkdir(exist_ok=True)
    result: dict = {}
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 720})
            await page.goto(url + "/")
            await page.wait_for_function(
                "window.avatarDemo && window.avatarDemo.firstFrameMs !== null", timeout=15000
            )
            result["first_frame_ms"] = await page.evaluate("window.avatarDemo.firstFrameMs")
            await page.wait_for_function("window.avatarDemo.info !== null", timeout=5000)
            info = await page.evaluate("window.avatarDemo.info")
            boxes = {"mouth": info["mouth_box"], "eyes": info["eyes_box"]}
            result["video_size"] = await page.evaluate("[avatar.videoWidth, avatar.videoHeight]")

            result["idle"] = await _record(page, boxes, 2000)

            # typed question -> bot answer spoken by the avatar
            await page.fill("#text", "How much does shipping cost?")
            await page.press("#text", "Enter")
            await page.wait_for_function("window.avatarDemo.state === 'speaking'", timeout=20000)
            result["speaking"] = await _record(page, boxes, 3000)
            await page.screenshot(path=str(OUT / "demo-screenshot.png"))
            result["paused"] = await page.evaluate("avatar.paused")
            result["chat"] = await page.inner_text("#log")

            # microphone (the WAV) -> faster-whisper -> answer
            await page.click("#mic")
            await page.wait_for_function(
                "window.avatarDemo.events.some(e => e.type === 'heard')", timeout=30000
            )
            await page.click("#mic")
            events = await page.evaluate("window.avatarDemo.events")
            result["heard"] = [e["text"] for e in events if e["type"] == "heard"]
            result["states"] = [e["state"] for e in events if e["type"] == "state"]
            await page.wait_for_function(
                "window.avatarDemo.events.filter(e => e.type === 'bot').length >= 2", timeout=20000
            )
            result["chat_after_mic"] = await page.inner_text("#log")

            # an expression button changes the face (a smile moves the mouth corners)
            await page.wait_for_function(
                "window.avatarDemo.events.filter(e => e.type === 'spoken').length >= 2",
                timeout=30000,
            )
            await asyncio.sleep(0.6)
            before = await _record(page, boxes, 400)
            await page.click("#expressions button[data-name=happy]")
            await page.wait_for_function(
                "window.avatarDemo.events.some(e => e.type === 'expression' && e.name === 'happy')",
                timeout=5000,
            )
            await asyncio.sleep(1.0)  # the engine eases in over ~0.3 s
            after = await _record(page, boxes, 400)
            result["smile_change"] = float(
                np.abs(after["grab"]["mouth"].mean(0) - before["grab"]["mouth"].mean(0)).mean()
            )
            await page.screenshot(path=str(OUT / "demo-screenshot-happy.png"))
        finally:
            await browser.close()
    return result


@needs_browser
def test_browser_demo_plays_and_lip_syncs(server, tmp_path):
    pytest.importorskip("playwright.async_api")
    t0 = time.monotonic()
    r = asyncio.run(_run(server, _fake_mic_wav(tmp_path / "question.wav")))
    idle, speak = r["idle"], r["speaking"]
    lag_ms, corr = _av_lag(idle, speak)
    report = {
        "first_frame_ms": round(r["first_frame_ms"]),
        "video_size": r["video_size"],
        "fps_idle": round(1000 * (len(idle["t"]) - 1) / (idle["t"][-1] - idle["t"][0]), 1),
        "fps_speaking": round(1000 * (len(speak["t"]) - 1) / (speak["t"][-1] - speak["t"][0]), 1),
        "mouth_idle": round(_motion(idle["grab"]["mouth"]), 2),
        "mouth_speaking": round(_motion(speak["grab"]["mouth"]), 2),
        "eyes_idle": round(_motion(idle["grab"]["eyes"]), 2),
        "eyes_speaking": round(_motion(speak["grab"]["eyes"]), 2),
        "audio_rms_idle": round(float(idle["rms"].mean()), 4),
        "audio_rms_speaking": round(float(speak["rms"].mean()), 4),
        "av_lag_ms": lag_ms,
        "av_corr": round(corr, 2),
        "heard": r["heard"],
        "smile_change": round(r["smile_change"], 2),
        "seconds": round(time.monotonic() - t0, 1),
    }
    (OUT / "demo-browser-report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    assert r["video_size"] == [384, 384]
    assert not r["paused"]
    assert r["first_frame_ms"] < 3000  # < 1 s on an idle machine; CI shares its cores
    # the video plays: frames are displayed at about the engine's 25 fps
    assert report["fps_idle"] > 15 and report["fps_speaking"] > 15
    # the mouth moves while the bot speaks, clearly more than between replies (when the face
    # still listens: small smiles and nods), and the eyes are alive (blinks, gaze) throughout
    assert report["mouth_speaking"] > 3.0
    assert report["mouth_speaking"] > 1.5 * report["mouth_idle"]
    assert report["eyes_idle"] > 0.5
    # lip sync as seen and heard in the page: the mouth follows the received audio's level;
    # the offset is within ITU-R BT.1359's detectability (sound <= 45 ms early, <= 125 ms late)
    # (a pixel proxy: the lively learned face also sways and shows expressions, so this
    # correlation runs 0.25-0.6 here; tests/test_lipsync.py measures the lips against phones)
    assert report["av_corr"] > 0.15
    assert -125 <= report["av_lag_ms"] <= 45
    assert "speaking" in r["states"]
    assert "50 dollars" in r["chat"]  # the FAQ answer to the typed question
    assert any("return" in h.lower() for h in r["heard"]), r["heard"]
    assert "30 days" in r["chat_after_mic"]  # the FAQ answer to the spoken question
    assert report["smile_change"] > 2.0
    assert (OUT / "demo-screenshot.png").stat().st_size > 10_000


async def _run_without_mic(url: str) -> dict:
    from playwright import async_api as playwright_api

    async with playwright_api.async_playwright() as p:
        # no fake devices: no microphone, and the browser hides its addresses behind mDNS names
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            page = await browser.new_page()
            await page.goto(url + "/")
            await page.wait_for_function(
                "window.avatarDemo && window.avatarDemo.firstFrameMs !== null", timeout=15000
            )
            first = await page.evaluate("window.avatarDemo.firstFrameMs")
            await page.click("#mic")
            await page.wait_for_selector("text=microphone unavailable", timeout=5000)
            n0 = await page.evaluate("window.avatarDemo.framesSeen")
            await asyncio.sleep(1.0)
            n1 = await page.evaluate("window.avatarDemo.framesSeen")
            return {"first_frame_ms": first, "frames_per_s": n1 - n0}
        finally:
            await browser.close()


@needs_browser
def test_page_without_microphone(server):
    pytest.importorskip("playwright.async_api")
    r = asyncio.run(_run_without_mic(server))
    print(json.dumps(r))
    assert r["first_frame_ms"] < 3000
    assert r["frames_per_s"] > 15  # the video keeps playing; typing still works


# ------------------------------------------------------------------------------ unit tests
def test_speech_parts_follow_tags():
    from avatar_agent.web.speech import speech_parts

    parts = speech_parts("[concerned] Sorry it broke. [neutral] It has a warranty. We fix it.")
    assert [p.text for p in parts] == ["Sorry it broke.", "It has a warranty.", "We fix it."]
    assert [p.expression for p in parts] == ["concerned", "neutral", None]
    assert speech_parts("[smile:0.5] Hi!")[0].intensity == 0.5
    assert speech_parts("Hi [wow] there [1].")[0].text == "Hi there [1]."
    assert speech_parts("") == []


def test_endpointer_cuts_utterances():
    from avatar_agent.web.mic import Endpointer

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    noise = lambda s: 0.002 * rng.standard_normal(int(s * 16000))  # noqa: E731
    speech = 0.3 * np.sin(2 * np.pi * 200 * t[:12000]) * (1 + np.sin(2 * np.pi * 4 * t[:12000]))
    ep = Endpointer()
    events = []
    for chunk in (noise(1.0), speech, noise(1.0), speech, noise(0.2)):
        for i in range(0, len(chunk), 441):  # odd chunk sizes
            events += ep.feed(chunk[i : i + 441].astype(np.float32))
    kinds = [k for k, _ in events]
    assert kinds == ["start", "end", "start"]  # the second one is still open
    utt = events[1][1]
    assert 0.75 + 0.6 < len(utt) / 16000 < 0.75 + 0.3 + 0.75  # speech + hangover + preroll


def test_peer_media_timestamps():
    import fractions

    from avatar_agent.web.media import PeerMedia

    async def run():
        peer = PeerMedia(fps=25)
        video = np.zeros((64, 64, 3), np.uint8)
        for index in (7, 8, 9):
            peer.push(index, video, np.arange(1920, dtype=np.int16))
        vids = [await peer.video.recv() for _ in range(3)]
        auds = [await peer.audio.recv() for _ in range(6)]
        peer.close()
        return vids, auds

    vids, auds = asyncio.run(run())
    assert [v.pts for v in vids] == [0, 3600, 7200]
    assert vids[0].time_base == fractions.Fraction(1, 90000)
    assert [a.pts for a in auds] == [0, 960, 1920, 2880, 3840, 4800]
    assert all(a.samples == 960 and a.sample_rate == 48000 for a in auds)


def _post(url: str, data: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_api_routes(server):
    info = _get(server + "/api/info")
    assert info["ready"] and info["bot_mode"] == "retrieval" and info["size"] == 384
    x0, y0, x1, y1 = info["mouth_box"]
    assert 0 <= x0 < x1 <= 1 and 0.4 < y0 < y1 < 0.9  # the mouth is in the lower half
    assert "happy" in info["expressions"]
    with urllib.request.urlopen(server + "/", timeout=5) as r:
        assert b"avatar-agent" in r.read()
    assert _post(server + "/api/expression", b'{"name": "bogus"}')[0] == 400
    assert _post(server + "/api/expression", b'{"name": "neutral"}') == (200, {"ok": True})
    assert _post(server + "/api/say", b"not json")[0] == 400


def test_local_mdns_candidates_are_resolved_to_this_machine():
    from avatar_agent.web.sdp import resolve_local_candidates

    sdp = "\r\n".join([
        "v=0",
        "a=candidate:1 1 udp 2113937151 0b6f2f8e-3c1d-4e0f-9a61-2d4f4e0c9b1a.local 5000 typ host"
        " generation 0 network-cost 999",
        "a=candidate:2 1 udp 2113937151 192.0.2.7 5001 typ host generation 0",
        "a=end-of-candidates",
    ])  # fmt: skip
    out = resolve_local_candidates(sdp, ["10.1.2.3", "192.0.2.2"]).split("\r\n")
    assert out[1] == (
        "a=candidate:1 1 udp 2113937151 10.1.2.3 5000 typ host generation 0 network-cost 999"
    )
    assert out[2].startswith("a=candidate:1 1 udp 2113937151 192.0.2.2 5000 typ host")
    assert out[3] == "a=candidate:2 1 udp 2113937151 192.0.2.7 5001 typ host generation 0"
    assert len(out) == 5 and ".local" not in "".join(out)
    assert resolve_local_candidates(sdp, []) == sdp
