"""Adversarial sync critic for distillation (OSA-LCM's discriminator idea on motion).

A small conditional critic scores ``(mouth motion, audio)`` windows, one logit per frame:
high for the data's mouth motion with its own audio, low for the one-step student's output
and for the data's motion paired with another window's audio (a SyncNet-style negative, so
the critic has to judge *sync*, not only realism). The student gets a hinge generator loss
``-D(student)`` on its one-step outputs. Enabled by ``TrainConfig.adv_weight > 0``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avatar_agent.motion import PARAMS

__all__ = ["MOUTH_COLUMNS", "SyncCritic", "critic_loss", "generator_loss"]

MOUTH_COLUMNS: tuple[int, ...] = tuple(
    i for i, p in enumerate(PARAMS) if p.startswith(("mouth", "jaw"))
)
"""Motion columns the critic sees (jaw and mouth blendshapes)."""


class SyncCritic(nn.Module):
    """Per-frame logits of ``(mouth motion, log-mel)`` windows.

    Args:
        n_mels: Mel bins of the input (4 mel rows per motion frame).
        hidden: Channels.
    """

    def __init__(self, n_mels: int = 80, hidden: int = 96) -> None:
        """Build the layers."""
        super().__init__()
        self.audio = nn.Conv1d(n_mels, hidden, kernel_size=4, stride=4)
        self.motion = nn.Conv1d(len(MOUTH_COLUMNS), hidden, kernel_size=1)
        self.body = nn.ModuleList(
            nn.Conv1d(2 * hidden if i == 0 else hidden, hidden, 3, padding=d, dilation=d)
            for i, d in enumerate((1, 2, 1))
        )
        self.out = nn.Conv1d(hidden, 1, kernel_size=1)

    def forward(self, motion_norm: torch.Tensor, mel_norm: torch.Tensor) -> torch.Tensor:
        """Score windows.

        Args:
            motion_norm: ``(B, L, P)`` normalised motion.
            mel_norm: ``(B, 4L, M)`` normalised log-mel.

        Returns:
            ``(B, L)`` logits.
        """
        m = self.motion(motion_norm[..., list(MOUTH_COLUMNS)].transpose(1, 2))
        a = self.audio(mel_norm.transpose(1, 2))
        h = torch.cat([m, a], dim=1)
        for conv in self.body:
            h = F.leaky_relu(conv(h), 0.2) + (h if h.shape[1] == conv.out_channels else 0.0)
        return self.out(h).squeeze(1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def critic_loss(
    critic: SyncCritic,
    real: torch.Tensor,
    fake: torch.Tensor,
    mel: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """The critic's hinge loss: data up, student output and mismatched audio down.

    Args:
        critic: The critic.
        real: ``(B, L, P)`` data windows (context + generated frames, normalised).
        fake: ``(B, L, P)`` the same windows with the student's generated frames (detached
            here).
        mel: ``(B, 4L, M)`` normalised log-mel of the windows.
        mask: ``(B, L)`` frames that count (generated frames of the rows used).

    Returns:
        Scalar loss.
    """
    shuffled = mel.roll(1, dims=0)  # another window's audio: out of sync
    return (
        _masked_mean(F.relu(1.0 - critic(real, mel)), mask)
        + 0.5 * _masked_mean(F.relu(1.0 + critic(fake.detach(), mel)), mask)
        + 0.5 * _masked_mean(F.relu(1.0 + critic(real, shuffled)), mask)
    )


def generator_loss(
    critic: SyncCritic, fake: torch.Tensor, mel: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The student's hinge generator loss ``-D(fake)`` (gradient flows into ``fake``)."""
    return -_masked_mean(critic(fake, mel), mask)
