"""The telephone-voice evaluation engine (Asterisk prompts), on a local stand-in package tree.

The real packages come from the Debian mirror at corpus-build time; here a folder laid out
like the unpacked packages (espeak-ng speech at 8 kHz, a gzipped script) goes through the
same parsing, filtering, pocketsphinx alignment and manifest code, offline.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from avatar_agent.audio import resample
from avatar_agent.train.corpus import align, espeak, ivr
from avatar_agent.train.corpus.build import add_eval_engines, read_manifest
from avatar_agent.train.corpus.wavio import write_wav
from avatar_agent.train.phones import SILENCE

pytestmark = [
    pytest.mark.skipif(not espeak.available(), reason="libespeak-ng not installed"),
    pytest.mark.skipif(not align.available(), reason="pocketsphinx not installed"),
]

PROMPTS = {
    "vm-intro": "Please leave your message after the tone.",
    "digits/7": "Seven.",  # too short: left out by duration
    "beep": "[a tone]",  # not a transcript
    "vm-and": "... and ...",  # a fragment
    "queue-thankyou": "Thank you for your patience, an agent will be with you shortly.",
}


def _fake_packages(cache: Path) -> None:
    """Unpacked-package trees as ``ivr.unpacked`` leaves them, with 8 kHz espeak speech."""
    sounds = cache / ivr.PACKAGES[0] / ivr.SOUNDS
    for name, text in PROMPTS.items():
        spoken = text.strip("[]. ") or "tone"
        x, rate, _ = espeak.synth(spoken, espeak.EspeakVoice("en-us", "f2"))
        (sounds / name).parent.mkdir(parents=True, exist_ok=True)
        write_wav(sounds / f"{name}.wav", resample(x, rate, 8000), 8000)
    script = cache / ivr.PACKAGES[1] / ivr._SCRIPT
    script.parent.mkdir(parents=True)
    lines = ["; Asterisk core sounds (comment)"] + [f"{k}: {v}" for k, v in PROMPTS.items()]
    with gzip.open(script, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    for p in ivr.PACKAGES:
        (cache / p / ".done").write_text("fake.deb\n")


def test_script_parsing_and_prompt_filter(tmp_path: Path) -> None:
    _fake_packages(tmp_path)
    script = ivr.read_script(tmp_path / ivr.PACKAGES[1] / ivr._SCRIPT)
    assert script == PROMPTS  # comments skipped, names keep their folders
    items, left_out = ivr.fetch_prompts(tmp_path)
    assert [name for name, _, _ in items] == ["digits/7", "queue-thankyou", "vm-intro"]
    assert left_out == 2  # the tone and the fragment


def test_existing_corpus_gains_the_ivr_group_without_touching_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _fake_packages(tmp_path / "cache" / "avatar-agent" / "corpus-debs")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    train = {"id": "espeak-train-0", "split": "train", "engine": "espeak", "voice": "en-us",
             "duration": 1.0, "phones": []}  # fmt: skip
    (corpus / "manifest.jsonl").write_text(json.dumps(train) + "\n")
    assert add_eval_engines(corpus, ["ivr"]) == ["ivr"]
    assert add_eval_engines(corpus, ["ivr"]) == []  # already there: nothing rebuilt
    records = read_manifest(corpus)
    assert [r for r in records if r["split"] == "train"] == [train]
    ivr_recs = [r for r in records if r["engine"] == "ivr"]
    assert sorted(r["id"] for r in ivr_recs) == ["ivr-queue-thankyou", "ivr-vm-intro"]
    for r in ivr_recs:
        assert r["split"] == "eval" and r["sample_rate"] == 8000
        assert (corpus / r["audio"]).is_file()
        phones = r["phones"]
        speech = [p for p in phones if p[0] != SILENCE]
        assert speech and phones[-1][2] <= r["duration"] + 1e-6
        assert all(b > a for _, a, b in phones)
    # the alignment finds the bilabial of "Please" near the start of the speech
    intro = next(r for r in ivr_recs if r["id"] == "ivr-vm-intro")
    first = [p for p in intro["phones"] if p[0] != SILENCE][:2]
    assert [p[0] for p in first] == ["P", "L"]
    info = json.loads((corpus / "info.json").read_text())["ivr"]
    assert info["used"] == 2 and info["left_out"] == 3  # tone, fragment, the short "Seven."


def test_a_new_voice_group_leaves_the_other_groups_evaluation_subsets_unchanged(
    tmp_path: Path,
) -> None:
    import numpy as np

    from avatar_agent.train.pipeline import eval_items

    corpus = tmp_path / "corpus"
    (corpus / "audio").mkdir(parents=True)
    write_wav(corpus / "audio" / "a.wav", np.zeros(1600, np.float32), 16000)

    def write(groups: tuple[str, ...]) -> None:
        rows = [
            {"id": f"{g}-{i:03d}", "split": "eval", "engine": g, "voice": g, "text": "",
             "audio": "audio/a.wav", "duration": 0.1, "phones": [[SILENCE, 0.0, 0.01 + i / 1000]]}
            for g in groups for i in range(60)
        ]  # fmt: skip
        (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    run = tmp_path / "run"
    run.mkdir()
    (run / "corpus_path.txt").write_text(str(corpus) + "\n")

    def subsets() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for it in eval_items(run):  # an utterance's phone end identifies it
            out.setdefault(it.group, []).append(round(it.phones[0].end, 3))
        return out

    write(("espeak", "piper"))
    before = subsets()
    write(("espeak", "ivr", "piper"))
    after = subsets()
    assert len(after["ivr"]) == 40
    for g in ("espeak", "piper"):
        assert len(before[g]) == 40 and after[g] == before[g]
    assert before["espeak"] != before["piper"]  # each group draws its own subset


def _eval_corpus(tmp_path: Path, groups: dict[str, int]) -> Path:
    """A run whose corpus holds ``n`` short held-out utterances per group; returns the run."""
    import numpy as np

    corpus = tmp_path / "corpus"
    (corpus / "audio").mkdir(parents=True)
    write_wav(corpus / "audio" / "a.wav", np.zeros(16000, np.float32), 16000)
    rows = [
        {"id": f"{g}-{i:03d}", "split": "eval", "engine": g, "voice": g, "text": "",
         "audio": "audio/a.wav", "duration": 1.0,
         "phones": [[SILENCE, 0.0, 0.5 + i / 1000], ["M", 0.5 + i / 1000, 0.6 + i / 1000],
                    [SILENCE, 0.6 + i / 1000, 1.0]]}
        for g, n in groups.items() for i in range(n)
    ]  # fmt: skip
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "run"
    run.mkdir()
    (run / "corpus_path.txt").write_text(str(corpus) + "\n")
    return run


def test_real_training_prompts_are_exactly_those_evaluation_does_not_score(
    tmp_path: Path,
) -> None:
    from avatar_agent.train.pipeline import eval_items, real_train_utterances

    run = _eval_corpus(tmp_path, {"espeak": 50, "human": 5, "ivr": 55})
    corpus = Path((run / "corpus_path.txt").read_text().strip())
    for seed in (0, 3):
        scored = {round(it.phones[0].end, 3) for it in eval_items(run, seed=seed)
                  if it.group == "ivr"}  # fmt: skip
        trained = real_train_utterances(corpus, seed)
        assert {u.engine for u in trained} == {"ivr"}  # synthetic and human voices never
        ends = {round(u.phones[0].end, 3) for u in trained}
        assert len(scored) == 40 and len(ends) == 15
        assert not scored & ends  # no evaluation prompt is trained on
        assert scored | ends == {round(0.5 + i / 1000, 3) for i in range(55)}


def test_real_clips_join_the_training_clips_and_are_built_once(tmp_path: Path) -> None:
    import numpy as np

    from avatar_agent.train.config import CONFIGS, TrainConfig
    from avatar_agent.train.data import build_clips, load_clips, save_clips
    from avatar_agent.train.pipeline import _train_clips, real_train_utterances, stage_data

    run = _eval_corpus(tmp_path, {"ivr": 43})
    corpus = Path((run / "corpus_path.txt").read_text().strip())
    synthetic = build_clips(real_train_utterances(corpus)[:2], copies=1, seed=5, jobs=1,
                            progress=False)  # fmt: skip
    save_clips(synthetic, run / "clips_train.npz")
    (run / "data.json").write_text(json.dumps({"clips": 2}) + "\n")
    cfg = TrainConfig.from_dict(
        {**CONFIGS["tiny"].to_dict(), "engines": ["espeak", "ivr"], "real_copies": 2}
    )
    out = stage_data(run, cfg, corpus=corpus, jobs=1, progress=False)
    assert out["reused"] and out["real"]["utterances"] == 3 and out["real"]["clips"] == 6
    real = load_clips(run / "clips_real.npz")
    clips = _train_clips(run, cfg)
    assert len(clips) == 2 + 6
    assert all(np.array_equal(a.motion, b.motion) for a, b in zip(clips[2:], real, strict=True))
    stamp = (run / "clips_real.npz").stat().st_mtime_ns
    assert stage_data(run, cfg, corpus=corpus, jobs=1, progress=False)["real"] == out["real"]
    assert (run / "clips_real.npz").stat().st_mtime_ns == stamp  # reused, not rebuilt
    plain = TrainConfig.from_dict({**cfg.to_dict(), "real_copies": 0})
    assert len(_train_clips(run, plain)) == 2  # off: the real clips are not used
