"""``avatar-agent train …``: the training stages as CLI subcommands (needs the train extra)."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

__all__ = ["add_train_parser"]

STAGES = ("data", "teacher", "distill", "export", "eval", "all", "install", "adapt")


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` on the top-level subparsers."""
    from avatar_agent.train.adapt import AdaptOptions

    p = sub.add_parser(
        "train",
        help="train the motion generator (corpus, teacher, distillation, ONNX, evaluation)",
        description=(
            "Stages: data (corpus + training clips), teacher (diffusion teacher), distill "
            "(one-step consistency student), export (ONNX fp32 + int8, parity), eval "
            "(lip-sync metrics table), all (the five in order), install (copy the int8 "
            "model into the package assets), adapt (fine-tune a finished run to one voice "
            "from a folder of its recordings + transcripts: --voice DIR). Every stage "
            "resumes from the run folder."
        ),
    )
    p.add_argument("stage", choices=STAGES)
    p.add_argument("--run", default="out/train", help="run folder (default out/train)")
    p.add_argument("--config", default="default", help="preset for a new run: default | tiny")
    p.add_argument("--corpus", default=None, help="use an existing corpus folder")
    p.add_argument("--jobs", type=int, default=2, help="worker processes for data building")
    p.add_argument("--no-teacher-eval", action="store_true", help="skip the slow teacher row")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field of a new run (JSON value), e.g. --set closure_overshoot=0.15",
    )
    a = p.add_argument_group("adapt (fine-tune to one voice)")
    a.add_argument(
        "--voice",
        default=None,
        help="voice folder: NAME.wav + NAME.txt pairs, or metadata.csv + wavs/ (LJSpeech)",
    )
    a.add_argument("--out", default=None, help="adapted run folder (default RUN/adapt-VOICE)")
    d = AdaptOptions()
    a.add_argument("--copies", type=int, default=d.copies, help="augmented clips per recording")
    a.add_argument("--holdout", type=float, default=d.holdout, help="share held out for scoring")
    a.add_argument("--teacher-steps", type=int, default=d.teacher_steps)
    a.add_argument("--distill-steps", type=int, default=d.distill_steps)
    a.add_argument("--lr-scale", type=float, default=d.lr_scale, help="x the run's learning rates")
    a.add_argument(
        "--from-scratch",
        action="store_true",
        help="train a new teacher and student with the voice instead of fine-tuning "
        "(better for the voice, about as long as the run's own training)",
    )
    a.add_argument(
        "--no-full-eval",
        action="store_true",
        help="score only the voice's held-out recordings, not the standard held-out set",
    )
    p.set_defaults(func=_cmd_train)


def _overrides(pairs: list[str]) -> dict:
    """``KEY=VALUE`` strings → config overrides (values parsed as JSON, else strings)."""
    from avatar_agent.train.config import TrainConfig

    fields = set(TrainConfig.__dataclass_fields__)
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields:
            raise ValueError(
                f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(fields))}"
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        if isinstance(out[key], list):
            out[key] = tuple(out[key])
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        from avatar_agent.train import pipeline
    except ImportError as exc:  # torch/diffusers missing
        raise ValueError(
            f"training needs the train extra ({exc}); run `make train-deps` "
            "or pip install 'avatar-agent[train]'"
        ) from exc
    run = Path(args.run)
    if args.stage == "adapt":
        return _adapt(args, run)
    if args.voice is not None:
        raise ValueError("--voice is an option of `avatar-agent train adapt`")
    cfg = pipeline.load_or_create_config(run, args.config, _overrides(args.set))
    progress = not args.quiet
    stages = (
        ["data", "teacher", "distill", "export", "eval"] if args.stage == "all" else [args.stage]
    )
    timings = {}
    for stage in stages:
        t0 = time.perf_counter()
        if stage == "data":
            out = pipeline.stage_data(
                run,
                cfg,
                corpus=Path(args.corpus) if args.corpus else None,
                jobs=args.jobs,
                progress=progress,
            )
        elif stage == "teacher":
            out = pipeline.stage_teacher(run, cfg, progress=progress)
        elif stage == "distill":
            out = pipeline.stage_distill(run, cfg, progress=progress)
        elif stage == "export":
            out = pipeline.stage_export(run, cfg)
        elif stage == "eval":
            out = pipeline.stage_eval(run, cfg, teacher=not args.no_teacher_eval)
            print((run / "eval.md").read_text())
            out = {"table": str(run / "eval.md")}
        else:
            out = _install(run)
        timings[stage] = time.perf_counter() - t0
        print(f"{stage}: {json.dumps(out, default=str)} ({timings[stage]:.0f} s)")
    times = run / "timings.json"
    old = json.loads(times.read_text()) if times.exists() else {}
    times.write_text(json.dumps({**old, **timings}, indent=2) + "\n")
    return 0


def _adapt(args: argparse.Namespace, run: Path) -> int:
    from avatar_agent.train.adapt import AdaptOptions, adapt_voice

    if args.voice is None:
        raise ValueError("train adapt needs --voice DIR (recordings + transcripts)")
    if args.set:
        raise ValueError("--set applies to new runs; train adapt takes its own options")
    voice = Path(args.voice)
    out = Path(args.out) if args.out else run / f"adapt-{voice.resolve().name}"
    options = AdaptOptions(
        copies=args.copies,
        holdout=args.holdout,
        teacher_steps=args.teacher_steps,
        distill_steps=args.distill_steps,
        lr_scale=args.lr_scale,
        from_scratch=args.from_scratch,
    )
    res = adapt_voice(
        run, voice, out, options, full_eval=not args.no_full_eval, progress=not args.quiet
    )
    print((out / "adapted.md").read_text())
    v = res["voice"]
    print(
        f"tuned on {v['tuning']} recordings ({v['tuning_seconds'] / 60:.1f} min), scored on "
        f"{v['held_out']} held out; {len(v['failed'])} failed to align, "
        f"{len(v['left_out'])} left out by length ({res['seconds']:.0f} s)"
    )
    for key in ("heldout_before", "heldout_after"):
        if m := (res.get(key) or {}).get("all"):
            print(f"standard held-out set, {key.split('_')[1]:>6}: r {m['r']:.3f}  "
                  f"closures {100 * m['closure']:.1f} %  rest {100 * m['rest']:.1f} %")  # fmt: skip
    print(f"use it: avatar-agent render ... --motion-model {res['model']}")
    return 0


def _install(run: Path) -> dict:
    from avatar_agent.generator.onnx_model import DEFAULT_MODEL
    from avatar_agent.train.card import write_card, write_eval_page

    src = run / "motion.int8.onnx"
    if not src.exists():
        raise FileNotFoundError(f"{src} missing; run `avatar-agent train export` first")
    if not (run / "eval.md").exists():
        raise FileNotFoundError(f"{run / 'eval.md'} missing; run `avatar-agent train eval` first")
    assets = Path(__file__).resolve().parent.parent / "assets"
    dst = assets / DEFAULT_MODEL
    shutil.copyfile(src, dst)
    old = assets / "MOTION_MODEL.md"  # its findings of checks this run lacks are kept
    card = write_card(run, old, previous=old.read_text() if old.exists() else "")
    docs = Path.cwd() / "docs"
    page = write_eval_page(run, docs / "lipsync-eval.md") if docs.is_dir() else None
    return {
        "installed": str(dst),
        "bytes": dst.stat().st_size,
        "card": str(card),
        "eval": str(page),
    }
