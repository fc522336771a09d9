"""Lip-sync evaluation on held-out speech with exact phone timings.

Every driver runs through the same streaming path the engine uses (chunks of 8 frames with
look-ahead, :func:`~avatar_agent.generator.driver.drive_track`). Metrics, per voice group
and overall:

- ``r``: Pearson correlation of the predicted lip opening (``jawOpen - mouthClose``) with the
  phoneme-derived openness (:func:`~avatar_agent.train.targets.visemes.lip_openness`) at the
  best lag within ±200 ms, pooled over utterances; ``lag_ms`` is that lag (positive: the
  prediction is late).
- ``closure``: share of /p b m/ phones (≥ 40 ms) with the lips closed (opening ≤ 0.05) on
  at least one frame overlapping the phone (±20 ms).
- ``rest``: share of silence frames more than 150 ms from any speech phone where the mouth is
  at rest (opening ≤ 0.05 and ``jawOpen`` ≤ 0.1).
- ``jitter``: mean absolute second difference of the opening per frame on speech frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from avatar_agent.generator.driver import MotionDriver, drive_track
from avatar_agent.generator.learned import LearnedMotionDriver
from avatar_agent.generator.onnx_model import MotionModelInfo
from avatar_agent.motion import PARAM_INDEX
from avatar_agent.train.diffusion import make_schedulers, student_x0
from avatar_agent.train.model import MotionDenoiser
from avatar_agent.train.phones import BILABIAL, SILENCE, Phone
from avatar_agent.train.targets.visemes import lip_openness

__all__ = [
    "CLOSED",
    "EvalItem",
    "TorchModel",
    "lipsync_metrics",
    "evaluate_driver",
    "torch_driver",
]

CLOSED = 0.05
"""Lip opening at or below which the lips count as closed."""

FPS = 25.0
_JAW, _CLOSE = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]
_MAX_LAG = 5  # frames (200 ms)


@dataclass
class EvalItem:
    """One held-out utterance.

    Attributes:
        group: Voice group name (e.g. ``espeak-heldout``, ``festival-kal``, ``piper``,
            ``human``).
        samples16k: Audio.
        phones: Exact phone timings.
    """

    group: str
    samples16k: np.ndarray
    phones: Sequence[Phone]


class TorchModel:
    """A torch denoiser behind the ONNX model's ``run`` interface (teacher or student)."""

    def __init__(
        self,
        model: MotionDenoiser,
        info: MotionModelInfo,
        *,
        steps: int = 1,
        guidance: float = 1.0,
        student: bool = True,
    ) -> None:
        """Wrap a model.

        Args:
            model: The denoiser.
            info: Window geometry.
            steps: DDIM steps (teacher); the student always takes one.
            guidance: Classifier-free guidance scale (teacher).
            student: Use the consistency parametrisation at the largest timestep.
        """
        self.model = model.eval()
        self.info = info
        self.steps, self.guidance, self.student = steps, guidance, student
        _, self.ddim, self.lcm = make_schedulers()

    @torch.no_grad()
    def run(self, context, noise, mel, role, state, expression) -> np.ndarray:  # noqa: ANN001
        """Generate like :meth:`OnnxMotionModel.run`."""
        m = self.model
        a = self.info.lookahead
        ctx = m.normalize_motion(torch.from_numpy(context))
        z = torch.from_numpy(noise)
        c, n = ctx.shape[1], z.shape[1]

        class _TB:  # the fields guided_x0/student_x0 read
            pass

        tb = _TB()
        tb.role = torch.from_numpy(role)
        tb.mel = m.normalize_mel(torch.from_numpy(mel))
        tb.state = torch.from_numpy(state)
        tb.expression = torch.from_numpy(expression)
        tb.ctx_mask = tb.role[..., 0:1]
        tb.gen_mask = tb.role[..., 1:2]
        full = torch.zeros(1, c + n + a, z.shape[2])
        full[:, :c] = ctx
        tb.x0 = full

        def pad(x: torch.Tensor) -> torch.Tensor:
            out = torch.zeros_like(full)
            out[:, c : c + n] = x
            return out

        if self.student:
            t = torch.full((1,), 999, dtype=torch.long)
            x0 = student_x0(m, self.lcm, tb, pad(z), t)
        else:
            from avatar_agent.train.diffusion import guided_x0

            self.ddim.set_timesteps(self.steps)
            x = pad(z)
            for t in self.ddim.timesteps:
                tt = torch.full((1,), int(t), dtype=torch.long)
                x0 = guided_x0(m, tb, x, tt, self.guidance)
                x = pad(self.ddim.step(x0, int(t), x).prev_sample[:, c : c + n])
        return m.denormalize_motion(x0[:, c : c + n]).numpy()


def torch_driver(model: TorchModel, seed: int = 0) -> LearnedMotionDriver:
    """A streaming driver over a :class:`TorchModel` (same window logic as the ONNX one)."""
    return LearnedMotionDriver(model, fps=FPS, seed=seed)  # type: ignore[arg-type]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def lipsync_metrics(
    openings: Sequence[np.ndarray],
    jaws: Sequence[np.ndarray],
    phones: Sequence[Sequence[Phone]],
) -> dict[str, float]:
    """Lip-sync metrics of predicted openings against exact phone timings.

    Args:
        openings: Per utterance, the predicted ``jawOpen - mouthClose`` at 25 fps.
        jaws: Per utterance, the predicted ``jawOpen``.
        phones: Per utterance, the phones.

    Returns:
        ``r``, ``lag_ms``, ``closure``, ``rest``, ``jitter`` and counts ``n_closures``,
        ``n_rest_frames``, ``n_frames``.
    """
    refs = [lip_openness(p, len(o), FPS) for o, p in zip(openings, phones, strict=True)]
    best, best_lag = -2.0, 0
    for lag in range(-_MAX_LAG, _MAX_LAG + 1):
        xs, ys = [], []
        for o, r in zip(openings, refs, strict=True):
            if lag >= 0:
                xs.append(o[lag:])
                ys.append(r[: len(r) - lag])
            else:
                xs.append(o[: len(o) + lag])
                ys.append(r[-lag:])
        c = _corr(np.concatenate(xs), np.concatenate(ys))
        if c > best:
            best, best_lag = c, lag
    n_cl = n_closed = 0
    n_rest = n_at_rest = 0
    jit, n_speech = 0.0, 0
    for o, j, ph in zip(openings, jaws, phones, strict=True):
        t = (np.arange(len(o)) + 0.5) / FPS
        lo_t, hi_t = np.arange(len(o)) / FPS, (np.arange(len(o)) + 1) / FPS
        speech = [p for p in ph if p.symbol != SILENCE]
        for p in speech:
            if p.symbol in BILABIAL and p.end - p.start >= 0.04:
                m = (hi_t > p.start - 0.02) & (lo_t < p.end + 0.02)
                if m.any():
                    n_cl += 1
                    n_closed += int(o[m].min() <= CLOSED)
        far = np.ones(len(o), bool)
        for p in speech:
            far &= ~((t > p.start - 0.15) & (t < p.end + 0.15))
        n_rest += int(far.sum())
        n_at_rest += int(((o <= CLOSED) & (j <= 0.1) & far).sum())
        inside = ~far
        if len(o) >= 3:
            d2 = np.abs(o[2:] - 2 * o[1:-1] + o[:-2])
            jit += float(d2[inside[1:-1]].sum())
            n_speech += int(inside[1:-1].sum())
    return {
        "r": best,
        "lag_ms": best_lag * 1000.0 / FPS,
        "closure": n_closed / n_cl if n_cl else float("nan"),
        "rest": n_at_rest / n_rest if n_rest else float("nan"),
        "jitter": jit / n_speech if n_speech else float("nan"),
        "n_closures": float(n_cl),
        "n_rest_frames": float(n_rest),
        "n_frames": float(sum(len(o) for o in openings)),
    }


def evaluate_driver(
    driver: MotionDriver, items: Sequence[EvalItem], *, chunk: int = 8
) -> dict[str, dict[str, float]]:
    """Run a driver over evaluation items and compute metrics per group and ``all``.

    Args:
        driver: A streaming driver at 25 fps.
        items: Held-out utterances.
        chunk: Frames per call.

    Returns:
        ``{group: metrics}`` including ``"all"``.
    """
    per: dict[str, tuple[list, list, list]] = {}
    for it in items:
        track = drive_track(driver, it.samples16k, chunk=chunk).values
        o = track[:, _JAW] - track[:, _CLOSE]
        for g in (it.group, "all"):
            lists = per.setdefault(g, ([], [], []))
            lists[0].append(o)
            lists[1].append(track[:, _JAW])
            lists[2].append(it.phones)
    return {g: lipsync_metrics(*v) for g, v in per.items()}
