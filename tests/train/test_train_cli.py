"""``avatar-agent train`` end to end on the tiny preset: corpus → … → install into a copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from avatar_agent.cli import main  # noqa: E402
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
