"""Build the speech corpus (audio + exact phone timings) and load it back.

``build_corpus`` plans every utterance up front from the seed (text, engine, voice, rate,
pitch), synthesises in a process pool, and writes ``manifest.jsonl`` plus 16-bit mono WAVs at
each engine's native rate. Whole voices are held out for evaluation:

* train: espeak-ng accents/variants not held out, festival ``slt`` and ``ked``, flite ``awb``,
  ``rms`` and ``slt`` (:data:`CorpusConfig.extra_train`, planned after evaluation so adding
  voices leaves the evaluation set unchanged);
* eval: espeak accents :data:`~.espeak.EVAL_BASES` and variants :data:`~.espeak.EVAL_VARIANTS`,
  festival ``kal``, Piper ``joe`` (evaluation only), real human recordings (:mod:`.human`).

Run ``python -m avatar_agent.train.corpus.build out/corpus`` (``--small`` for a tiny one).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_agent.audio import load_audio
from avatar_agent.train.corpus import espeak, festival, flite
from avatar_agent.train.corpus.sentences import SentenceGenerator
from avatar_agent.train.corpus.wavio import write_wav
from avatar_agent.train.phones import Phone, check_phones

__all__ = [
    "DEFAULT",
    "ENGINES",
    "SMALL",
    "CorpusConfig",
    "Utterance",
    "EVAL_ONLY",
    "add_eval_engines",
    "build_corpus",
    "load_corpus",
    "read_manifest",
]

ENGINES: tuple[str, ...] = ("espeak", "festival", "flite", "piper", "human", "ivr")
"""All engines; ``human`` are real recordings, ``ivr`` a real telephone voice (both eval)."""

EVAL_ONLY: tuple[str, ...] = ("human", "ivr")
"""Engines of real recordings, built after the synthetic ones and never trained on."""


@dataclass(frozen=True)
class CorpusConfig:
    """Sizes of a corpus build.

    Attributes:
        n_train: Synthetic training utterances.
        n_eval: Synthetic evaluation utterances (human recordings come on top).
        festival_train_share: Share of ``n_train`` spoken by festival ``slt`` (rest espeak).
        eval_shares: Shares of ``n_eval`` for espeak / festival kal / piper.
        festival_batch: Sentences per festival process.
        extra_train: ``(engine, voice, utterances)`` of further training voices, on top of
            ``n_train`` (texts continue the training sentence stream; duration stretch
            0.85–1.2 for flite).
    """

    n_train: int = 1500
    n_eval: int = 300
    festival_train_share: float = 0.2
    eval_shares: tuple[float, float, float] = (0.5, 0.25, 0.25)
    festival_batch: int = 40
    extra_train: tuple[tuple[str, str, int], ...] = (
        ("festival", "ked", 200),
        ("flite", "awb", 200),
        ("flite", "rms", 200),
        ("flite", "slt", 200),
    )


DEFAULT = CorpusConfig()
"""≈2.2 h of training speech (1.1 h of it espeak-ng), about 80 s to build on 2 cores."""

SMALL = CorpusConfig(
    n_train=24,
    n_eval=12,
    festival_batch=8,
    extra_train=(("festival", "ked", 2), ("flite", "rms", 2)),
)
"""A tiny corpus for tests."""


@dataclass
class Utterance:
    """One corpus utterance loaded for training.

    Attributes:
        id: Unique id.
        split: ``"train"`` or ``"eval"``.
        engine: ``espeak``, ``festival``, ``flite``, ``piper``, ``human`` or ``ivr``.
        voice: Voice name (held-out voices never occur in train).
        text: Spoken text.
        samples16k: float32 mono samples at 16 kHz.
        phones: Timed phones.
    """

    id: str
    split: str
    engine: str
    voice: str
    text: str
    samples16k: np.ndarray
    phones: list[Phone]


# --------------------------------------------------------------------------- planning


def _plan(cfg: CorpusConfig, seed: int, engines: Sequence[str]) -> list[dict]:
    """Every synthetic utterance as a job dict (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    train_text = SentenceGenerator(seed=seed * 2 + 1)
    eval_text = SentenceGenerator(seed=seed * 2 + 2)
    use_fest = "festival" in engines and festival.available("slt")
    use_fest_eval = "festival" in engines and festival.available("kal")
    use_espeak = "espeak" in engines
    n_fest = int(round(cfg.n_train * cfg.festival_train_share)) if use_fest else 0
    n_esp = cfg.n_train - n_fest if use_espeak else 0
    jobs: list[dict] = []

    train_bases = [b for b in espeak.BASE_VOICES if b not in espeak.EVAL_BASES]
    eval_bases = sorted(espeak.EVAL_BASES)
    all_variants = list(espeak.TRAIN_VARIANTS) + list(espeak.EVAL_VARIANTS)

    def espeak_voice(split: str) -> espeak.EspeakVoice:
        if split == "train":
            base = train_bases[int(rng.integers(len(train_bases)))]
            variant = espeak.TRAIN_VARIANTS[int(rng.integers(len(espeak.TRAIN_VARIANTS)))]
        elif rng.random() < 0.5:
            base = eval_bases[int(rng.integers(len(eval_bases)))]
            variant = all_variants[int(rng.integers(len(all_variants)))]
        else:
            base = espeak.BASE_VOICES[int(rng.integers(len(espeak.BASE_VOICES)))]
            variant = espeak.EVAL_VARIANTS[int(rng.integers(len(espeak.EVAL_VARIANTS)))]
        return espeak.EspeakVoice(
            base, variant, rate=int(rng.integers(120, 231)), pitch=int(rng.integers(25, 76)),
            pitch_range=int(rng.integers(30, 81)),
        )  # fmt: skip

    for k in range(n_esp):
        v = espeak_voice("train")
        jobs.append(
            _job("espeak", "train", k, next(train_text), v.name, voice_cfg=dict(v.__dict__))
        )
    for k in range(n_fest):
        jobs.append(_job("festival", "train", k, next(train_text), "slt"))

    shares = np.array(cfg.eval_shares, float)
    enabled = np.array([use_espeak, use_fest_eval, "piper" in engines], float)
    if enabled.sum() > 0:
        counts = np.floor(cfg.n_eval * shares * enabled / max((shares * enabled).sum(), 1e-9))
        counts[int(np.argmax(enabled))] += cfg.n_eval - counts.sum()
        n_esp_eval, n_kal, n_piper = (int(c) for c in counts)
    else:
        n_esp_eval = n_kal = n_piper = 0
    for k in range(n_esp_eval):
        v = espeak_voice("eval")
        jobs.append(_job("espeak", "eval", k, next(eval_text), v.name, voice_cfg=dict(v.__dict__)))
    for k in range(n_kal):
        jobs.append(_job("festival", "eval", k, next(eval_text), "kal"))
    for k in range(n_piper):
        jobs.append(_job("piper", "eval", k, next(eval_text), "joe", seed=seed))
    extra_rng = np.random.default_rng([seed, 7])
    for engine, voice, n in cfg.extra_train:
        if engine not in engines or not (
            festival.available(voice) if engine == "festival" else flite.available()
        ):
            continue
        for k in range(n):
            # festival ignores the stretch; it is drawn anyway, as for the shipped corpus
            stretch = round(float(extra_rng.uniform(0.85, 1.2)), 3)
            jobs.append(_job(engine, "train", k, next(train_text), voice, stretch=stretch))
    return jobs


def _job(engine: str, split: str, k: int, text: str, voice: str, **extra: object) -> dict:
    return {
        "id": f"{engine}-{voice.replace('+', '_')}-{split}-{k:05d}" if engine != "espeak"
        else f"espeak-{split}-{k:05d}",
        "split": split, "engine": engine, "voice": voice, "text": text, **extra,
    }  # fmt: skip


# --------------------------------------------------------------------------- workers


def _record(job: dict, rel: str, rate: int, n: int, phones: list[Phone]) -> dict:
    rec = {k: job[k] for k in ("id", "split", "engine", "voice", "text")}
    rec.update(audio=rel, sample_rate=int(rate), duration=round(n / rate, 6))
    rec["phones"] = [[p.symbol, round(p.start, 6), round(p.end, 6)] for p in phones]
    if "voice" in job and isinstance(job.get("params"), dict):
        rec["params"] = job["params"]
    return rec


def _save(out_dir: str, job: dict, samples: np.ndarray, rate: int, phones: list[Phone]) -> dict:
    """Write one synthesised utterance's WAV and return its manifest record."""
    rel = f"audio/{job['id']}.wav"
    write_wav(Path(out_dir, rel), samples, rate)
    return _record(job, rel, rate, samples.size, phones)


def _run_espeak(out_dir: str, job: dict) -> dict | None:
    v = espeak.EspeakVoice(**job["voice_cfg"])
    try:
        x, rate, phones = espeak.synth(job["text"], v)
    except (espeak.EspeakError, KeyError, ValueError):
        return None
    job = dict(job, params={"rate": v.rate, "pitch": v.pitch, "range": v.pitch_range})
    return _save(out_dir, job, x, rate, phones)


def _run_festival(out_dir: str, jobs: list[dict]) -> list[dict | None]:
    try:
        results = festival.synth_batch([j["text"] for j in jobs], jobs[0]["voice"])
    except (festival.FestivalError, OSError):
        return [None] * len(jobs)
    return [
        None if r is None else _save(out_dir, job, r.samples, r.sample_rate, r.phones)
        for job, r in zip(jobs, results, strict=True)
    ]


def _run_piper(out_dir: str, jobs: list[dict]) -> list[dict | None]:
    from avatar_agent.train.corpus import piper

    try:
        results = piper.synth_batch(
            [j["text"] for j in jobs],
            Path(out_dir, "audio"),
            [j["id"] for j in jobs],
            seed=int(jobs[0].get("seed", 0)),
        )
    except piper.PiperError:
        return [None] * len(jobs)
    # the Piper worker wrote the WAVs itself
    return [
        None if r is None
        else _record(job, f"audio/{job['id']}.wav", r.sample_rate, r.n_samples, r.phones)
        for job, r in zip(jobs, results, strict=True)
    ]  # fmt: skip


def _run_flite(out_dir: str, job: dict) -> dict | None:
    try:
        r = flite.synth(job["text"], job["voice"], stretch=float(job.get("stretch", 1.0)))
    except (flite.FliteError, OSError, subprocess.SubprocessError):
        return None
    job = dict(job, params={"stretch": job.get("stretch", 1.0)})
    return _save(out_dir, job, r.samples, r.sample_rate, r.phones)


def _worker(task: tuple[str, str, list[dict]]) -> list[dict | None]:
    kind, out_dir, jobs = task
    if kind == "espeak":
        return [_run_espeak(out_dir, j) for j in jobs]
    if kind == "festival":
        return _run_festival(out_dir, jobs)
    if kind == "flite":
        return [_run_flite(out_dir, j) for j in jobs]
    if kind == "piper":
        return _run_piper(out_dir, jobs)
    raise ValueError(kind)


def _tasks(jobs: list[dict], out_dir: str, cfg: CorpusConfig) -> list[tuple[str, str, list[dict]]]:
    tasks: list[tuple[str, str, list[dict]]] = []
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for j in jobs:
        groups[(j["engine"], j["voice"] if j["engine"] != "espeak" else "")].append(j)
    for (engine, _), js in groups.items():
        sizes = {"espeak": 60, "festival": cfg.festival_batch, "flite": 40, "piper": 10_000}
        size = sizes[engine]
        tasks += [(engine, out_dir, js[i : i + size]) for i in range(0, len(js), size)]
    # piper (one long task, loads its model once) first, festival next: better packing
    order = {"piper": 0, "festival": 1, "flite": 2, "espeak": 3}
    return sorted(tasks, key=lambda t: order[t[0]])


# --------------------------------------------------------------------------- build


def build_corpus(
    out_dir: str | os.PathLike[str],
    *,
    n_train: int | None = None,
    n_eval: int | None = None,
    seed: int = 0,
    jobs: int = 2,
    engines: Iterable[str] = ENGINES,
    config: CorpusConfig = DEFAULT,
    progress: bool = True,
) -> Path:
    """Synthesise the corpus into ``out_dir`` (replacing a previous build there).

    Args:
        out_dir: Output folder; gets ``manifest.jsonl``, ``audio/*.wav`` and ``info.json``.
        n_train: Synthetic training utterances (default from ``config``).
        n_eval: Synthetic evaluation utterances (default from ``config``); human recordings
            are added on top when ``"human"`` is in ``engines``.
        seed: Random seed: same seed and engines, same corpus.
        jobs: Worker processes.
        engines: Subset of :data:`ENGINES`; engines that are not installed are skipped.
        config: Sizes (:data:`DEFAULT` or :data:`SMALL`).
        progress: Show a tqdm progress bar.

    Returns:
        The manifest path.
    """
    t0 = time.monotonic()
    engines = tuple(engines)
    cfg = CorpusConfig(
        n_train=config.n_train if n_train is None else n_train,
        n_eval=config.n_eval if n_eval is None else n_eval,
        festival_train_share=config.festival_train_share,
        eval_shares=config.eval_shares,
        festival_batch=config.festival_batch,
        extra_train=config.extra_train,
    )
    if "piper" in engines:
        from avatar_agent.train.corpus import piper

        if not piper.available():
            engines = tuple(e for e in engines if e != "piper")
    if "espeak" in engines and not espeak.available():
        engines = tuple(e for e in engines if e != "espeak")
    out = Path(out_dir)
    if (out / "audio").exists():
        shutil.rmtree(out / "audio")
    (out / "audio").mkdir(parents=True, exist_ok=True)
    plan = _plan(cfg, seed, engines)
    tasks = _tasks(plan, str(out), cfg)
    records: list[dict] = []
    failed: Counter = Counter()
    bar = _bar(len(plan), progress)
    ctx = mp.get_context("spawn")
    # one task per fresh process: espeak-ng keeps state between utterances (and draws from
    # libc rand()), so only a fixed sequence from a fresh start gives the same audio again
    with ctx.Pool(max(1, jobs), maxtasksperchild=1) as pool:
        for (kind, _, js), res in zip(tasks, pool.imap(_worker, tasks), strict=True):
            for r in res:
                if r is None:
                    failed[kind] += 1
                else:
                    records.append(r)
            bar.update(len(js))
    bar.close()
    real, real_info = _build_eval_only(out, engines, progress)
    records += real
    records.sort(key=lambda r: r["id"])
    manifest = _write_manifest(out, records)
    info = _summary(records)
    info.update(
        seed=seed, engines=list(engines), n_train=cfg.n_train, n_eval=cfg.n_eval,
        failed=dict(failed), build_seconds=round(time.monotonic() - t0, 1), **real_info,
    )  # fmt: skip
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return manifest


def _write_manifest(out: Path, records: list[dict]) -> Path:
    """Write ``manifest.jsonl`` (one JSON record per line) atomically; returns its path."""
    path = out / "manifest.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def _build_eval_only(out: Path, engines: Sequence[str], progress: bool) -> tuple[list, dict]:
    """Records and info of the real-recording engines among ``engines``."""
    records: list[dict] = []
    info: dict = {}
    if "human" in engines:
        from avatar_agent.train.corpus import human

        recs, info["human"] = human.build_human(out, progress=progress)
        records += recs
    if "ivr" in engines:
        from avatar_agent.train.corpus import ivr

        recs, info["ivr"] = ivr.build_ivr(out)
        records += recs
    return records, info


def add_eval_engines(
    corpus_dir: str | os.PathLike[str], engines: Iterable[str] = EVAL_ONLY
) -> list[str]:
    """Add real-recording engines an existing corpus lacks (its training split is untouched).

    A corpus built before an evaluation engine existed gets it without a rebuild, so old
    and new runs are scored on the same held-out set.

    Args:
        corpus_dir: Folder with ``manifest.jsonl``.
        engines: Candidates (only :data:`EVAL_ONLY` ones are considered).

    Returns:
        The engines added (empty when the corpus had them all, or none could be built).
    """
    out = Path(corpus_dir)
    records = read_manifest(out)
    have = {r["engine"] for r in records}
    want = [e for e in engines if e in EVAL_ONLY and e not in have]
    if not want:
        return []
    new, new_info = _build_eval_only(out, want, progress=False)
    if not new:
        return []
    records = sorted(records + new, key=lambda r: r["id"])
    _write_manifest(out, records)
    info_path = out / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info.update(_summary(records), **new_info)
    info["engines"] = sorted(set(info.get("engines", [])) | {r["engine"] for r in new})
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return sorted({r["engine"] for r in new})


def _bar(total: int, enabled: bool):  # noqa: ANN202
    try:
        from tqdm import tqdm
    except ImportError:
        enabled = False
    if not enabled:

        class _Null:
            def update(self, n: int) -> None:
                pass

            def close(self) -> None:
                pass

        return _Null()
    return tqdm(total=total, desc="corpus", unit="utt")


def _summary(records: list[dict]) -> dict:
    per: dict[str, dict] = defaultdict(lambda: {"utterances": 0, "hours": 0.0})
    for r in records:
        for key in (
            r["split"],
            f"{r['split']}/{r['engine']}",
            f"{r['split']}/{r['engine']}/{r['voice']}",
        ):
            per[key]["utterances"] += 1
            per[key]["hours"] += r["duration"] / 3600
    return {"splits": {k: {"utterances": v["utterances"], "hours": round(v["hours"], 4)}
                       for k, v in sorted(per.items())}}  # fmt: skip


# --------------------------------------------------------------------------- loading


def read_manifest(corpus_dir: str | os.PathLike[str], split: str | None = None) -> list[dict]:
    """The manifest records (no audio), optionally of one split.

    Args:
        corpus_dir: Folder with ``manifest.jsonl``.
        split: ``"train"``, ``"eval"`` or ``None`` for all.

    Returns:
        Records as written by :func:`build_corpus`.
    """
    with open(Path(corpus_dir, "manifest.jsonl"), encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return [r for r in recs if split is None or r["split"] == split]


def load_corpus(corpus_dir: str | os.PathLike[str], split: str | None = None) -> list[Utterance]:
    """Load utterances with 16 kHz audio and phones.

    Args:
        corpus_dir: Folder with ``manifest.jsonl``.
        split: ``"train"``, ``"eval"`` or ``None`` for all.

    Returns:
        Utterances in manifest order.
    """
    out = []
    for r in read_manifest(corpus_dir, split):
        phones = list(check_phones(Phone(s, float(a), float(b)) for s, a, b in r["phones"]))
        x = load_audio(Path(corpus_dir, r["audio"]), 16000)
        out.append(Utterance(r["id"], r["split"], r["engine"], r["voice"], r["text"], x, phones))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m avatar_agent.train.corpus.build OUT [--small] ...``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="out/corpus")
    ap.add_argument("--small", action="store_true", help="tiny corpus (tests)")
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--n-eval", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--engines", default=",".join(ENGINES))
    a = ap.parse_args(argv)
    path = build_corpus(
        a.out, n_train=a.n_train, n_eval=a.n_eval, seed=a.seed, jobs=a.jobs,
        engines=[e for e in a.engines.split(",") if e], config=SMALL if a.small else DEFAULT,
    )  # fmt: skip
    info = json.loads(Path(path.parent, "info.json").read_text())
    print(
        json.dumps(
            {k: info[k] for k in ("build_seconds", "failed")}
            | {k: v for k, v in info["splits"].items() if k.count("/") < 2},
            indent=1,
        )
    )  # noqa: T201


if __name__ == "__main__":
    main()
