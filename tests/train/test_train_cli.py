"""``avatar-agent train`` end to end on the tiny preset: corpus → … → install into a copy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from avatar_agent.cli import main  # noqa: E402
from avatar_agent.train import pipeline  # noqa: E402
from avatar_agent.train.adapt import AdaptOptions, adapt_voice  # noqa: E402
from avatar_agent.train.card import write_card  # noqa: E402
from avatar_agent.train.corpus import align, espeak  # noqa: E402

from .voice_folder import SENTENCES, write_voice_folder  # noqa: E402

needs_espeak = pytest.mark.skipif(not espeak.available(), reason="libespeak-ng missing")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("tiny") / "run"
    args = ["train", "all", "--run", str(run), "--config", "tiny", "--quiet", "--jobs", "1"]
    assert main(args) == 0
    return run


@needs_espeak
def test_train_all_tiny(tiny_run: Path, tmp_path: Path) -> None:
    run = tiny_run
    for name in ("config.json", "clips_train.npz", "teacher.pt", "student.pt", "motion.onnx",
                 "motion.int8.onnx", "metrics.json", "eval.md", "loss_teacher.png",
                 "loss_distill.png", "timings.json"):  # fmt: skip
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert any(k.startswith("student int8") for k in metrics)
    assert any(k.startswith("teacher") for k in metrics)
    assert "loudness baseline" in metrics
    assert "espeak" in metrics["loudness baseline"]  # the held-out group was evaluated
    # the backbone's input projection stays in float in the int8 model, the rest is int8
    import onnx

    from avatar_agent.train.export import FLOAT_NODES

    graph = onnx.load(str(run / "motion.int8.onnx")).graph
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type in ("Conv", "MatMul", "Gemm")]
    kept = [n for n in convs if n.name.endswith(FLOAT_NODES)]
    assert len(kept) == 1 and made_by.get(kept[0].input[0]) != "DequantizeLinear"
    assert all(made_by.get(n.input[0]) == "DequantizeLinear" for n in convs if n not in kept)
    # a second run resumes: the data stage reuses the clips, training stages are complete
    assert main(["train", "data", "--run", str(run), "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["teacher_steps"] == 6

    # an ablation variant trains on the run's own clips, in its own folder
    cfg = pipeline.load_or_create_config(run, None)
    assert cfg.p_spec == 0.0  # the shipped default: the augmentation is an ablation
    sub = run / "specaug"
    with_aug = pipeline.train_variant(
        run, sub, dataclasses.replace(cfg, p_spec=0.8), new_teacher=True, progress=False
    )
    assert (sub / "clips_train.npz").is_symlink() and not (sub / "teacher").is_symlink()
    assert json.loads((sub / "config.json").read_text())["p_spec"] == 0.8
    assert any(k.startswith("student int8") for k in with_aug)
    # the card states the finding from specaug.json with its numbers
    row = next(v for k, v in with_aug.items() if k.startswith("student int8"))
    base = next(v for k, v in metrics.items() if k.startswith("student int8"))
    (run / "specaug.json").write_text(json.dumps({
        "p_spec": 0.8, "spec_warp": 0.15, "spec_masks": 2, "spec_mask_width": 8,
        "teacher_steps": 6, "distill_steps": 4, "seed": 0, "without": base, "with": row,
    }))  # fmt: skip
    card = write_card(run, tmp_path / "card.md").read_text()
    line = next(x for x in card.splitlines() if "log-mel augmentation (warp" in x)
    assert f"r {base['all']['r']:.3f} -> {row['all']['r']:.3f}" in line
    assert "lips are exactly at contact" in " ".join(card.split())  # the default
    # the check scripts' helper: the finished variant resumes, the comparison is written
    out = pipeline.compare_variant(
        run, sub, dataclasses.replace(cfg, p_spec=0.8), "specaug", fields=("p_spec", "seed")
    )
    saved = json.loads((run / "specaug.json").read_text())
    assert saved["p_spec"] == 0.8 and saved["seed"] == 0 and "data" not in saved
    assert saved["with"]["all"]["r"] == pytest.approx(row["all"]["r"], abs=1e-6)
    assert saved["without"]["all"]["r"] == pytest.approx(base["all"]["r"], abs=1e-6)
    assert out["with"]["all"]["closure"] == saved["with"]["all"]["closure"]
    # a reference model in place of the run's metrics: scored on the same held-out items
    ref = pipeline.compare_variant(
        run, sub, dataclasses.replace(cfg, p_spec=0.8), "specaug-ref",
        reference_model=str(run / "motion.int8.onnx"),
    )  # fmt: skip
    assert ref["reference_model"] == str(run / "motion.int8.onnx")
    assert ref["without"]["all"]["r"] == pytest.approx(base["all"]["r"], abs=1e-6)
    assert ref["without"]["all"]["closure"] == base["all"]["closure"]


def test_set_overrides_a_new_run_and_guards_an_existing_one(tmp_path: Path) -> None:
    from avatar_agent.train.cli import _overrides

    over = _overrides(["closure_overshoot=0.15", "dilations=[1,2]", 'engines=["espeak"]'])
    assert over == {"closure_overshoot": 0.15, "dilations": (1, 2), "engines": ("espeak",)}
    cfg = pipeline.load_or_create_config(tmp_path / "r", "tiny", over)
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg.closure_overshoot == saved["closure_overshoot"] == 0.15
    assert cfg.dilations == (1, 2)
    with pytest.raises(ValueError, match="was created with closure_overshoot=0.15"):
        pipeline.load_or_create_config(tmp_path / "r", "tiny", {"closure_overshoot": 0.0})
    with pytest.raises(ValueError, match="KEY=VALUE"):
        _overrides(["no_such_knob=1"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        _overrides(["closure_overshoot"])


@needs_espeak
@pytest.mark.skipif(not align.available(), reason="pocketsphinx missing (make install)")
def test_adapt_fine_tunes_a_run_to_a_voice_folder(tiny_run: Path, tmp_path: Path) -> None:
    from avatar_agent.train.data import load_clips

    voice_dir = write_voice_folder(tmp_path / "my-voice", stem="line")
    out = tmp_path / "adapted"
    args = ["train", "adapt", "--run", str(tiny_run), "--voice", str(voice_dir), "--out",
            str(out), "--copies", "2", "--teacher-steps", "2", "--distill-steps", "2",
            "--holdout", "0.3", "--quiet"]  # fmt: skip
    assert main(args) == 0

    res = json.loads((out / "adapted.json").read_text())
    assert res["voice"]["tuning"] + res["voice"]["held_out"] == len(SENTENCES)
    assert res["voice"]["held_out"] == 2 and not res["voice"]["failed"]
    for key in ("voice_before", "voice_after"):  # scored on the held-out recordings only
        assert res[key]["n_closures"] > 0 and -1.0 <= res[key]["r"] <= 1.0
    assert res["voice_before"]["n_frames"] == res["voice_after"]["n_frames"]
    assert "espeak" in res["heldout_after"] and "espeak" in res["heldout_before"]
    table = (out / "adapted.md").read_text()
    assert "before (base run, int8)" in table and "**all**" not in table  # one group: no pool

    base = json.loads((tiny_run / "config.json").read_text())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["init_from"] == str(tiny_run.resolve())
    assert cfg["voice"] == str((out / "voice").resolve())
    assert cfg["real_copies"] == 2 and cfg["teacher_steps"] == 2
    assert cfg["teacher_lr"] == pytest.approx(base["teacher_lr"] * AdaptOptions().lr_scale)
    assert (out / "clips_train.npz").is_symlink() and not (out / "teacher").is_symlink()
    data = json.loads((out / "data_real.json").read_text())
    assert data["engines"] == ["voice"] and data["voices"] == ["my-voice"]
    assert len(load_clips(out / "clips_real.npz")) == 2 * res["voice"]["tuning"]
    assert (out / "motion.int8.onnx").exists()
    card = " ".join(write_card(out, tmp_path / "card.md").read_text().split())
    assert f"{res['voice']['tuning']} recordings of the voice folder" in card
    assert "Fine-tuned: teacher and student started from the run" in card
    assert "Asterisk's English prompts (Allison" not in card  # not the ivr real-speech line
    assert "licence is their owner's to check" in card

    stamp = (out / "student.pt").stat().st_mtime_ns
    assert main(args) == 0  # finished: scored again, not trained again
    assert (out / "student.pt").stat().st_mtime_ns == stamp
    tiny = AdaptOptions(copies=2, teacher_steps=2, distill_steps=2, holdout=0.3)
    with pytest.raises(ValueError, match="other teacher_steps; use a new --out"):
        adapt_voice(
            tiny_run, voice_dir, out, dataclasses.replace(tiny, teacher_steps=3), progress=False
        )
    (voice_dir / "line0.txt").write_text("Another transcript altogether.\n")
    with pytest.raises(ValueError, match="other recordings or holdout; use a new --out"):
        adapt_voice(tiny_run, voice_dir, out, tiny, progress=False)
    with pytest.raises(FileNotFoundError, match="not a finished training run"):
        adapt_voice(tmp_path / "no-run", voice_dir, tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="other init_from, real_copies, teacher_steps"):
        adapt_voice(tiny_run, voice_dir, out, AdaptOptions(from_scratch=True), progress=False)
    scratch = tmp_path / "scratch"
    args = [*args[:6], "--out", str(scratch), "--holdout", "0.3", "--from-scratch",
            "--no-full-eval", "--quiet"]  # fmt: skip
    assert main(args) == 0
    cfg = json.loads((scratch / "config.json").read_text())
    assert cfg["init_from"] is None and cfg["voice"] == str((scratch / "voice").resolve())
    assert (cfg["teacher_steps"], cfg["teacher_lr"]) == (base["teacher_steps"], base["teacher_lr"])
    res = json.loads((scratch / "adapted.json").read_text())
    assert "heldout_after" not in res and res["voice_after"]["n_frames"] > 0
    assert main(["train", "adapt", "--run", str(tiny_run)]) == 2  # no --voice
    assert main([*args, "--set", "seed=1"]) == 2  # --set is for new runs
    assert main(["train", "eval", "--run", str(tiny_run), "--voice", str(voice_dir)]) == 2
