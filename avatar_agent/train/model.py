"""The motion denoiser: a small temporal convolution network over a window of motion frames.

A window holds ``L = context + chunk + lookahead`` motion frames at 25 fps:

- ``context`` frames already generated (their clean motion is given; continuity),
- ``chunk`` frames to generate (noisy motion in, denoised motion out; 1..K),
- ``lookahead`` frames whose audio is known but whose motion is not generated yet.

Inputs per frame: the motion channel (clean / noisy / zero), a 3-way role one-hot, the state
one-hot, the expression vector, and the audio encoded from the frame's four 10 ms log-mel
frames (plus convolutional context). The diffusion timestep modulates every block (FiLM).
Audio can be dropped per example (a learned null feature) for classifier-free guidance.

The network predicts the clean sample (diffusers ``prediction_type="sample"``) in normalised
motion units; :class:`MotionDenoiser` holds the normalisation statistics as buffers so a
saved model is self-contained.
"""

from __future__ import annotations

import math

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn import functional as F  # noqa: N812

__all__ = ["MotionDenoiser", "MELS_PER_FRAME", "ROLE_CONTEXT", "ROLE_GENERATE", "ROLE_LOOKAHEAD"]

MELS_PER_FRAME = 4
"""10 ms log-mel frames per 40 ms motion frame (the model runs at 25 fps)."""

ROLE_CONTEXT, ROLE_GENERATE, ROLE_LOOKAHEAD = 0, 1, 2


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (float) diffusion timesteps, shape ``(B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :].to(t.device)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class _Block(nn.Module):
    """Residual block: norm → dilated conv → FiLM(timestep) → GELU → 1×1 conv."""

    def __init__(self, hidden: int, cond: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, hidden)
        self.conv = nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation)
        self.film = nn.Linear(cond, 2 * hidden)
        self.out = nn.Conv1d(hidden, hidden, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(c).unsqueeze(-1).chunk(2, dim=1)
        y = self.conv(self.norm(h)) * (1.0 + scale) + shift
        return h + self.out(F.gelu(y))


class MotionDenoiser(ModelMixin, ConfigMixin):
    """Denoiser ``x0 = f(x_t, t, audio, state, expression, context)`` over motion windows.

    Shapes: ``B`` windows of ``L`` motion frames, ``P`` motion parameters, ``M`` mel bins.
    """

    @register_to_config
    def __init__(
        self,
        n_params: int = 55,
        n_mels: int = 80,
        n_states: int = 4,
        n_expressions: int = 6,
        hidden: int = 128,
        audio_hidden: int = 96,
        cond_dim: int = 128,
        dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 4),
        audio_layers: int = 0,
    ) -> None:
        """Create the network (all sizes are saved in the model config).

        Args:
            n_params: Motion parameters per frame.
            n_mels: Log-mel bins.
            n_states: State labels.
            n_expressions: Expression vector length.
            hidden: Channels of the motion backbone.
            audio_hidden: Channels of the audio encoder.
            cond_dim: Size of the timestep embedding.
            dilations: One residual block per dilation.
            audio_layers: Residual 3-tap convolutions (dilations 1, 2, 1, 2 …) over the
                25 fps audio features after the stride-4 convolution (0: none).
        """
        super().__init__()
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))
        self.register_buffer("motion_mean", torch.zeros(n_params))
        self.register_buffer("motion_std", torch.ones(n_params))
        self.audio_in = nn.Conv1d(n_mels, audio_hidden, 5, padding=2)
        self.audio_mid = nn.Conv1d(audio_hidden, audio_hidden, 5, padding=2)
        self.audio_down = nn.Conv1d(audio_hidden, audio_hidden, MELS_PER_FRAME, MELS_PER_FRAME)
        self.audio_ctx = nn.ModuleList(
            nn.Conv1d(audio_hidden, audio_hidden, 3, padding=1 + i % 2, dilation=1 + i % 2)
            for i in range(audio_layers)
        )
        self.audio_null = nn.Parameter(torch.zeros(audio_hidden))
        n_in = n_params + 3 + n_states + n_expressions + audio_hidden
        self.inp = nn.Conv1d(n_in, hidden, 3, padding=1)
        self.t_mlp = nn.Sequential(
            nn.Linear(cond_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim)
        )
        self.blocks = nn.ModuleList(_Block(hidden, cond_dim, d) for d in dilations)
        self.norm_out = nn.GroupNorm(1, hidden)
        self.head = nn.Conv1d(hidden, n_params, 3, padding=1)

    def set_normalization(
        self,
        mel_mean: torch.Tensor,
        mel_std: torch.Tensor,
        motion_mean: torch.Tensor,
        motion_std: torch.Tensor,
    ) -> None:
        """Store feature and motion statistics (computed on the training data)."""
        self.mel_mean.copy_(mel_mean)
        self.mel_std.copy_(mel_std)
        self.motion_mean.copy_(motion_mean)
        self.motion_std.copy_(motion_std)

    def normalize_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Raw log-mel ``(B, 4L, M)`` → normalised."""
        return (mel - self.mel_mean) / self.mel_std

    def normalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        """Raw motion ``(..., P)`` → normalised units."""
        return (motion - self.motion_mean) / self.motion_std

    def denormalize_motion(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised units → raw motion."""
        return x * self.motion_std + self.motion_mean

    def audio_encoder_parameters(self) -> list[nn.Parameter]:
        """The weights :meth:`encode_audio` uses (log-mel → 25 fps audio features)."""
        mods = (self.audio_in, self.audio_mid, self.audio_down, self.audio_ctx)
        return [p for m in mods for p in m.parameters()]

    def encode_audio(self, mel_norm: torch.Tensor) -> torch.Tensor:
        """Normalised log-mel ``(B, 4L, M)`` → per-frame audio features ``(B, A, L)``."""
        a = F.gelu(self.audio_in(mel_norm.transpose(1, 2)))
        a = a + F.gelu(self.audio_mid(a))
        a = self.audio_down(a)
        for conv in self.audio_ctx:
            a = a + conv(F.gelu(a))
        return a

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        role: torch.Tensor,
        mel_norm: torch.Tensor,
        state: torch.Tensor,
        expression: torch.Tensor,
        audio_keep: torch.Tensor | None = None,
        audio: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the clean normalised motion of every frame of the window.

        Args:
            x: ``(B, L, P)`` normalised motion: clean on context frames, noisy on generated
                frames, zeros on look-ahead frames.
            t: ``(B,)`` diffusion timesteps (0..num_train_timesteps-1).
            role: ``(B, L, 3)`` one-hot frame roles (context, generate, look-ahead).
            mel_norm: ``(B, 4L, M)`` normalised log-mel.
            state: ``(B, L, S)`` one-hot state labels.
            expression: ``(B, L, E)`` expression vectors.
            audio_keep: ``(B,)`` 1 to use the audio, 0 for the null audio (guidance).
            audio: ``(B, A, L)`` audio features already computed by :meth:`encode_audio`
                (training reuses them for the mouth probe); default: computed here.

        Returns:
            ``(B, L, P)`` predicted clean normalised motion.
        """
        a = self.encode_audio(mel_norm) if audio is None else audio
        if audio_keep is not None:
            k = audio_keep.view(-1, 1, 1).to(a.dtype)
            a = a * k + self.audio_null.view(1, -1, 1) * (1.0 - k)
        h = torch.cat(
            [x.transpose(1, 2), role.transpose(1, 2), state.transpose(1, 2),
             expression.transpose(1, 2), a],
            dim=1,
        )  # fmt: skip
        h = self.inp(h)
        c = self.t_mlp(timestep_embedding(t, self.config.cond_dim))
        for block in self.blocks:
            h = block(h, c)
        return self.head(F.gelu(self.norm_out(h))).transpose(1, 2)
