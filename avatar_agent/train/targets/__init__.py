"""Motion targets for training: phone timings (+ audio) → motion frames per state.

- :mod:`.visemes`: phones → mouth blendshapes with Cohen–Massaro coarticulation, and the
  lip-openness reference curve used by evaluation;
- :mod:`.prosody`: F0 and energy of 16 kHz audio (pure NumPy);
- :mod:`.nonverbal`: head, gaze, brows, blinks and listener smiles per state;
- :mod:`.compose`: :func:`make_targets` and :func:`make_targets_segments`.

See ``docs/motion-targets.md``.
"""

from avatar_agent.train.targets.compose import CROSSFADE_S, make_targets, make_targets_segments
from avatar_agent.train.targets.prosody import Prosody, prosody
from avatar_agent.train.targets.visemes import (
    MOUTH_PARAMS,
    closure_frames,
    lip_openness,
    mouth_targets,
    rest_frames,
)

__all__ = [
    "CROSSFADE_S",
    "MOUTH_PARAMS",
    "Prosody",
    "closure_frames",
    "lip_openness",
    "make_targets",
    "make_targets_segments",
    "mouth_targets",
    "prosody",
    "rest_frames",
]
