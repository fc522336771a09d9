"""Lip-sync evaluation on held-out speech with exact phone timings.

Every driver runs through the same streaming path the engine uses (chunks of 8 frames with
look-ahead, :func:`~avatar_agent.generator.driver.drive_track`). The metrics, per voice
group and overall, are those of :func:`~avatar_agent.train.metrics.track_metrics` (lip sync
and lip shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from avatar_agent.generator.driver import MotionDriver, drive_track
from avatar_agent.generator.learned import LearnedMotionDriver
from avatar_agent.generator.onnx_model import MotionModelInfo
from avatar_agent.motion import lip_contact
from avatar_agent.train.diffusion import make_schedulers, student_x0
from avatar_agent.train.metrics import CLOSED, FPS, lipsync_metrics, track_metrics
from avatar_agent.train.model import MotionDenoiser
from avatar_agent.train.phones import Phone

__all__ = [
    "CLOSED",
    "EvalItem",
    "TorchModel",
    "lipsync_metrics",
    "evaluate_driver",
    "evaluate_targets",
    "metrics_by_group",
    "torch_driver",
]


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
    return metrics_by_group(items, [drive_track(driver, it.samples16k, chunk=chunk).values
                                    for it in items])  # fmt: skip


def evaluate_targets(items: Sequence[EvalItem]) -> dict[str, dict[str, float]]:
    """The metrics of the training targets themselves (the phone-timed reference row).

    The targets are what the model learns to produce from audio; their scores are the
    ceiling of a perfect model under these metrics (coarticulation keeps their ``r`` below 1).

    Args:
        items: Held-out utterances.

    Returns:
        ``{group: metrics}`` including ``"all"``.
    """
    from avatar_agent.train.targets import mouth_targets

    tracks = []
    for it in items:
        n = -(-len(it.samples16k) * int(FPS) // 16000)  # the frames drive_track produces
        tracks.append(lip_contact(mouth_targets(it.phones, n, FPS).values))  # as shown
    return metrics_by_group(items, tracks)


def metrics_by_group(
    items: Sequence[EvalItem], tracks: Sequence[np.ndarray]
) -> dict[str, dict[str, float]]:
    """:func:`~avatar_agent.train.metrics.track_metrics` per voice group and over ``all``.

    Args:
        items: Held-out utterances.
        tracks: Per item, its motion ``(T, P)`` at 25 fps.

    Returns:
        ``{group: metrics}`` including ``"all"``.
    """
    per: dict[str, tuple[list, list]] = {}
    for it, track in zip(items, tracks, strict=True):
        for g in (it.group, "all"):
            per.setdefault(g, ([], []))[0].append(track)
            per[g][1].append(it.phones)
    return {g: track_metrics(*v) for g, v in per.items()}
