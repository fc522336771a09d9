"""The five training stages behind ``avatar-agent train data | teacher | distill | export | eval``.

Everything lives in one run folder (default ``out/train``):

==================== ====================================================================
``config.json``      the :class:`~avatar_agent.train.config.TrainConfig` of the run
``corpus/``          speech corpus with phone timings (``train data`` builds it)
``clips_train.npz``  augmented training clips (audio features + motion targets)
``clips_real.npz``   clips of the real recordings trained on (only with ``real_copies``;
                     ``data_real.json`` describes them)
``whisper_train.npy`` Whisper features of the training clips (only with ``whisper_weight``)
``clips_kokoro.npz``  clips of the Kokoro-82M speech trained on (only with ``kokoro_copies``;
                     ``data_kokoro.json`` describes them, ``whisper_kokoro.npy`` their Whisper
                     features; the speech itself is in ``corpus_kokoro/``, or where
                     ``corpus_kokoro_path.txt`` says)
``stats.npz``        normalisation statistics
``teacher.pt``       teacher checkpoint (resume); ``teacher/`` the diffusers model folder
``student.pt``       distillation checkpoint (resume); ``student/`` the one-step student
``motion.onnx``      fp32 one-step generator; ``motion.int8.onnx`` the int8 one
``metrics.json``     evaluation results; ``eval.md`` the table; ``*.png`` loss plots
``voice/``           a run made by ``train adapt``: the aligned voice folder
                     (:mod:`~avatar_agent.train.corpus.voice`); ``adapted.json`` and
                     ``adapted.md`` its scores before and after on the held-out recordings
==================== ====================================================================
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from pathlib import Path

import numpy as np

from avatar_agent.train.config import CONFIGS, TrainConfig

__all__ = [
    "load_or_create_config",
    "stage_data",
    "stage_whisper",
    "stage_teacher",
    "stage_distill",
    "stage_export",
    "stage_eval",
    "train_variant",
    "compare_variant",
    "reference_rows",
    "real_train_utterances",
    "kokoro_corpus_dir",
]

log = logging.getLogger(__name__)

REAL_TRAIN_ENGINES = ("ivr",)
"""Real-recording engines whose prompts outside the evaluation subset may be trained on."""

EVAL_PER_GROUP = 40
"""Held-out utterances scored per voice group (all human recordings are kept)."""

EVAL_SEED = 0
"""Seed of the scored subsets: fixed, so runs trained with other seeds meet the same set."""


def load_or_create_config(
    run: Path, name: str | None, overrides: dict | None = None
) -> TrainConfig:
    """The run's config: ``config.json`` if the run exists, else the named preset.

    Args:
        run: Run folder.
        name: Preset name (``default``, ``tiny``) for a new run; must match an existing run's.
        overrides: Field overrides for a new run.

    Returns:
        The config (saved to ``run/config.json``).
    """
    path = run / "config.json"
    if path.exists():
        cfg = TrainConfig.from_dict(json.loads(path.read_text()))
        if overrides:
            for k, v in overrides.items():
                if getattr(cfg, k) != v:
                    raise ValueError(
                        f"{run} was created with {k}={getattr(cfg, k)!r}; use a new --run folder"
                    )
        return cfg
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; expected one of {', '.join(CONFIGS)}")
    cfg = TrainConfig.from_dict({**CONFIGS[name].to_dict(), **(overrides or {})})
    run.mkdir(parents=True, exist_ok=True)
    cfg.save(path)
    return cfg


def _sampler(cfg: TrainConfig, clips: list, seed_offset: int = 0, *, augment: bool = True):  # noqa: ANN202
    from avatar_agent.train.specaug import SpecAugment
    from avatar_agent.train.windows import WindowSampler

    spec = SpecAugment(
        warp=cfg.spec_warp, masks=cfg.spec_masks, mask_width=cfg.spec_mask_width, p=cfg.p_spec
    )
    return WindowSampler(
        clips,
        context=cfg.context,
        chunk=cfg.chunk,
        lookahead=cfg.lookahead,
        seed=cfg.seed + seed_offset,
        spec_augment=spec if augment and cfg.p_spec > 0 else None,
    )


def _stats(run: Path) -> tuple[np.ndarray, ...]:
    z = np.load(run / "stats.npz")
    return tuple(z[k] for k in ("mel_mean", "mel_std", "motion_mean", "motion_std"))


def stage_data(
    run: Path,
    cfg: TrainConfig,
    *,
    corpus: Path | None = None,
    jobs: int = 2,
    progress: bool = True,
) -> dict:
    """Build (or reuse) the corpus, then the training clips and statistics.

    A run that already has its clips (``data.json`` + ``clips_train.npz``) is left as it is,
    except that an existing corpus gets the evaluation-only engines it lacks
    (:func:`~avatar_agent.train.corpus.build.add_eval_engines`; training data unchanged).

    Args:
        run: Run folder.
        cfg: Config (``n_train``, ``n_eval``, ``copies``, ``seed``).
        corpus: Existing corpus folder to use instead of building ``run/corpus``.
        jobs: Worker processes.
        progress: Show progress bars.

    Returns:
        Summary (utterances, clips, frames, seconds).
    """
    from avatar_agent.train.corpus.build import (
        ENGINES,
        add_eval_engines,
        build_corpus,
        load_corpus,
    )
    from avatar_agent.train.data import save_clips
    from avatar_agent.train.windows import clip_stats

    t0 = time.perf_counter()
    known = run / "corpus_path.txt"
    corpus_dir = corpus or (Path(known.read_text().strip()) if known.exists() else run / "corpus")
    corpus_built = not (corpus_dir / "manifest.jsonl").exists()
    if not corpus_built:  # an older corpus gets the evaluation voices added since it was built
        add_eval_engines(corpus_dir, cfg.engines or ENGINES)
    if (run / "data.json").exists() and (run / "clips_train.npz").exists():
        summary = {**json.loads((run / "data.json").read_text()), "reused": True}
        stage_whisper(run, cfg, jobs=jobs, progress=progress)
        return {
            **summary,
            **_real_clips(run, cfg, corpus_dir, jobs, progress),
            **_speech_clips(run, cfg, jobs, progress),
            **_kokoro_clips(run, cfg, jobs, progress),
        }
    if corpus_built:
        build_corpus(
            corpus_dir,
            n_train=cfg.n_train,
            n_eval=cfg.n_eval,
            seed=cfg.seed,
            jobs=jobs,
            engines=cfg.engines or ENGINES,
        )
    (run / "corpus_path.txt").write_text(str(corpus_dir.resolve()) + "\n")
    train = load_corpus(corpus_dir, split="train")
    audios: list[np.ndarray] | None = [] if cfg.uses_whisper else None
    clips = _synthetic_clips(train, cfg, jobs, progress, audios)
    save_clips(clips, run / "clips_train.npz")
    if audios is not None:
        _save_whisper(run, cfg, audios, progress)
    mm, ms, om, os_ = clip_stats(clips)
    np.savez(run / "stats.npz", mel_mean=mm, mel_std=ms, motion_mean=om, motion_std=os_)
    frames = int(sum(len(c.motion) for c in clips))
    summary = {
        "utterances": len(train),
        "clips": len(clips),
        "frames": frames,
        "hours": frames / 25.0 / 3600.0,
        "seconds": time.perf_counter() - t0,
        "corpus_built": corpus_built,
    }
    (run / "data.json").write_text(json.dumps(summary, indent=2) + "\n")
    return {
        **summary,
        **_real_clips(run, cfg, corpus_dir, jobs, progress),
        **_speech_clips(run, cfg, jobs, progress),
        **_kokoro_clips(run, cfg, jobs, progress),
    }


def _synthetic_clips(
    utts: list, cfg: TrainConfig, jobs: int, progress: bool, audio_out: list | None = None
) -> list:
    """The run's training clips of its corpus's training utterances (seeded: reproducible)."""
    from avatar_agent.train.data import build_clips

    return build_clips(
        utts,
        copies=cfg.copies,
        seed=cfg.seed,
        jobs=jobs,
        progress=progress,
        closure_overshoot=cfg.closure_overshoot,
        audio_out=audio_out,
    )


def _save_whisper(
    run: Path,
    cfg: TrainConfig,
    audios: list[np.ndarray],
    progress: bool,
    name: str = "whisper_train.npy",
) -> None:
    """Encode clips' audio with Whisper; writes ``name`` (the training clips' by default)."""
    from tqdm import tqdm

    from avatar_agent.train.data import save_whisper
    from avatar_agent.train.whisper import WhisperEncoder
    from avatar_agent.train.windows import SAMPLES_PER_FRAME

    t0 = time.perf_counter()
    enc = WhisperEncoder(threads=cfg.threads)
    feats: list[np.ndarray] = []
    step = 64  # clips per call: ~4 Whisper windows
    for i in tqdm(range(0, len(audios), step), desc="whisper", disable=not progress):
        part = audios[i : i + step]
        feats += enc.encode_many(part, [len(a) // SAMPLES_PER_FRAME for a in part])
    save_whisper(feats, run / name)
    log.info("Whisper features of %d clips in %.0f s", len(feats), time.perf_counter() - t0)


def stage_whisper(run: Path, cfg: TrainConfig, *, jobs: int = 2, progress: bool = True) -> None:
    """Whisper features of a run's existing clips (if ``cfg.uses_whisper``; else nothing).

    Clips are deterministic in the seed, so the clips' audio is rebuilt from the corpus
    exactly as :func:`stage_data` made it (checked against the saved log-mel) and encoded.

    Raises:
        RuntimeError: The rebuilt clips differ from the saved ones.
    """
    from avatar_agent.train.corpus.build import load_corpus
    from avatar_agent.train.data import load_clips

    if not cfg.uses_whisper or (run / "whisper_train.npy").exists():
        return
    corpus_dir = Path((run / "corpus_path.txt").read_text().strip())
    saved = load_clips(run / "clips_train.npz")
    audios: list[np.ndarray] = []
    clips = _synthetic_clips(load_corpus(corpus_dir, split="train"), cfg, jobs, progress, audios)
    same = len(clips) == len(saved) and all(
        np.array_equal(a.mel, b.mel) for a, b in zip(clips[::97], saved[::97], strict=True)
    )
    if not same:
        raise RuntimeError(
            f"the clips rebuilt from {corpus_dir} differ from {run / 'clips_train.npz'}; "
            "build the run's data anew (new --run) to train with Whisper features"
        )
    del clips, saved
    _save_whisper(run, cfg, audios, progress)


def _real_clips(run: Path, cfg: TrainConfig, corpus_dir: Path, jobs: int, progress: bool) -> dict:
    """Build ``clips_real.npz`` when the config trains on real recordings; its summary.

    The normalisation statistics stay those of the synthetic clips, so a run that adds real
    speech to another run's clips can share that run's ``stats.npz``.
    """
    from avatar_agent.train.data import build_clips, save_clips

    if cfg.real_copies <= 0:
        return {}
    path = run / "data_real.json"
    if path.exists() and (run / "clips_real.npz").exists():
        return {"real": json.loads(path.read_text())}
    if cfg.voice:  # a user's voice folder (train adapt), aligned into cfg.voice
        from avatar_agent.train.corpus.voice import load_voice

        utts = load_voice(cfg.voice, "train")
    else:
        utts = real_train_utterances(corpus_dir)
    if not utts:
        raise RuntimeError(
            f"real_copies={cfg.real_copies} but {corpus_dir} has no real recordings to train "
            f"on (engines {', '.join(REAL_TRAIN_ENGINES)}; see docs/corpus.md)"
        )
    t0 = time.perf_counter()
    clips = build_clips(
        utts,
        copies=cfg.real_copies,
        seed=cfg.seed + 1,  # not the synthetic clips' seeds
        jobs=jobs,
        progress=progress,
        closure_overshoot=cfg.closure_overshoot,
    )
    save_clips(clips, run / "clips_real.npz")
    real = {
        "utterances": len(utts),
        "engines": sorted({u.engine for u in utts}),
        "voices": sorted({u.voice for u in utts}),
        **_clips_summary([u.samples16k for u in utts], clips, t0),
    }
    path.write_text(json.dumps(real, indent=2) + "\n")
    return {"real": real}


def _clips_summary(audios: list[np.ndarray], clips: list, t0: float) -> dict:
    """Seconds of source speech, clips, frames, hours of clips, build time (``data_*.json``)."""
    frames = int(sum(len(c.motion) for c in clips))
    return {
        "seconds_of_speech": round(sum(len(a) for a in audios) / 16000.0, 1),
        "clips": len(clips),
        "frames": frames,
        "hours": frames / 25.0 / 3600.0,
        "seconds": time.perf_counter() - t0,
    }


def _speech_clips(run: Path, cfg: TrainConfig, jobs: int, progress: bool) -> dict:
    """Build ``clips_speech.npz`` + ``whisper_speech.npy`` when the config uses them.

    The untranscribed natural speech of :mod:`~avatar_agent.train.corpus.speech`, in
    ``cfg.whisper_speech_copies`` augmented copies (seeded apart from the other clips), for
    the teacher's Whisper term; ``data_speech.json`` describes it.
    """
    from avatar_agent.train.corpus.speech import SDIST_SOURCES, SOURCES, load_speech
    from avatar_agent.train.data import build_speech_clips, save_clips

    if not cfg.uses_speech:
        return {}
    path = run / "data_speech.json"
    if path.exists() and (run / "clips_speech.npz").exists():
        return {"speech": json.loads(path.read_text())}
    t0 = time.perf_counter()
    recordings, left_out = load_speech()
    audios: list[np.ndarray] = []
    clips = build_speech_clips(
        [x for _, x in recordings],
        copies=cfg.whisper_speech_copies,
        seed=cfg.seed + 2,  # not the synthetic or real clips' seeds
        jobs=jobs,
        progress=progress,
        audio_out=audios,
    )
    _save_whisper(run, cfg, audios, progress, "whisper_speech.npy")
    save_clips(clips, run / "clips_speech.npz")
    speech = {
        "recordings": len(recordings),
        "left_out": left_out,
        "sources": [
            {"package": s.package, "licence": s.licence, "credit": s.credit} for s in SOURCES
        ]
        + [
            {"package": s.spec, "licence": s.licence, "credit": s.credit} for s in SDIST_SOURCES
        ],  # fmt: skip
        **_clips_summary([x for _, x in recordings], clips, t0),
    }
    path.write_text(json.dumps(speech, indent=2) + "\n")
    return {"speech": speech}


def kokoro_corpus_dir(run: Path) -> Path:
    """The run's Kokoro corpus: where ``corpus_kokoro_path.txt`` says, else ``corpus_kokoro/``."""
    known = run / "corpus_kokoro_path.txt"
    return Path(known.read_text().strip()) if known.exists() else run / "corpus_kokoro"


def _kokoro_clips(run: Path, cfg: TrainConfig, jobs: int, progress: bool) -> dict:
    """Build ``clips_kokoro.npz`` (+ ``whisper_kokoro.npy``) when the config trains on Kokoro.

    The Kokoro corpus (:func:`~avatar_agent.train.corpus.kokoro_corpus.build_kokoro`,
    ``cfg.kokoro_utterances`` sentences, seeded by ``cfg.seed``) is spoken first if missing;
    one that exists is used as it is (a variant shares its base run's, as it shares the main
    corpus). Its clips are seeded apart from the other clips; ``data_kokoro.json`` describes
    them.
    """
    from avatar_agent.train.corpus.build import load_corpus
    from avatar_agent.train.corpus.kokoro_corpus import build_kokoro
    from avatar_agent.train.data import build_clips, save_clips

    if cfg.kokoro_copies <= 0:
        return {}
    path = run / "data_kokoro.json"
    if path.exists() and (run / "clips_kokoro.npz").exists():
        return {"kokoro": json.loads(path.read_text())}
    t0 = time.perf_counter()
    corpus_dir = kokoro_corpus_dir(run)
    if not (corpus_dir / "manifest.jsonl").exists():
        build_kokoro(corpus_dir, cfg.kokoro_utterances, seed=cfg.seed, jobs=jobs, progress=progress)
    utts = load_corpus(corpus_dir, split="train")
    audios: list[np.ndarray] | None = [] if cfg.uses_whisper else None
    clips = build_clips(
        utts,
        copies=cfg.kokoro_copies,
        seed=cfg.seed + 3,  # not the synthetic, real or speech clips' seeds
        jobs=jobs,
        progress=progress,
        closure_overshoot=cfg.closure_overshoot,
        audio_out=audios,
    )
    if audios is not None:
        _save_whisper(run, cfg, audios, progress, "whisper_kokoro.npy")
    save_clips(clips, run / "clips_kokoro.npz")
    info = json.loads((corpus_dir / "info.json").read_text())
    kok = {
        "utterances": len(utts),
        "voices": info.get("voices", {}),
        "mixed": info.get("mixed", 0),
        "corpus_hours": info.get("hours"),
        "corpus_build_seconds": info.get("build_seconds"),
        "source": info.get("source"),
        **_clips_summary([u.samples16k for u in utts], clips, t0),
    }
    path.write_text(json.dumps(kok, indent=2) + "\n")
    return {"kokoro": kok}


def _speech_sampler(run: Path, cfg: TrainConfig):  # noqa: ANN202
    """Window sampler over the speech clips with their Whisper features (None if unused)."""
    from avatar_agent.train.data import attach_whisper, load_clips

    if not cfg.uses_speech:
        return None
    if not (run / "clips_speech.npz").exists():
        raise FileNotFoundError(
            f"{run} trains the Whisper term on untranscribed speech (whisper_speech_copies="
            f"{cfg.whisper_speech_copies}) but has no clips_speech.npz: run `avatar-agent "
            f"train data --run {run}` first"
        )
    clips = load_clips(run / "clips_speech.npz")
    attach_whisper(clips, run / "whisper_speech.npy")
    return _sampler(cfg, clips, 2, augment=False)


def _train_clips(run: Path, cfg: TrainConfig, *, whisper: bool = False) -> list:
    """The clips a run trains on: the synthetic ones, plus the real and Kokoro ones if configured.

    ``whisper``: give the synthetic and Kokoro clips their Whisper features (the teacher's
    term only reads them; other stages would copy them into every batch for nothing).
    """
    from avatar_agent.train.data import attach_whisper, load_clips

    clips = load_clips(run / "clips_train.npz")
    if whisper and cfg.uses_whisper:
        attach_whisper(clips, run / "whisper_train.npy")
    if cfg.real_copies > 0:
        clips += load_clips(run / "clips_real.npz")
    if cfg.kokoro_copies > 0:
        kok = load_clips(run / "clips_kokoro.npz")
        if whisper and cfg.uses_whisper:
            attach_whisper(kok, run / "whisper_kokoro.npy")
        clips += kok
    return clips


def stage_teacher(run: Path, cfg: TrainConfig, *, progress: bool = True) -> dict:
    """Train (or resume) the diffusion teacher; writes ``teacher/`` and ``loss_teacher.png``."""
    from avatar_agent.train.loops import train_teacher
    from avatar_agent.train.plots import plot_losses

    t0 = time.perf_counter()
    clips = _train_clips(run, cfg, whisper=True)
    train_teacher(
        cfg,
        _sampler(cfg, clips),
        _stats(run),
        run,
        progress=progress,
        speech_sampler=_speech_sampler(run, cfg),
    )
    plot_losses(run / "teacher.pt", run / "loss_teacher.png", "teacher (training loss)")
    if cfg.whisper_pretrain_steps > 0 and (run / "encoder.pt").exists():
        plot_losses(run / "encoder.pt", run / "loss_encoder.png", "audio encoder (Whisper term)")
    return {"seconds": time.perf_counter() - t0}


def stage_distill(run: Path, cfg: TrainConfig, *, progress: bool = True) -> dict:
    """Consistency-distil the teacher into the one-step student; writes ``student/``."""
    from avatar_agent.train.loops import distill_student, load_model
    from avatar_agent.train.plots import plot_losses

    t0 = time.perf_counter()
    clips = _train_clips(run, cfg)
    teacher = load_model(run / "teacher")
    distill_student(cfg, teacher, _sampler(cfg, clips, 1), run, progress=progress)
    plot_losses(run / "student.pt", run / "loss_distill.png", "distillation (consistency loss)")
    return {"seconds": time.perf_counter() - t0}


def stage_export(run: Path, cfg: TrainConfig) -> dict:
    """Export fp32 and int8 ONNX and check their parity; returns sizes and differences."""
    from avatar_agent.train.export import export_onnx, parity, quantize_int8
    from avatar_agent.train.loops import load_model

    clips = _train_clips(run, cfg)
    student = load_model(run / "student")
    fp32 = export_onnx(student, cfg, _sampler(cfg, clips, 2, augment=False), run / "motion.onnx")
    int8 = quantize_int8(
        fp32, run / "motion.int8.onnx", cfg, _sampler(cfg, clips, 3, augment=False)
    )
    par = parity(fp32, int8, cfg, _sampler(cfg, clips, 4, augment=False))
    out = {
        "fp32_bytes": fp32.stat().st_size,
        "int8_bytes": int8.stat().st_size,
        "parity": par,
    }
    (run / "export.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


def _eval_subset(group: str, n: int, seed: int, per_group: int) -> list[int]:
    """Indices (sorted) of the utterances of ``group`` that evaluation scores."""
    # one generator per group: adding a voice group leaves the others' subsets as they are
    rng = np.random.default_rng([seed, zlib.crc32(group.encode())])
    if group == "human" or n <= per_group:
        return list(range(n))
    return sorted(int(i) for i in rng.choice(n, per_group, replace=False))


def _eval_groups(corpus_dir: Path) -> dict[str, list]:
    from avatar_agent.train.corpus.build import load_corpus

    by_group: dict[str, list] = {}
    for u in load_corpus(corpus_dir, split="eval"):
        by_group.setdefault(u.engine, []).append(u)
    return by_group


def eval_items(
    run: Path, per_group: int = EVAL_PER_GROUP, seed: int = EVAL_SEED, split: str = "eval"
) -> list:
    """Held-out utterances of the run's corpus as :class:`EvalItem` (group = engine).

    Args:
        run: Run folder (its ``corpus_path.txt`` names the corpus).
        per_group: At most this many utterances per engine (a seeded random subset; all
            human recordings are kept), so the N-step teacher row stays affordable on a CPU.
        seed: Subset seed.
        split: ``eval`` (held out), or ``train`` to measure the fit on training speech.

    Returns:
        The items.
    """
    from avatar_agent.train.corpus.build import load_corpus
    from avatar_agent.train.evaluate import EvalItem

    corpus_dir = Path((run / "corpus_path.txt").read_text().strip())
    if split == "eval":
        by_group = _eval_groups(corpus_dir)
    else:
        by_group = {}
        for u in load_corpus(corpus_dir, split=split):
            by_group.setdefault(u.engine, []).append(u)
    items = []
    for group in sorted(by_group):
        utts = by_group[group]
        utts = [utts[i] for i in _eval_subset(group, len(utts), seed, per_group)]
        items += [EvalItem(group=group, samples16k=u.samples16k, phones=u.phones) for u in utts]
    return items


def real_train_utterances(corpus_dir: Path, seed: int = EVAL_SEED) -> list:
    """The real recordings a run with ``real_copies`` trains on.

    These are the prompts of :data:`REAL_TRAIN_ENGINES` that :func:`eval_items` (same seed,
    :data:`EVAL_PER_GROUP`) does not score: the voice is then seen in training, its
    evaluation prompts are not.

    Args:
        corpus_dir: The run's corpus.
        seed: The seed evaluation draws its subsets with.

    Returns:
        Corpus utterances.
    """
    out = []
    for group, utts in sorted(_eval_groups(corpus_dir).items()):
        if group in REAL_TRAIN_ENGINES:
            held = set(_eval_subset(group, len(utts), seed, EVAL_PER_GROUP))
            out += [u for i, u in enumerate(utts) if i not in held]
    return out


def stage_eval(run: Path, cfg: TrainConfig, *, teacher: bool = True) -> dict:
    """Evaluate int8, fp32, the teacher at N steps, the baseline and the targets themselves.

    Writes ``metrics.json`` and ``eval.md`` (the table for ``docs/``).
    """
    from avatar_agent.generator.driver import BaselineMotionDriver
    from avatar_agent.generator.learned import LearnedMotionDriver
    from avatar_agent.generator.onnx_model import OnnxMotionModel
    from avatar_agent.train.evaluate import (
        TorchModel,
        evaluate_driver,
        evaluate_targets,
        torch_driver,
    )
    from avatar_agent.train.loops import load_model
    from avatar_agent.train.report import markdown_table

    items = eval_items(run)  # the same held-out set whatever the run's seed
    onnx_int8 = OnnxMotionModel(run / "motion.int8.onnx")
    info = onnx_int8.info
    drivers = {
        "student int8 (ONNX, 1 step)": LearnedMotionDriver(onnx_int8, seed=cfg.seed),
        "student fp32 (ONNX, 1 step)": LearnedMotionDriver(
            OnnxMotionModel(run / "motion.onnx"), seed=cfg.seed
        ),
    }
    if teacher:
        t_model = load_model(run / "teacher")
        drivers[f"teacher ({cfg.teacher_eval_steps} steps, w={cfg.guidance:g})"] = torch_driver(
            TorchModel(
                t_model,
                info,
                steps=cfg.teacher_eval_steps,
                guidance=cfg.guidance,
                student=False,
            ),
            cfg.seed,
        )
    drivers["loudness baseline"] = BaselineMotionDriver(fps=25.0, seed=cfg.seed)
    results = {}
    for name, drv in drivers.items():
        t0 = time.perf_counter()
        results[name] = evaluate_driver(drv, items)
        log.info("%s: %.1f s", name, time.perf_counter() - t0)
    results["phone-timed targets (reference)"] = evaluate_targets(items)
    (run / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    (run / "eval.md").write_text(markdown_table(results, items) + "\n")
    return results


_SHARED_INPUTS = ("clips_train.npz", "stats.npz", "data.json", "corpus_path.txt")


def train_variant(
    run: Path,
    sub: Path,
    cfg: TrainConfig,
    *,
    new_teacher: bool,
    progress: bool = True,
    evaluate: bool = True,
) -> dict:
    """Train a variant of a run on the run's own data and evaluate its student (ablations).

    The run's clips, statistics, corpus and Whisper features are linked into ``sub`` (and its
    teacher too unless ``new_teacher``; clips of real recordings, if the variant trains on
    them, are built in ``sub``); ``sub`` keeps its own ``config.json`` once written, so an
    interrupted or finished variant resumes instead of starting over.

    Args:
        run: Finished run whose data (and teacher) the variant shares.
        sub: The variant's run folder.
        cfg: The variant's config (ignored if ``sub/config.json`` exists).
        new_teacher: Train a teacher for the variant instead of linking the run's.
        progress: Show progress bars.
        evaluate: Score the variant on the held-out set (else return ``{}``).

    Returns:
        The variant's metrics (as :func:`stage_eval`, without the teacher row).
    """
    sub.mkdir(parents=True, exist_ok=True)
    shared = _SHARED_INPUTS + (() if new_teacher else ("teacher",))
    if (run / "whisper_train.npy").exists():  # the clips' Whisper features, if the run has them
        shared += ("whisper_train.npy",)
    for name in shared:
        dst = sub / name
        if not dst.exists():  # read-only inputs: linked, not copied
            dst.symlink_to((run / name).resolve())
    if (sub / "config.json").exists():
        cfg = TrainConfig.from_dict(json.loads((sub / "config.json").read_text()))
    else:
        cfg.save(sub / "config.json")
    kokoro = kokoro_corpus_dir(run)
    if (kokoro / "manifest.jsonl").exists() and not kokoro_corpus_dir(sub).exists():
        (sub / "corpus_kokoro_path.txt").write_text(str(kokoro.resolve()) + "\n")
    if cfg.real_copies > 0 or cfg.kokoro_copies > 0:  # those clips are the variant's own
        stage_data(sub, cfg, progress=progress)
    if new_teacher:
        _speech_clips(sub, cfg, 2, progress)  # so are the untranscribed speech's, if used
        stage_whisper(sub, cfg, progress=progress)
        stage_teacher(sub, cfg, progress=progress)
    stage_distill(sub, cfg, progress=progress)
    stage_export(sub, cfg)
    return stage_eval(sub, cfg, teacher=False) if evaluate else {}


def reference_rows(run: Path, model: str | None = None) -> dict:
    """Rows of a reference int8 model (default: the embedded one) on the run's held-out items."""
    from avatar_agent.generator.driver import make_driver
    from avatar_agent.train.evaluate import evaluate_driver

    return evaluate_driver(make_driver("learned", fps=25.0, model=model), eval_items(run))


def compare_variant(
    run: Path,
    sub: Path,
    cfg: TrainConfig,
    name: str,
    *,
    new_teacher: bool = True,
    fields: tuple[str, ...] = (),
    extra: dict | None = None,
    labels: tuple[str, str] = ("without", "with"),
    reference_model: str | None = None,
) -> dict:
    """Train a variant (:func:`train_variant`) and write the comparison the card reads.

    ``<run>/<name>.json`` holds the variant's ``fields`` (from its saved config), ``extra``,
    its real-speech or Kokoro clips' summary (``data`` / ``kokoro``, when it trained on them)
    and the int8 rows of both runs (``without``: the run, ``with``: the variant). A run that
    holds only data (no ``metrics.json`` of its own model) is represented by
    ``reference_model`` (default: the embedded model, the seed-0 run of the shipped config)
    scored on the same held-out items. Prints the rows of the pooled set and the natural
    voices, labelled ``labels``.

    Returns:
        What was written.
    """
    from avatar_agent.train.report import int8_row

    other = train_variant(run, sub, cfg, new_teacher=new_teacher)
    used = json.loads((sub / "config.json").read_text())
    out = {k: used[k] for k in fields} | (extra or {})
    if (sub / "data_real.json").exists() and used.get("real_copies", 0) > 0:
        out["data"] = json.loads((sub / "data_real.json").read_text())
    if (sub / "data_kokoro.json").exists() and used.get("kokoro_copies", 0) > 0:
        out["kokoro"] = json.loads((sub / "data_kokoro.json").read_text())
    # the run's rows are read last: its own evaluation may finish while the variant trains
    if (run / "metrics.json").exists() and reference_model is None:
        out["without"] = int8_row(json.loads((run / "metrics.json").read_text()))
    else:
        out["without"] = reference_rows(run, reference_model)
        out["reference_model"] = reference_model or "embedded"
    out["with"] = int8_row(other)
    (run / f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")
    for key, label in zip(("without", "with"), labels, strict=True):
        for group in ("all", "piper", "human", "ivr"):
            if m := (out[key] or {}).get(group):
                print(
                    f"{label:>7} {group:>5}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %"
                    f"  rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %"
                )
    return out
