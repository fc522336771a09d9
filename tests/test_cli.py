"""End to end through the CLI: motion CSV, MP4 render with muxed audio, on-the-fly enrollment."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import encode

from avatar_agent.cli import main
from avatar_agent.motion import PARAMS, MotionTrack
from avatar_agent.video import probe_mp4, read_mp4_frames


def _speech_like(path, seconds=2.0, rate=44100, channels=2):
    """Voiced syllables at 3 Hz for the first 60 %, then silence, written as 16-bit WAV."""
    t = np.arange(int(seconds * rate)) / rate
    env = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None)
    env[t > seconds * 0.6] = 0.0
    tone = 0.4 * env * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 900 * t))
    return encode(path, "wav", "pcm_s16le", np.stack([tone] * channels).astype(np.float32), rate)


def test_motion_csv(tmp_path):
    wav = _speech_like(tmp_path / "a.wav", 2.0)
    out = tmp_path / "m.csv"
    assert main(["motion", "--audio", str(wav), "--out", str(out), "--fps", "30"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0][0] == "time" and rows[0][1:] == list(PARAMS)
    assert len(rows) - 1 == math.ceil(2.0 * 30)
    track = MotionTrack.from_csv(out)
    jaw = track.column("jawOpen")
    assert jaw[: int(1.0 * 30)].max() > 0.2  # speaks in the first part
    assert jaw[int(1.5 * 30) :].max() < 0.05  # rests in the silence (learned model)


def test_motion_baseline_driver_selectable(tmp_path):
    wav = _speech_like(tmp_path / "a.wav", 2.0)
    out = tmp_path / "m.csv"
    args = ["motion", "--audio", str(wav), "--out", str(out), "--driver", "baseline"]
    assert main(args) == 0
    jaw = MotionTrack.from_csv(out).column("jawOpen")
    assert jaw[:25].max() > 0.2
    assert jaw[int(1.5 * 25) :].max() == 0.0  # the loudness gate rests exactly


def test_motion_state_and_expression_flags(tmp_path):
    wav = _speech_like(tmp_path / "a.wav", 2.0)
    out = tmp_path / "m.csv"
    args = ["motion", "--audio", str(wav), "--out", str(out), "--state", "listening",
            "--expression", "happy"]  # fmt: skip
    assert main(args) == 0
    track = MotionTrack.from_csv(out)
    opening = track.column("jawOpen") - track.column("mouthClose")
    assert opening.max() < 0.1  # listening: the partner's speech does not move the lips
    assert track.column("mouthSmileLeft").mean() > 0.2  # the expression shows


@pytest.mark.parametrize("fps", [25, 30])
def test_render_mp4_frames_and_duration(tmp_path, fps):
    wav = _speech_like(tmp_path / "a.wav", 1.6)
    out = tmp_path / "v.mp4"
    assert main(["render", "--audio", str(wav), "--out", str(out), "--size", "256",
                 "--fps", str(fps)]) == 0  # fmt: skip
    info = probe_mp4(out)
    n = math.ceil(1.6 * fps)
    assert info["n_frames"] == n
    assert info["width"] == 256 and info["height"] == 256
    assert abs(info["video_duration"] - n / fps) < 1e-6
    assert abs(info["audio_duration"] - n / fps) < 1.0 / fps
    frames = list(read_mp4_frames(out))
    assert len(frames) == n
    # the mouth region changes while speaking: frames are not all the same
    assert np.std(np.stack(frames[: n // 2]).astype(np.float32), axis=0).max() > 10


def test_render_from_motion_csv(tmp_path):
    track = MotionTrack.from_columns({"jawOpen": np.linspace(0, 1, 20)}, 20)
    track.to_csv(tmp_path / "m.csv")
    wav = _speech_like(tmp_path / "a.wav", 0.5)
    out = tmp_path / "v.mp4"
    assert main(["render", "--audio", str(wav), "--motion", str(tmp_path / "m.csv"),
                 "--out", str(out), "--size", "256"]) == 0  # fmt: skip
    info = probe_mp4(out)
    assert info["n_frames"] == 20 and abs(info["fps"] - 20) < 1e-6


def test_render_with_portrait_image(tmp_path, astronaut):
    from PIL import Image

    img = tmp_path / "me.jpg"
    Image.fromarray(astronaut).save(img, quality=92)
    wav = _speech_like(tmp_path / "a.wav", 0.4, rate=8000, channels=1)
    out = tmp_path / "v.mp4"
    assert main(["render", "--audio", str(wav), "--avatar", str(img), "--out", str(out),
                 "--size", "256"]) == 0  # fmt: skip
    assert probe_mp4(out)["n_frames"] == 10


def test_cli_errors(tmp_path, capsys):
    assert (
        main(["render", "--audio", str(tmp_path / "none.wav"), "--out", str(tmp_path / "x.mp4")])
        == 2
    )
    assert "error" in capsys.readouterr().err
    bad = tmp_path / "bad.avatar"
    bad.write_text("nope")
    wav = _speech_like(tmp_path / "a.wav", 0.3)
    assert (
        main(
            ["render", "--audio", str(wav), "--avatar", str(bad), "--out", str(tmp_path / "x.mp4")]
        )
        == 2
    )
    assert (
        main(["motion", "--audio", str(wav), "--out", str(tmp_path / "m.csv"), "--fps", "0"]) == 2
    )
