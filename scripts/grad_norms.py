"""Measure the teacher's gradient norms per loss term: is the global clip at 1.0 active?

The teacher's step clips the gradient of the summed loss (denoising + ``whisper_weight`` x
Whisper term) to norm 1.0. Clipping each term on its own only differs from that where the
clip acts. This trains a short teacher from scratch on the run's clips, with the run's
config, and at every step takes the two terms' gradients apart (two backward passes), then
logs the norm of each and of their sum. It repeats the measurement (no update) on the run's
finished teacher. Writes ``<run>/grad_norms.json`` and prints medians.

    .venv/bin/python scripts/grad_norms.py --run out/fresh --steps 600
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from avatar_agent.train.diffusion import make_schedulers
from avatar_agent.train.loops import _lr, _WhisperTerm, denoise_step, new_model
from avatar_agent.train.pipeline import _sampler, _stats, _train_clips, load_or_create_config


def _norm(grads: tuple) -> float:
    return float(torch.sqrt(sum((g.detach() ** 2).sum() for g in grads if g is not None)))


def measure(cfg, model, whisper, sampler, gen, steps, *, train: bool) -> list[dict]:  # noqa: ANN001
    """Per step: norms of the denoising, weighted Whisper and summed gradients."""
    ddpm, _, _ = make_schedulers()
    params = list(model.parameters()) + list(whisper.head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.teacher_lr, weight_decay=1e-4) if train else None
    rows = []
    for step in range(steps):
        if opt is not None:
            for g in opt.param_groups:
                g["lr"] = _lr(step, cfg.teacher_steps, cfg.teacher_lr)
        batch = sampler.sample(cfg.batch)
        l_d, audio, _ = denoise_step(model, batch, cfg, gen, ddpm)
        l_w = cfg.whisper_weight * whisper.loss(audio, batch)
        g_d = torch.autograd.grad(l_d, params, retain_graph=True, allow_unused=True)
        g_w = torch.autograd.grad(l_w, params, allow_unused=True)
        g_s = tuple(
            None if a is None and b is None else (0 if a is None else a) + (0 if b is None else b)
            for a, b in zip(g_d, g_w, strict=True)
        )
        rows.append({"denoise": _norm(g_d), "whisper": _norm(g_w), "sum": _norm(g_s)})
        if opt is not None:
            for p, g in zip(params, g_s, strict=True):
                p.grad = None if g is None else g.detach().clone()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
    return rows


def _summary(rows: list[dict]) -> dict:
    s = np.array([r["sum"] for r in rows])
    return {
        "steps": len(rows),
        "median_denoise": float(np.median([r["denoise"] for r in rows])),
        "median_whisper": float(np.median([r["whisper"] for r in rows])),
        "median_sum": float(np.median(s)),
        "share_clipped": float((s > 1.0).mean()),
    }


def main() -> None:
    """Print the medians early in training and on the finished teacher."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--steps", type=int, default=600, help="teacher steps from scratch")
    ap.add_argument("--final-batches", type=int, default=50)
    a = ap.parse_args()
    run = Path(a.run)
    cfg = load_or_create_config(run, None)
    if cfg.whisper_weight <= 0:
        raise SystemExit(f"{run}: whisper_weight is 0; there is one loss term only")
    torch.set_num_threads(cfg.threads)
    sampler = _sampler(cfg, _train_clips(run, cfg, whisper=True), seed_offset=0)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    model = new_model(cfg, _stats(run))
    whisper = _WhisperTerm(cfg, sampler)
    model.train()
    early = measure(cfg, model, whisper, sampler, gen, a.steps, train=True)
    out = {"whisper_weight": cfg.whisper_weight, "early": early}
    ckpt = torch.load(run / "teacher.pt", weights_only=False)
    model.load_state_dict(ckpt["model"])
    whisper.load(ckpt)
    final = measure(cfg, model, whisper, sampler, gen, a.final_batches, train=False)
    out["final"] = final
    out["summary"] = {
        "first_100": _summary(early[:100]),
        "rest": _summary(early[100:]),
        "finished_teacher": _summary(final),
    }
    (run / "grad_norms.json").write_text(json.dumps(out, indent=1) + "\n")
    for k, v in out["summary"].items():
        print(
            f"{k}: {v['steps']} steps, median |g| denoise {v['median_denoise']:.3f}, "
            f"Whisper (x{cfg.whisper_weight:g}) {v['median_whisper']:.3f}, sum "
            f"{v['median_sum']:.3f}; clipped on {100 * v['share_clipped']:.0f} % of steps"
        )


if __name__ == "__main__":
    main()
