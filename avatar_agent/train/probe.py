"""The mouth probe: an auxiliary training head that reads the mouth shape from audio alone.

The denoiser's audio encoder only learns through the diffusion loss, where the mouth
target is mixed with noise and with every other condition. The probe gives it a direct
signal: a small head (a 3-tap convolution and a linear layer over the 25 fps audio
features, so ±1 frame of extra context) must predict the articulation channels of the
clean motion on speaking frames. The probe is used only while training the teacher; the
exported model never contains it, so it costs nothing at run time.

Only speaking frames count: while listening the audio is the partner's speech and the
mouth is at rest, which the audio cannot tell apart.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from avatar_agent.generator.conditions import STATE_INDEX
from avatar_agent.motion import PARAM_INDEX

__all__ = ["ARTICULATION", "AudioReadout", "MouthProbe", "probe_loss"]

ARTICULATION: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower",
    "mouthRollUpper", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthStretchLeft",
    "mouthStretchRight", "tongueOut",
)  # fmt: skip
"""Motion channels the visemes drive (smiles and frowns belong to the expression)."""

_IDX = torch.tensor([PARAM_INDEX[p] for p in ARTICULATION])
_SPEAKING = STATE_INDEX["speaking"]


class AudioReadout(nn.Module):
    """Audio features ``(B, A, L)`` → ``(B, L, out)``: a 3-tap convolution, GELU, a 1×1 output.

    Small on purpose: the denoiser's audio encoder has to carry the information, the head
    only reads it out (±1 frame of extra context). Training aid only, never exported.
    """

    def __init__(self, audio_hidden: int, out: int, hidden: int) -> None:
        """Create the head.

        Args:
            audio_hidden: Channels of the denoiser's audio features.
            out: Channels predicted per frame.
            hidden: Channels of the hidden layer.
        """
        super().__init__()
        self.conv = nn.Conv1d(audio_hidden, hidden, 3, padding=1)
        self.out = nn.Conv1d(hidden, out, 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Predict the (normalised) targets per frame."""
        return self.out(F.gelu(self.conv(audio))).transpose(1, 2)


class MouthProbe(AudioReadout):
    """Audio features ``(B, A, L)`` → articulation channels ``(B, L, len(ARTICULATION))``."""

    def __init__(self, audio_hidden: int, hidden: int = 96) -> None:
        """Create the head.

        Args:
            audio_hidden: Channels of the denoiser's audio features.
            hidden: Channels of the probe's hidden layer.
        """
        super().__init__(audio_hidden, len(ARTICULATION), hidden)


def probe_loss(
    probe: MouthProbe, audio: torch.Tensor, x0: torch.Tensor, state: torch.Tensor
) -> torch.Tensor:
    """Mean squared error of the probe on the speaking frames of a batch.

    Args:
        probe: The head.
        audio: ``(B, A, L)`` audio features (the denoiser's ``encode_audio``).
        x0: ``(B, L, P)`` clean normalised motion.
        state: ``(B, L, S)`` one-hot states.

    Returns:
        Scalar loss (0 with a gradient when no frame is speaking).
    """
    pred = probe(audio)
    target = x0[..., _IDX]
    m = state[..., _SPEAKING : _SPEAKING + 1]
    if float(m.sum()) == 0.0:
        return pred.sum() * 0.0
    return (((pred - target) ** 2) * m).sum() / (m.sum() * pred.shape[-1])
