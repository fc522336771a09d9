"""Motion generators: 16 kHz mono audio in, :class:`~avatar_agent.motion.MotionTrack` out.

:class:`BaselineDriver` is the deterministic, signal-processing driver (loudness → mouth,
seeded blinks, head sway, nods). It works before any learned model exists and stays as the
baseline the learned generator must beat.
"""

from avatar_agent.generator.baseline import (
    SAMPLE_RATE,
    BaselineConfig,
    BaselineDriver,
    frame_bounds,
)

__all__ = ["SAMPLE_RATE", "BaselineConfig", "BaselineDriver", "frame_bounds"]
