"""Speech corpus with exact phone timings for training the audio → motion model.

Engines (each in its own module) turn text into audio plus timed phones in the project's
phone set (:mod:`avatar_agent.train.phones`): espeak-ng (:mod:`.espeak`), festival
(:mod:`.festival`), Piper (:mod:`.piper`, evaluation only) and pocketsphinx forced alignment
(:mod:`.align`) for real recordings (:mod:`.human`). :mod:`.build` writes and loads the corpus;
:mod:`.augment` perturbs audio while keeping phone times right. See ``docs/corpus.md``.
"""

from __future__ import annotations

__all__: list[str] = []
