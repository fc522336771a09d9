"""Closures against open vowels shut: how far a post-hoc closing rule moves the trade-off.

The student's lips reach contact (opening ≤ 0.05) on 83–88 % of held-out /p b m/; most misses
are near misses (``scripts/closure_misses.py``). Two rules that close more of them, applied to the
int8 model's streamed output (held-out set of the run):

- a dead zone: ``mouthClose += min(opening, d)``, so openings up to ``d`` become contact;
- a contact head: a small classifier (two convolutions, 64 channels) on the frozen student's
  audio features, trained with binary cross-entropy to tell frames whose target shows the
  lips at contact, on speaking frames of the run's training windows; where its probability
  exceeds ``tau`` the lips close.

Each row gives r, closures, rest, open shut (open-vowel frames with the lips closed, the
cost) and jitter, pooled and on the human recordings. The head needs the run's ``student/``
and ``motion.int8.onnx``; ``--model`` scores another int8 file with the dead zone only.
Writes ``<run>/contact.json`` (the card's check line; ``contact-embedded.json`` or
``contact-<file>.json`` with ``--model``).

    .venv/bin/python scripts/contact_check.py --run out/fresh --head-steps 2000
    .venv/bin/python scripts/contact_check.py --run out/fresh --model EMBEDDED --head-steps 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avatar_agent.generator.conditions import STATES
from avatar_agent.generator.driver import drive_track
from avatar_agent.generator.learned import LearnedMotionDriver
from avatar_agent.generator.onnx_model import OnnxMotionModel, find_motion_model
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.loops import load_model
from avatar_agent.train.metrics import CLOSED, track_metrics
from avatar_agent.train.pipeline import _sampler, _train_clips, eval_items, load_or_create_config

_J, _C = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
_SPEAKING = STATES.index("speaking")


class ContactHead(nn.Module):
    """Per-frame logit that the lips are at contact, from ``(B, A, L)`` audio features."""

    def __init__(self, audio_hidden: int, hidden: int = 64) -> None:
        """Two 3-tap convolutions (dilations 1, 2) and a 1x1 output."""
        super().__init__()
        self.c1 = nn.Conv1d(audio_hidden, hidden, 3, padding=1)
        self.c2 = nn.Conv1d(hidden, hidden, 3, padding=2, dilation=2)
        self.out = nn.Conv1d(hidden, 1, 1)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """``(B, A, L)`` → ``(B, L)`` logits."""
        h = F.gelu(self.c1(a))
        h = h + F.gelu(self.c2(h))
        return self.out(h)[:, 0]


def train_head(run: Path, student, steps: int, seed: int) -> ContactHead:  # noqa: ANN001
    """Fit the head on the run's training windows (speaking frames to generate)."""
    cfg = load_or_create_config(run, None)
    sampler = _sampler(cfg, _train_clips(run, cfg), seed_offset=11, augment=False)
    torch.manual_seed(seed)
    head = ContactHead(student.config.audio_hidden)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=1e-4)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * step / steps))
        b = sampler.sample(128)
        with torch.no_grad():
            a = student.encode_audio(student.normalize_mel(torch.from_numpy(b.mel)))
        motion = torch.from_numpy(b.motion)
        y = ((motion[..., _J] - motion[..., _C]) <= CLOSED).float()
        m = torch.from_numpy(b.gen).float() * torch.from_numpy(b.state[..., _SPEAKING])
        bce = F.binary_cross_entropy_with_logits(head(a), y, reduction="none")
        loss = (bce * m).sum() / m.sum().clamp(min=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return head.eval()


class _Recorder:
    """The ONNX model behind the driver's ``run``, recording the head's logits per frame."""

    def __init__(self, model: OnnxMotionModel, student, head: ContactHead | None) -> None:  # noqa: ANN001
        self.model, self.info = model, model.info
        self.student, self.head = student, head
        self.logits: list[np.ndarray] = []

    def run(self, context, noise, mel, role, state, expression) -> np.ndarray:  # noqa: ANN001
        y = self.model.run(context, noise, mel, role, state, expression)
        if self.head is not None:
            with torch.no_grad():
                s = self.student
                lg = self.head(s.encode_audio(s.normalize_mel(torch.from_numpy(mel))))[0]
            c, n = context.shape[1], noise.shape[1]
            self.logits.append(lg.numpy()[c : c + n])
        return y


def _row(tracks: list[np.ndarray], items: list, human: list[int]) -> dict:
    m = track_metrics(tracks, [it.phones for it in items])
    h = track_metrics([tracks[i] for i in human], [items[i].phones for i in human])
    keys = ("r", "closure", "rest", "open_shut", "jitter")
    return {k: m[k] for k in keys} | {f"human_{k}": h[k] for k in keys}


def main() -> None:
    """Print the trade-off rows and write them to ``<run>/contact.json``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--model", default=None, help="int8 file (default: the run's); EMBEDDED")
    ap.add_argument("--head-steps", type=int, default=2000, help="0: dead zone only")
    ap.add_argument("--deadzones", type=float, nargs="+", default=[0.02, 0.04, 0.06, 0.08, 0.1])
    ap.add_argument("--taus", type=float, nargs="+", default=[0.8, 0.6, 0.5, 0.4, 0.3])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.model and a.head_steps > 0:
        ap.error("the head reads the run's own student: with --model add --head-steps 0")
    torch.set_num_threads(a.threads)
    run = Path(a.run)
    path = (
        find_motion_model(None) if a.model == "EMBEDDED"
        else Path(a.model) if a.model else run / "motion.int8.onnx"
    )  # fmt: skip
    student = load_model(run / "student") if a.head_steps > 0 else None
    head = train_head(run, student, a.head_steps, seed=0) if student is not None else None
    items = eval_items(run)
    human = [i for i, it in enumerate(items) if it.group == "human"]
    rec = _Recorder(OnnxMotionModel(path), student, head)
    driver = LearnedMotionDriver(rec, fps=25.0)
    tracks, logits = [], []
    for it in items:
        rec.logits = []
        tr = drive_track(driver, it.samples16k, chunk=8).values.copy()
        tracks.append(tr)
        if head is not None:
            logits.append(np.concatenate(rec.logits)[: len(tr)])
    rows = {"as is": _row(tracks, items, human)}
    for d in a.deadzones:
        out = []
        for t in tracks:
            t = t.copy()
            t[:, _C] += np.clip(t[:, _J] - t[:, _C], 0.0, d)
            out.append(t)
        rows[f"dead zone {d:g}"] = _row(out, items, human)
    for tau in a.taus if head is not None else []:
        out = []
        for t, lg in zip(tracks, logits, strict=True):
            t = t.copy()
            shut = 1.0 / (1.0 + np.exp(-lg)) > tau
            t[shut, _C] += np.maximum(t[shut, _J] - t[shut, _C], 0.0)
            out.append(t)
        rows[f"contact head tau {tau:g}"] = _row(out, items, human)
    print(f"{path} on {len(items)} held-out utterances (human recordings: {len(human)})")
    print("| rule | r | closures | rest | open shut | jitter | human r / closures / open shut |")
    print("|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        print(
            f"| {name} | {m['r']:.3f} | {100 * m['closure']:.1f} % | {100 * m['rest']:.1f} % | "
            f"{100 * m['open_shut']:.1f} % | {m['jitter']:.4f} | {m['human_r']:.3f} / "
            f"{100 * m['human_closure']:.1f} % / {100 * m['human_open_shut']:.1f} % |"
        )
    report = {"model": str(path), "head_steps": a.head_steps, "rows": rows}
    tag = "embedded" if a.model == "EMBEDDED" else path.name.split(".")[0]
    name = "contact.json" if a.model is None else f"contact-{tag}.json"
    (run / name).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
