"""Diffusion pieces shared by teacher training, distillation, sampling and evaluation.

The noise schedule and solvers are diffusers' (:class:`DDPMScheduler` for training noise,
:class:`DDIMScheduler` for N-step teacher sampling and the distillation solver, the LCM
boundary-condition scalings of :class:`LCMScheduler` for the consistency student). The
network predicts the clean sample (``prediction_type="sample"``).
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, LCMScheduler

from avatar_agent.motion import PARAM_INDEX, PARAMS
from avatar_agent.train.model import MotionDenoiser
from avatar_agent.train.windows import Batch

__all__ = [
    "T_TRAIN",
    "TorchBatch",
    "make_schedulers",
    "to_torch",
    "compose",
    "contact_mask",
    "denoise_loss",
    "PARAM_WEIGHTS",
    "guided_x0",
    "ddim_sample",
    "student_x0",
    "boundary_scalings",
]

T_TRAIN = 1000
"""Diffusion timesteps."""

_SCHED_KW = dict(
    num_train_timesteps=T_TRAIN,
    beta_schedule="squaredcos_cap_v2",
    prediction_type="sample",
    clip_sample=False,
)
_JAW, _CLOSE = PARAM_INDEX["jawOpen"], PARAM_INDEX["mouthClose"]


def make_schedulers() -> tuple[DDPMScheduler, DDIMScheduler, LCMScheduler]:
    """The training scheduler, the DDIM solver and the LCM scheduler (same betas)."""
    ddpm = DDPMScheduler(**_SCHED_KW)
    ddim = DDIMScheduler(**_SCHED_KW, timestep_spacing="trailing", set_alpha_to_one=True)
    lcm = LCMScheduler(**_SCHED_KW, timestep_spacing="trailing")
    return ddpm, ddim, lcm


class TorchBatch:
    """A :class:`Batch` moved to torch, with normalised motion and mel."""

    def __init__(self, model: MotionDenoiser, b: Batch) -> None:
        """Convert and normalise.

        Args:
            model: Holds the normalisation statistics.
            b: Numpy batch.
        """
        with torch.no_grad():
            self.x0 = model.normalize_motion(torch.from_numpy(b.motion))
            self.mel = model.normalize_mel(torch.from_numpy(b.mel))
        self.role = torch.from_numpy(b.role)
        self.state = torch.from_numpy(b.state)
        self.expression = torch.from_numpy(b.expression)
        self.gen = torch.from_numpy(b.gen)
        self.ctx_mask = self.role[..., 0:1]
        self.gen_mask = self.role[..., 1:2]
        self.raw = torch.from_numpy(b.motion)


def to_torch(model: MotionDenoiser, b: Batch) -> TorchBatch:
    """Shortcut for :class:`TorchBatch`."""
    return TorchBatch(model, b)


def compose(tb: TorchBatch, x_gen: torch.Tensor, ctx: torch.Tensor | None = None) -> torch.Tensor:
    """Model input: context motion on context frames, ``x_gen`` on generated, zero elsewhere."""
    ctx = tb.x0 if ctx is None else ctx
    return ctx * tb.ctx_mask + x_gen * tb.gen_mask


PARAM_WEIGHTS = torch.tensor(
    [3.0 if p.startswith(("mouth", "jaw")) else 2.0 if p.startswith("eyeBlink") else 1.0
     for p in PARAMS]
)  # fmt: skip
"""Per-parameter loss weights: mouth and jaw count triple, blinks double."""


def contact_mask(raw: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` 1 where the motion shows lips at contact (mouthClose up, opening ~0).

    Args:
        raw: ``(B, L, P)`` motion in raw units (de-normalised).
    """
    opening = raw[..., _JAW] - raw[..., _CLOSE]
    return ((raw[..., _CLOSE] > 0.05) & (opening < 0.02)).float()


def denoise_loss(
    model: MotionDenoiser,
    tb: TorchBatch,
    pred: torch.Tensor,
    target: torch.Tensor,
    rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weighted MSE on generated frames plus the lip-opening error in raw units.

    The opening error counts five times on closure frames (``mouthClose`` up, lips shut).

    Args:
        model: For de-normalisation.
        tb: The batch.
        pred: ``(B, L, P)`` predicted normalised motion.
        target: ``(B, L, P)`` target normalised motion.
        rows: Optional ``(B,)`` 0/1 weights of the windows that count.

    Returns:
        Scalar loss.
    """
    w = PARAM_WEIGHTS
    m = tb.gen_mask if rows is None else tb.gen_mask * rows.view(-1, 1, 1)
    if float(m.sum()) == 0.0:
        return pred.sum() * 0.0
    denom = m.sum() * len(PARAMS)
    mse = (((pred - target) ** 2) * w * m).sum() / denom
    raw_p, raw_t = model.denormalize_motion(pred), model.denormalize_motion(target)
    open_p = raw_p[..., _JAW] - raw_p[..., _CLOSE]
    open_t = raw_t[..., _JAW] - raw_t[..., _CLOSE]
    # lip closures (/p b m/: mouthClose up, opening ~0) weigh five times: they are short and
    # the error that viewers notice first
    closed = contact_mask(raw_t)
    w_open = m[..., 0] * (1.0 + 4.0 * closed)
    open_err = (((open_p - open_t) / 0.15) ** 2 * w_open).sum() / m.sum()
    return mse + open_err


def guided_x0(
    model: MotionDenoiser,
    tb: TorchBatch,
    x_gen: torch.Tensor,
    t: torch.Tensor,
    guidance: float,
    ctx: torch.Tensor | None = None,
) -> torch.Tensor:
    """Classifier-free-guided clean prediction ``u + w (c - u)``."""
    x_in = compose(tb, x_gen, ctx)
    n = x_in.shape[0]
    if guidance == 1.0:
        return model(x_in, t, tb.role, tb.mel, tb.state, tb.expression, torch.ones(n))
    keep = torch.cat([torch.ones(n), torch.zeros(n)])
    out = model(
        torch.cat([x_in, x_in]),
        torch.cat([t, t]),
        torch.cat([tb.role, tb.role]),
        torch.cat([tb.mel, tb.mel]),
        torch.cat([tb.state, tb.state]),
        torch.cat([tb.expression, tb.expression]),
        keep,
    )
    cond, uncond = out[:n], out[n:]
    return uncond + guidance * (cond - uncond)


@torch.no_grad()
def ddim_sample(
    model: MotionDenoiser,
    ddim: DDIMScheduler,
    tb: TorchBatch,
    steps: int,
    guidance: float,
    generator: torch.Generator,
    ctx: torch.Tensor | None = None,
) -> torch.Tensor:
    """N-step DDIM sampling of the generated frames (normalised units, full window shape)."""
    ddim.set_timesteps(steps)
    x = torch.randn(tb.x0.shape, generator=generator)
    for t in ddim.timesteps:
        tt = torch.full((x.shape[0],), int(t), dtype=torch.long)
        x0 = guided_x0(model, tb, x, tt, guidance, ctx)
        x = ddim.step(x0, int(t), x).prev_sample
    return x0


def boundary_scalings(lcm: LCMScheduler, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LCM consistency boundary scalings ``c_skip(t)``, ``c_out(t)`` as ``(B, 1, 1)``."""
    c_skip, c_out = lcm.get_scalings_for_boundary_condition_discrete(t.float())
    return c_skip.view(-1, 1, 1), c_out.view(-1, 1, 1)


def student_x0(
    model: MotionDenoiser,
    lcm: LCMScheduler,
    tb: TorchBatch,
    x_gen: torch.Tensor,
    t: torch.Tensor,
    ctx: torch.Tensor | None = None,
) -> torch.Tensor:
    """Consistency function ``c_skip x + c_out F(x, t)`` (always with audio)."""
    c_skip, c_out = boundary_scalings(lcm, t)
    n = x_gen.shape[0]
    f = model(compose(tb, x_gen, ctx), t, tb.role, tb.mel, tb.state, tb.expression, torch.ones(n))
    return c_skip * x_gen + c_out * f


def lip_opening(motion: np.ndarray) -> np.ndarray:
    """``jawOpen - mouthClose`` of raw motion (any leading shape)."""
    return motion[..., _JAW] - motion[..., _CLOSE]
