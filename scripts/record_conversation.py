"""Record a scripted conversation through the real-time engine.

The agent speaks (the bundled demo sentence), the user barges in mid-sentence, the agent
thinks, answers again with an inline ``[happy]`` tag, then a long silence. Frames and audio
go to ``out/conversation.mp4``; a contact sheet of frames across the states goes to
``out/conversation_sheet.png``.

    .venv/bin/python scripts/record_conversation.py [--realtime] [--size 512] [--fps 25]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import cv2
import numpy as np

from avatar_agent.assets import asset_path
from avatar_agent.audio import load_audio
from avatar_agent.engine import AvatarEngine, EngineConfig, Signal, SimulatedClock
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.tags import strip_tags
from avatar_agent.video import Mp4Writer

RATE = 24000
REPLY = "[happy] Sure, I can help with that right away."


def script(fps: float) -> dict[int, list]:
    """Frame index → actions (each a function of the engine)."""
    speech = load_audio(asset_path("demo.wav"), RATE)
    pcm = np.clip(np.rint(speech * 32768), -32768, 32767).astype(np.int16)
    tagged = strip_tags(REPLY)

    def speak(e: AvatarEngine, samples: np.ndarray) -> None:
        for i in range(0, len(samples), 480):  # 20 ms frames, as a TTS stream would
            e.push_audio(samples[i : i + 480].tobytes(), RATE)
        e.end_segment()

    def reply(e: AvatarEngine) -> None:
        for cue in tagged.cues:  # the text would go to TTS without its tags
            e.set_expression(cue.expression, cue.intensity, duration=2.5)
        speak(e, pcm[: int(2.8 * RATE)])

    def f(t: float) -> int:
        return round(t * fps)

    return {
        f(0.6): [lambda e: speak(e, pcm)],
        f(4.0): [lambda e: e.signal(Signal.USER_STARTED_SPEAKING), lambda e: e.clear()],
        f(6.0): [lambda e: e.signal(Signal.USER_STOPPED_SPEAKING)],
        f(6.4): [lambda e: e.signal(Signal.AGENT_THINKING)],
        f(8.4): [reply],
        f(11.4): [lambda e: e.signal(Signal.AGENT_LISTENING)],
    }


async def record(args: argparse.Namespace) -> list:
    cfg = EngineConfig(fps=args.fps, size=args.size, realtime=args.realtime)
    clock = None if args.realtime else SimulatedClock()
    actions = script(args.fps)
    n_frames = round(args.seconds * args.fps)
    frames = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    async with AvatarEngine(None, cfg, clock) as eng:
        with Mp4Writer(out, fps=args.fps, size=args.size, audio_rate=RATE) as writer:
            it = eng.frames().__aiter__()
            for i in range(n_frames):
                for act in actions.get(i, []):
                    act(eng)
                f = await it.__anext__()
                writer.write(f.video, f.audio)
                frames.append(f)
        print("metrics:", eng.metrics().as_dict())
    print(f"{out}: {n_frames} frames in {time.perf_counter() - t0:.1f} s wall")
    return frames


def lips(f) -> float:
    return float(f.motion[PARAM_INDEX["jawOpen"]] - f.motion[PARAM_INDEX["mouthClose"]])


def pick(frames: list, fps: float) -> list[tuple[str, object]]:
    """Frames that show each state and transition."""

    def at(t: float):
        return frames[min(len(frames) - 1, round(t * fps))]

    states = [f.state for f in frames]
    first_speak = states.index("speaking")
    clear_i = next(i for i, f in enumerate(frames) if any(d.interrupted for d in f.done))
    speak1 = max(frames[first_speak:clear_i], key=lips)
    blink = max(frames[:clear_i], key=lambda f: f.motion[PARAM_INDEX["eyeBlinkLeft"]])
    think = [i for i, s in enumerate(states) if s == "thinking"]
    speak2 = [i for i, s in enumerate(states) if s == "speaking" and i > clear_i]
    shown = [
        ("idle", at(0.3)),
        ("speaking (widest)", speak1),
        ("blink", blink),
        ("last before clear", frames[clear_i - 1]),
        ("first after clear", frames[clear_i]),
        ("clear +40ms", frames[clear_i + 1]),
        ("clear +160ms", frames[clear_i + 4]),
        ("listening", at(5.5)),
        ("thinking", frames[think[len(think) // 2]]),
        ("thinking (end)", frames[think[-1]]),
        ("speaking [happy]", max((frames[i] for i in speak2), key=lips)),
        ("idle (long silence)", frames[-1]),
    ]
    return shown


def contact_sheet(shown: list, path: Path, tile: int = 256) -> None:
    cols = 4
    rows = (len(shown) + cols - 1) // cols
    sheet = np.full((rows * (tile + 22), cols * tile, 3), 255, np.uint8)
    for k, (label, f) in enumerate(shown):
        r, c = divmod(k, cols)
        img = cv2.resize(f.video, (tile, tile), interpolation=cv2.INTER_AREA)
        y = r * (tile + 22)
        sheet[y : y + tile, c * tile : (c + 1) * tile] = img
        m = f.motion
        text = (
            f"{label} t={f.timestamp:.2f} lips={lips(f):.2f} "
            f"blink={m[PARAM_INDEX['eyeBlinkLeft']]:.1f} up={m[PARAM_INDEX['eyeLookUpLeft']]:.2f}"
        )
        cv2.putText(sheet, text, (c * tile + 4, y + tile + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"{path}: {len(shown)} frames")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/conversation.mp4")
    p.add_argument("--sheet", default="out/conversation_sheet.png")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--seconds", type=float, default=22.0)
    p.add_argument("--realtime", action="store_true", help="pace by the wall clock")
    args = p.parse_args()
    frames = asyncio.run(record(args))
    labels = [f.state for f in frames]
    runs = [(labels[0], 0)]
    for i, s in enumerate(labels):
        if s != runs[-1][0]:
            runs.append((s, i))
    print("labels:", ", ".join(f"{s}@{i / args.fps:.2f}s" for s, i in runs))
    contact_sheet(pick(frames, args.fps), Path(args.sheet))


if __name__ == "__main__":
    main()
