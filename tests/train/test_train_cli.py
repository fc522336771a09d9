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
from avatar_agent.train.card import write_card  # noqa: E402
from avatar_agent.train.corpus import espeak  # noqa: E402


@pytest.mark.skipif(not espeak.available(), reason="libespeak-ng missing (make install)")
def test_train_all_tiny(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "all", "--run", str(run), "--config", "tiny", "--quiet", "--jobs", "1"]
    assert main(args) == 0
    for name in ("config.json", "clips_train.npz", "teacher.pt", "student.pt", "motion.onnx",
                 "motion.int8.onnx", "metrics.json", "eval.md", "loss_teacher.png",
                 "loss_distill.png", "timings.json"):  # fmt: skip
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert any(k.startswith("student int8") for k in metrics)
    assert any(k.startswith("teacher") for k in metrics)
    assert "loudness baseline" in metrics
    assert "espeak" in metrics["loudness baseline"]  # the held-out group was evaluated
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
