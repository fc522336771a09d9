"""``avatar-agent train adapt``: fine-tune a trained run to one voice from a folder of its speech.

A voice bot speaks with one TTS voice, and the motion model follows the voices it has heard
in training far better than unseen ones (``MOTION_MODEL.md``). This fine-tunes a finished
run's teacher and student (:attr:`TrainConfig.init_from`) on the run's synthetic clips plus
augmented clips of the voice's recordings (``real_copies`` of each), at a lower learning
rate, exports the int8 model and scores it before and after on recordings of the voice it
did not hear (a seeded share held out by :func:`~avatar_agent.train.corpus.voice.align_voice`).
With ``from_scratch`` it trains a new teacher and student on the same clips instead (better
for the voice, about as long as the run's own training). The result is an ordinary run
folder: use its ``motion.int8.onnx`` with ``--motion-model`` or
``$AVATAR_AGENT_MOTION_MODEL``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AdaptOptions", "adapt_voice", "score_voice", "BASE_FILES"]

BASE_FILES = (
    "config.json",
    "corpus_path.txt",
    "data.json",
    "clips_train.npz",
    "stats.npz",
    "teacher",
    "student",
    "motion.int8.onnx",
)
"""What a finished run must hold to be adapted."""


@dataclass(frozen=True)
class AdaptOptions:
    """Settings of a fine-tune to one voice.

    Attributes:
        copies: Augmented clips of each tuning recording (their weight against the
            synthetic clips, which are drawn in proportion to frames).
        holdout: Share of the recordings held out to score the result.
        teacher_steps: Teacher fine-tuning steps.
        distill_steps: Distillation fine-tuning steps.
        lr_scale: Factor on the run's learning rates.
        from_scratch: Train a new teacher and student on the same clips with the run's own
            steps and learning rates instead of fine-tuning (about as long as the run's
            training; ``teacher_steps``, ``distill_steps`` and ``lr_scale`` are not used).

    The defaults are the better of the two fine-tunes measured on the Piper voice
    (``docs/adapt.md``): 4000 + 2000 steps at half the learning rates lifted that voice's
    closures from 71 to 86 %, 2000 + 1000 at a quarter to 79 %; from scratch reached 92 %
    in about twice the time.
    """

    copies: int = 8
    holdout: float = 0.15
    teacher_steps: int = 4000
    distill_steps: int = 2000
    lr_scale: float = 0.5
    from_scratch: bool = False

    def __post_init__(self) -> None:
        if self.copies < 1 or self.teacher_steps < 1 or self.distill_steps < 1:
            raise ValueError("copies, teacher_steps and distill_steps must be at least 1")
        if not 0.0 < self.lr_scale <= 1.0:
            raise ValueError(f"lr_scale must be in (0, 1], got {self.lr_scale}")


def _check_base(run: Path, out: Path) -> None:
    missing = [n for n in BASE_FILES if not (run / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"{run} is not a finished training run (missing {', '.join(missing)}); train one "
            f"with `avatar-agent train all --run {run}` (about 45 min on a 2-core CPU) or "
            "name one with --run"
        )
    if out.resolve() == run.resolve():
        raise ValueError(f"--out must differ from --run ({run}): the base run stays as it is")


_RESUME_KEYS = (
    "init_from",
    "real_copies",
    "teacher_steps",
    "distill_steps",
    "teacher_lr",
    "distill_lr",
)


def _check_resume(out: Path, cfg: object, fingerprint: list) -> None:
    """An existing adaptation resumes only with the settings and recordings it started with."""
    used = json.loads((out / "config.json").read_text())
    changed = [k for k in _RESUME_KEYS if used.get(k) != getattr(cfg, k)]
    saved = out / "voice" / "voice.json"
    if saved.exists() and json.loads(saved.read_text()).get("fingerprint") != fingerprint:
        changed.append("recordings or holdout")
    if changed:
        raise ValueError(
            f"{out} was adapted with other {', '.join(changed)}; use a new --out folder"
        )


def score_voice(models: dict[str, Path], voice_out: Path, seed: int = 0) -> dict:
    """Score int8 models on the held-out recordings of an aligned voice folder.

    Args:
        models: ``{row name: ONNX model}``.
        voice_out: Folder :func:`~avatar_agent.train.corpus.voice.align_voice` wrote.
        seed: Driver seed.

    Returns:
        ``{row name: metrics}`` plus the phone-timed targets' row, and the Markdown table
        under ``"table"``.
    """
    from avatar_agent.generator.learned import LearnedMotionDriver
    from avatar_agent.generator.onnx_model import OnnxMotionModel
    from avatar_agent.train.corpus.voice import load_voice
    from avatar_agent.train.evaluate import EvalItem, evaluate_driver, evaluate_targets
    from avatar_agent.train.report import markdown_table

    items = [
        EvalItem(group="voice", samples16k=u.samples16k, phones=u.phones)
        for u in load_voice(voice_out, "eval")
    ]
    results = {
        name: evaluate_driver(LearnedMotionDriver(OnnxMotionModel(path), seed=seed), items)
        for name, path in models.items()
    }
    results["phone-timed targets (reference)"] = evaluate_targets(items)
    rows = {name: r["voice"] for name, r in results.items()}
    return rows | {"table": markdown_table(results, items)}


def adapt_voice(
    run: Path,
    voice_dir: Path,
    out: Path,
    options: AdaptOptions = AdaptOptions(),
    *,
    full_eval: bool = True,
    progress: bool = True,
) -> dict:
    """Fine-tune ``run`` to the voice of ``voice_dir`` into ``out``; score before and after.

    Resumes like any run: an interrupted adaptation picks up its checkpoints, a finished one
    is only scored again; other settings or changed recordings need a new ``out``.

    Args:
        run: Finished training run (:data:`BASE_FILES`).
        voice_dir: The voice folder (see :mod:`avatar_agent.train.corpus.voice`).
        out: The adapted run's folder.
        options: Fine-tuning settings (an existing ``out`` must have been made with the
            same ones).
        full_eval: Also score the standard held-out set (what the tuning costs elsewhere).
        progress: Show progress bars.

    Returns:
        What ``out/adapted.json`` holds: the voice's recordings used, the settings, and the
        int8 metrics on the voice's held-out recordings (``voice_before``/``voice_after``)
        and, with ``full_eval``, on the standard held-out set (``heldout_before``/``_after``).
    """
    from avatar_agent.train import pipeline
    from avatar_agent.train.corpus.voice import align_voice, voice_fingerprint
    from avatar_agent.train.report import int8_row

    t0 = time.perf_counter()
    run, out = Path(run), Path(out)
    _check_base(run, out)
    base = pipeline.load_or_create_config(run, None)
    cfg = dataclasses.replace(
        base, init_from=None, voice=str((out / "voice").resolve()), real_copies=options.copies
    )
    if not options.from_scratch:
        cfg = dataclasses.replace(
            cfg,
            init_from=str(run.resolve()),
            teacher_steps=options.teacher_steps,
            distill_steps=options.distill_steps,
            teacher_lr=base.teacher_lr * options.lr_scale,
            distill_lr=base.distill_lr * options.lr_scale,
        )
    if (out / "config.json").exists():  # resuming: same settings, same voice, same split
        _check_resume(out, cfg, voice_fingerprint(voice_dir, options.holdout, base.seed))
    voice = align_voice(voice_dir, out / "voice", holdout=options.holdout, seed=base.seed)
    heldout = pipeline.train_variant(
        run, out, cfg, new_teacher=True, progress=progress, evaluate=full_eval
    )
    used = json.loads((out / "config.json").read_text())
    models = {
        "before (base run, int8)": run / "motion.int8.onnx",
        "after (adapted, int8)": out / "motion.int8.onnx",
    }
    scores = score_voice(models, out / "voice", base.seed)
    (out / "adapted.md").write_text(scores["table"] + "\n")
    summary = {
        "base_run": str(run.resolve()),
        "voice": {k: v for k, v in voice.items() if k != "fingerprint"},
        "settings": {k: used[k] for k in _RESUME_KEYS + ("seed",)},
        "voice_before": scores["before (base run, int8)"],
        "voice_after": scores["after (adapted, int8)"],
        "model": str((out / "motion.int8.onnx").resolve()),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if heldout and (run / "metrics.json").exists():
        summary["heldout_before"] = int8_row(json.loads((run / "metrics.json").read_text()))
        summary["heldout_after"] = int8_row(heldout)
    (out / "adapted.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
