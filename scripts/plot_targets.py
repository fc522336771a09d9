"""Plot the motion targets of a sample sentence in all four states, and render key frames.

Writes ``out/targets.png`` (curves: lip opening, pucker/funnel, roll-lower, head pose,
blinks, gaze, smile per state) and ``out/targets_frames.png`` (the default avatar rendered at
a /b/ closure, an /aa/, an /uw/, an /f/, a thinking frame and a listening smile).

Run: ``.venv/bin/python scripts/plot_targets.py``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from avatar_agent.avatar import load_avatar  # noqa: E402
from avatar_agent.motion import PARAM_INDEX as I  # noqa: E402
from avatar_agent.portrait import mesh  # noqa: E402
from avatar_agent.render.renderer import CPURenderer  # noqa: E402
from avatar_agent.train.phones import VOWELS, Phone  # noqa: E402
from avatar_agent.train.targets import lip_openness, make_targets  # noqa: E402
from avatar_agent.train.targets.visemes import closure_frames  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FPS = 25.0

# "Hello, my name is Bob. We should move fast, you know." (ARPAbet, hand-timed)
SENTENCE = [
    ("sil", 0.30), ("HH", 0.06), ("AH", 0.07), ("L", 0.06), ("OW", 0.18), ("sil", 0.30),
    ("M", 0.07), ("AY", 0.14), ("N", 0.05), ("EY", 0.10), ("M", 0.07), ("IH", 0.06),
    ("Z", 0.08), ("B", 0.06), ("AA", 0.18), ("B", 0.08), ("sil", 0.40), ("W", 0.06),
    ("IY", 0.07), ("SH", 0.09), ("UH", 0.06), ("D", 0.04), ("M", 0.07), ("UW", 0.16),
    ("V", 0.06), ("F", 0.10), ("AE", 0.14), ("S", 0.10), ("T", 0.05), ("sil", 0.25),
    ("Y", 0.05), ("UW", 0.09), ("N", 0.05), ("OW", 0.22), ("sil", 0.50),
]  # fmt: skip


def sentence() -> list[Phone]:
    """The sample sentence as timed phones."""
    out, t = [], 0.0
    for sym, d in SENTENCE:
        out.append(Phone(sym, t, t + d))
        t += d
    return out


def synth_audio(phones: list[Phone]) -> np.ndarray:
    """A crude voice for the phones: harmonics on a falling F0 with accents, noise on frication."""
    sr = 16000
    n = int(phones[-1].end * sr)
    t = np.arange(n) / sr
    f0 = 180.0 - 25.0 * t / t[-1] + 25.0 * np.exp(-(((t - 1.6) / 0.12) ** 2))
    f0 += 20.0 * np.exp(-(((t - 2.6) / 0.1) ** 2))
    ph = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * ph) / k for k in range(1, 8))
    rng = np.random.default_rng(0)
    amp_v, amp_n = np.zeros(n), np.zeros(n)
    for p in phones:
        m = (t >= p.start) & (t < p.end)
        if p.symbol in VOWELS or p.symbol in {"M", "N", "L", "W", "Y", "R", "NG", "B", "D", "V"}:
            amp_v[m] = 0.25 if p.symbol in VOWELS else 0.08
        if p.symbol in {"S", "SH", "F", "Z", "V", "HH", "T"}:
            amp_n[m] = 0.05
    k = np.hanning(161)
    k /= k.sum()
    amp_v, amp_n = np.convolve(amp_v, k, "same"), np.convolve(amp_n, k, "same")
    return (amp_v * voice + amp_n * rng.standard_normal(n)).astype(np.float32)


def plot(phones: list[Phone], n: int, tracks: dict[str, np.ndarray], path: Path) -> None:
    """Curves of every state, one column per state."""
    t = (np.arange(n) + 0.5) / FPS
    rows = ["lips", "round", "head", "eyes", "brow/smile"]
    fig, axes = plt.subplots(len(rows), 4, figsize=(22, 13), sharex=True)
    ref = lip_openness(phones, n, FPS)
    closed = closure_frames(phones, n, FPS)
    for c, (state, y) in enumerate(tracks.items()):
        col = axes[:, c]
        opening = y[:, I["jawOpen"]] - y[:, I["mouthClose"]]
        col[0].plot(t, y[:, I["jawOpen"]], label="jawOpen", lw=1)
        col[0].plot(t, opening, label="opening", lw=2)
        if state == "speaking":
            col[0].plot(t, 0.55 * ref, "--", label="0.55 × lip_openness ref", lw=1)
            col[0].plot(t[closed], opening[closed], "rv", label="/p b m/ frames", ms=5)
        col[0].plot(t, y[:, I["mouthRollLower"]], label="rollLower", lw=1)
        col[1].plot(t, y[:, I["mouthPucker"]], label="pucker")
        col[1].plot(t, y[:, I["mouthFunnel"]], label="funnel")
        col[1].plot(t, y[:, I["mouthStretchLeft"]], label="stretch")
        for name in ("headYaw", "headPitch", "headRoll"):
            col[2].plot(t, y[:, I[name]], label=name)
        col[3].plot(t, y[:, I["eyeBlinkLeft"]], label="blink")
        col[3].plot(t, y[:, I["eyeLookUpLeft"]], label="lookUp")
        col[3].plot(t, y[:, I["eyeLookOutLeft"]] - y[:, I["eyeLookInLeft"]], label="L eye out−in")
        col[4].plot(t, y[:, I["browInnerUp"]], label="browInnerUp")
        col[4].plot(t, y[:, I["browDownLeft"]], label="browDownL")
        col[4].plot(t, y[:, I["mouthSmileLeft"]], label="smile")
        col[4].plot(t, y[:, I["mouthPressLeft"]], label="press")
        col[0].set_title(state)
        for ax, r in zip(col, rows, strict=True):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper right")
            if c == 0:
                ax.set_ylabel(r)
            for p in phones:
                if c == 0 or state in ("speaking", "listening"):
                    if ax is col[0] and p.symbol != "sil":
                        ax.text((p.start + p.end) / 2, -0.08, p.symbol, fontsize=6, ha="center")
        col[0].set_ylim(-0.12, 0.7)
        col[2].set_ylim(-5, 5)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def crop_face(
    renderer: CPURenderer, img: np.ndarray, size: int = 260, mouth: bool = False
) -> np.ndarray:
    """Crop the face (or a zoom on the mouth) and scale to ``size``."""
    lm = renderer.bundle.landmarks
    oval = lm[list(mesh.FACE_OVAL), :2]
    c = oval.mean(0)
    half = int(0.62 * np.ptp(oval[:, 1]))
    if mouth:
        c = lm[list(mesh.LIPS_OUTER), :2].mean(0)
        half = int(0.2 * np.ptp(oval[:, 1]))
    x0, y0 = int(c[0]) - half, int(c[1]) - half
    pad = cv2.copyMakeBorder(img, half, half, half, half, cv2.BORDER_REPLICATE)
    crop = pad[y0 + half : y0 + 3 * half, x0 + half : x0 + 3 * half]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def frame_of(phones: list[Phone], sym: str, nth: int = 0) -> int:
    """Frame index at the centre of the ``nth`` occurrence of ``sym``."""
    p = [q for q in phones if q.symbol == sym][nth]
    return int(0.5 * (p.start + p.end) * FPS)


def frames_sheet(phones: list[Phone], tracks: dict[str, np.ndarray], path: Path) -> None:
    """Render the key frames in a row with labels."""
    renderer = CPURenderer(load_avatar(None, size=512))
    sp = tracks["speaking"]
    closed = np.nonzero(closure_frames(phones, len(sp), FPS))[0]
    b_frame = next(i for i in closed if any(
        p.symbol == "B" and p.start <= (i + 0.5) / FPS < p.end for p in phones
    ))  # fmt: skip
    smile = int(np.argmax(tracks["listening"][:, I["mouthSmileLeft"]]))
    picks = [
        ("neutral", np.zeros_like(sp[0])),
        ("/b/ (Bob)", sp[b_frame]),
        ("/aa/ (Bob)", sp[frame_of(phones, "AA")]),
        ("/uw/ (move)", sp[frame_of(phones, "UW")]),
        ("/f/ (fast)", sp[frame_of(phones, "F")]),
        ("/iy/ (we)", sp[frame_of(phones, "IY")]),
        ("thinking", tracks["thinking"][len(sp) // 2]),
        ("listening smile", tracks["listening"][smile]),
    ]  # fmt: skip
    tiles = []
    for label, f in picks:
        f = f.copy()
        if label != "thinking" and label != "listening smile":
            f[I["eyeBlinkLeft"]] = f[I["eyeBlinkRight"]] = 0.0
        img = renderer.render(f)
        tile = crop_face(renderer, img)
        zoom = crop_face(renderer, img, mouth=True)
        opening = f[I["jawOpen"]] - f[I["mouthClose"]]
        for text, y, s in ((label, 22, 0.6), (f"open {opening:+.2f}", 250, 0.45)):
            for colour, th in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                cv2.putText(
                    tile, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, s, colour, th, cv2.LINE_AA
                )
        tiles.append(np.concatenate([tile, zoom], 0))
    sheet = np.concatenate([np.concatenate(tiles[:4], 1), np.concatenate(tiles[4:], 1)], 0)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main() -> None:
    """Make both PNGs under ``out/``."""
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    phones = sentence()
    n = int(phones[-1].end * FPS)
    audio = synth_audio(phones)
    tracks = {
        s: make_targets(phones, n, state=s, expression=None, audio16k=audio, rng=7)
        for s in ("speaking", "listening", "idle", "thinking")
    }
    plot(phones, n, tracks, out / "targets.png")
    frames_sheet(phones, tracks, out / "targets_frames.png")


if __name__ == "__main__":
    main()
