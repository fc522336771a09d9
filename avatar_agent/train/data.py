"""Training clips from the corpus: augmentation, conversational scenarios, motion targets.

Each training utterance becomes ``copies`` clips. A clip pads the utterance with silence,
augments the audio (speed, pitch, loudness, noise, reverb, telephone band, resampling),
picks a scenario and renders its motion targets:

- ``speaking`` (the avatar says the utterance), sometimes with an expression, sometimes with
  an expression change part-way;
- ``barge-in``: speaking, then the audio stops (cleared) and the state becomes listening;
- ``listening``: the utterance is the partner's speech; the mouth stays at rest;
- ``idle`` and ``thinking`` over (noisy) silence.

Clips are saved as one ``.npz`` per split, so ``train teacher`` starts in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from avatar_agent.generator.conditions import EXPRESSION_NAMES, N_EXPRESSIONS, STATE_INDEX
from avatar_agent.motion import PARAMS
from avatar_agent.train.phones import SILENCE, Phone
from avatar_agent.train.targets.compose import make_targets_segments
from avatar_agent.train.windows import SAMPLES_PER_FRAME, Clip, mel_of

__all__ = [
    "SCENARIOS",
    "attach_whisper",
    "build_clips",
    "build_speech_clips",
    "load_clips",
    "make_clip",
    "make_clip_audio",
    "save_clips",
    "save_whisper",
]

FPS = 25.0
SR = 16000

SCENARIOS: dict[str, float] = {
    "speaking": 0.62,
    "barge-in": 0.08,
    "listening": 0.14,
    "idle": 0.08,
    "thinking": 0.08,
}
"""Scenario probabilities."""


def _pad(x: np.ndarray, phones: Sequence[Phone], lead: float, tail: float):  # noqa: ANN202
    a, b = int(lead * SR), int(tail * SR)
    y = np.concatenate([np.zeros(a, np.float32), x.astype(np.float32), np.zeros(b, np.float32)])
    out = [Phone(SILENCE, 0.0, lead)] if lead > 0 else []
    for p in phones:
        out.append(Phone(p.symbol, p.start + lead, p.end + lead))
    end = len(y) / SR
    if out[-1].end < end:
        out.append(Phone(SILENCE, out[-1].end, end))
    return y, _merge_sil(out)


def _merge_sil(phones: list[Phone]) -> list[Phone]:
    out: list[Phone] = []
    for p in phones:
        if out and out[-1].symbol == SILENCE == p.symbol:
            out[-1] = Phone(SILENCE, out[-1].start, p.end)
        elif p.end > p.start:
            out.append(p)
    return out


def _expression(rng: np.random.Generator) -> np.ndarray:
    v = np.zeros(N_EXPRESSIONS, np.float32)
    if rng.random() < 0.45:
        v[rng.integers(N_EXPRESSIONS)] = rng.uniform(0.3, 1.0)
    return v


def make_clip(
    samples16k: np.ndarray,
    phones: Sequence[Phone],
    rng: np.random.Generator,
    *,
    augment: bool = True,
    scenario: str | None = None,
    closure_overshoot: float = 0.0,
) -> Clip:
    """One training clip from one utterance (:func:`make_clip_audio` without the audio)."""
    return make_clip_audio(
        samples16k,
        phones,
        rng,
        augment=augment,
        scenario=scenario,
        closure_overshoot=closure_overshoot,
    )[0]


def make_clip_audio(
    samples16k: np.ndarray,
    phones: Sequence[Phone],
    rng: np.random.Generator,
    *,
    augment: bool = True,
    scenario: str | None = None,
    closure_overshoot: float = 0.0,
) -> tuple[Clip, np.ndarray]:
    """One training clip from one utterance, and the (augmented) audio it was made from.

    Args:
        samples16k: The utterance's audio.
        phones: Its phones.
        rng: Random generator (scenario, padding, augmentation, targets).
        augment: Apply audio augmentation.
        scenario: Force a scenario (default: drawn from :data:`SCENARIOS`).
        closure_overshoot: How far past contact the lips aim on /p b m/ frames.

    Returns:
        A :class:`Clip` and its 16 kHz audio, cut or zero-padded to the clip's frames.
    """
    from avatar_agent.train.corpus.augment import augment as augment_audio

    if scenario is None:
        names = list(SCENARIOS)
        scenario = names[int(rng.choice(len(names), p=list(SCENARIOS.values())))]
    x, ph = _pad(samples16k, phones, float(rng.uniform(0.1, 1.0)), float(rng.uniform(0.2, 1.2)))
    if scenario in ("idle", "thinking"):
        x = np.zeros_like(x)
        ph = [Phone(SILENCE, 0.0, len(x) / SR)]
    if augment:
        x, ph = augment_audio(x, ph, rng, strength=1.0)
        x = np.asarray(x, np.float32)
        ph = _merge_sil(list(ph))
    n = max(1, math.ceil(len(x) / SAMPLES_PER_FRAME))
    states = ["speaking"] * n
    expr = np.broadcast_to(_expression(rng), (n, N_EXPRESSIONS)).copy()
    if scenario == "speaking" and rng.random() < 0.2:
        cut = int(rng.integers(n // 4, max(n // 4 + 1, 3 * n // 4)))
        expr[cut:] = _expression(rng)
    elif scenario == "barge-in":
        cut = int(rng.integers(n // 4, max(n // 4 + 1, 3 * n // 4)))
        x = x.copy()
        x[cut * SAMPLES_PER_FRAME :] *= np.float32(0.0)
        t_cut = cut / FPS
        kept = [p for p in ph if p.start < t_cut]
        kept = [Phone(p.symbol, p.start, min(p.end, t_cut)) for p in kept]
        ph = _merge_sil([*kept, Phone(SILENCE, t_cut, max(t_cut + 1e-3, len(x) / SR))])
        after = "listening" if rng.random() < 0.7 else "idle"
        states[cut:] = [after] * (n - cut)
    elif scenario in ("listening", "idle", "thinking"):
        states = [scenario] * n
        if scenario != "listening":
            expr[:] = 0.0
            if scenario == "thinking" and rng.random() < 0.5:
                expr[:, EXPRESSION_NAMES.index("thinking")] = rng.uniform(0.3, 1.0)
    motion = make_targets_segments(
        ph,
        n,
        fps=FPS,
        states=states,
        expressions=expr,
        audio16k=x,
        rng=rng,
        closure_overshoot=closure_overshoot,
    )
    clip = Clip(
        mel=mel_of(x, n),
        motion=np.asarray(motion, np.float32),
        state=np.array([STATE_INDEX[s] for s in states], np.int8),
        expression=expr.astype(np.float16),
    )
    audio = np.zeros(n * SAMPLES_PER_FRAME, np.float32)
    audio[: min(len(x), len(audio))] = x[: len(audio)]
    return clip, audio


def _work(args: tuple) -> list[tuple[Clip, np.ndarray | None]]:
    samples, phones, seed, copies, augment, overshoot, keep_audio = args
    rng = np.random.default_rng(seed)
    out = []
    for c in range(copies):
        clip, audio = make_clip_audio(
            samples,
            phones,
            rng,
            augment=augment and (c > 0 or copies == 1),
            closure_overshoot=overshoot,
        )
        out.append((clip, audio if keep_audio else None))
    return out


def build_clips(
    utterances: Sequence,
    *,
    copies: int,
    seed: int,
    jobs: int = 2,
    progress: bool = True,
    closure_overshoot: float = 0.0,
    audio_out: list[np.ndarray] | None = None,
) -> list[Clip]:
    """Clips of many utterances (``copies`` each; the first copy is not augmented).

    Args:
        utterances: Corpus utterances (``samples16k`` and ``phones`` attributes).
        copies: Clips per utterance.
        seed: Base seed (utterance ``i`` uses ``[seed, i]``).
        jobs: Worker processes.
        progress: Show a progress bar.
        closure_overshoot: How far past contact the lips aim on /p b m/ frames.
        audio_out: If given, each clip's augmented audio is appended to it (in clip order).

    Returns:
        The clips.
    """
    keep = audio_out is not None
    tasks = [
        (u.samples16k, list(u.phones), [seed, i], copies, True, closure_overshoot, keep)
        for i, u in enumerate(utterances)
    ]
    return _run_tasks(_work, tasks, "clips", jobs, progress, audio_out)


def _run_tasks(
    work: Callable[[tuple], list[tuple[Clip, np.ndarray | None]]],
    tasks: list[tuple],
    desc: str,
    jobs: int,
    progress: bool,
    audio_out: list[np.ndarray] | None,
) -> list[Clip]:
    """Run clip tasks (in ``jobs`` processes); the clips in task order, audio to ``audio_out``."""
    out: list[Clip] = []
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress)

    def take(pairs: list[tuple[Clip, np.ndarray | None]]) -> None:
        for clip, audio in pairs:
            out.append(clip)
            if audio_out is not None and audio is not None:
                audio_out.append(audio)
        bar.update(1)

    if jobs <= 1:
        for t in tasks:
            take(work(t))
    else:
        with ProcessPoolExecutor(jobs) as ex:
            for pairs in ex.map(work, tasks, chunksize=8):
                take(pairs)
    bar.close()
    return out


def _speech_work(args: tuple) -> list[tuple[Clip, np.ndarray | None]]:
    from avatar_agent.train.corpus.augment import augment as augment_audio

    samples, seed, copies = args
    rng = np.random.default_rng(seed)
    out = []
    for c in range(copies):
        x = np.asarray(samples, np.float32)
        if c > 0 or copies == 1:
            x, _ = augment_audio(x, [Phone(SILENCE, 0.0, len(x) / SR)], rng, strength=1.0)
        n = max(1, math.ceil(len(x) / SAMPLES_PER_FRAME))
        clip = Clip(
            mel=mel_of(x, n),
            motion=np.zeros((n, len(PARAMS)), np.float32),
            state=np.full(n, STATE_INDEX["speaking"], np.int8),
            expression=np.zeros((n, N_EXPRESSIONS), np.float16),
        )
        audio = np.zeros(n * SAMPLES_PER_FRAME, np.float32)
        audio[: min(len(x), len(audio))] = x[: len(audio)]
        out.append((clip, audio))
    return out


def build_speech_clips(
    recordings: Sequence[np.ndarray],
    *,
    copies: int,
    seed: int,
    jobs: int = 2,
    progress: bool = True,
    audio_out: list[np.ndarray] | None = None,
) -> list[Clip]:
    """Audio-only clips of untranscribed speech (the Whisper term's; no motion is trained).

    Each recording gives ``copies`` clips, augmented like the training clips (the first copy
    is left as recorded). Their motion is zeros and never read: a sampler over them feeds
    only the audio encoder and the Whisper head
    (:func:`~avatar_agent.train.loops.train_teacher`).

    Args:
        recordings: 16 kHz mono samples per recording.
        copies: Clips per recording.
        seed: Base seed (recording ``i`` uses ``[seed, i]``).
        jobs: Worker processes.
        progress: Show a progress bar.
        audio_out: If given, each clip's augmented audio is appended to it (in clip order).

    Returns:
        The clips.
    """
    tasks = [(x, [seed, i], copies) for i, x in enumerate(recordings)]
    return _run_tasks(_speech_work, tasks, "speech clips", jobs, progress, audio_out)


def save_clips(clips: Sequence[Clip], path: Path) -> None:
    """Save clips to one ``.npz`` (concatenated arrays + lengths)."""
    lengths = np.array([len(c.motion) for c in clips], np.int64)
    np.savez(
        path,
        lengths=lengths,
        mel=np.concatenate([c.mel for c in clips]),
        motion=np.concatenate([c.motion for c in clips]),
        state=np.concatenate([c.state for c in clips]),
        expression=np.concatenate([c.expression for c in clips]),
    )


def load_clips(path: Path) -> list[Clip]:
    """Inverse of :func:`save_clips`."""
    z = np.load(path)
    ends = np.cumsum(z["lengths"])
    starts = ends - z["lengths"]
    mel, mot, st, ex = z["mel"], z["motion"], z["state"], z["expression"]
    return [
        Clip(mel[4 * s : 4 * e], mot[s:e], st[s:e], ex[s:e])
        for s, e in zip(starts, ends, strict=True)
    ]


def save_whisper(features: Sequence[np.ndarray], path: Path) -> None:
    """Save per-clip Whisper features (in clip order) as one float16 ``.npy``."""
    np.save(path, np.concatenate(features).astype(np.float16))


def attach_whisper(clips: Sequence[Clip], path: Path) -> None:
    """Give each clip its Whisper features from :func:`save_whisper`'s file (same order).

    Raises:
        ValueError: The file's frames do not add up to the clips' (other clips).
    """
    feats = np.load(path, mmap_mode="r")
    total = sum(len(c.motion) for c in clips)
    if len(feats) != total:
        raise ValueError(f"{path} holds {len(feats)} frames, the clips {total}: rebuild it")
    s = 0
    for c in clips:
        c.whisper = np.asarray(feats[s : s + len(c.motion)])
        s += len(c.motion)
