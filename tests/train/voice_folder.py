"""A voice folder spoken by espeak-ng (NAME.wav + NAME.txt) for the `train adapt` tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avatar_agent.train.corpus import espeak
from avatar_agent.train.corpus.wavio import write_wav

SENTENCES = (
    "Thank you for calling, how can I help you today?",
    "Your package will arrive on Monday morning.",
    "Please hold while I move you to billing.",
    "I can book a table for five people at seven.",
    "The blue bus stops by the main square.",
    "My manager will approve the refund by Friday.",
    "We have two rooms with a view of the harbour.",
)
"""Sentences that pocketsphinx aligns on the ``en-us+f2`` voice."""

VOICE = espeak.EspeakVoice("en-us", "f2")


def write_voice_folder(folder: Path, texts: Sequence[str] = SENTENCES, stem: str = "s") -> Path:
    """Synthesise ``texts`` into ``folder/<stem><k>.wav`` with their ``.txt`` transcripts."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, text in enumerate(texts):
        x, rate, _ = espeak.synth(text, VOICE)
        write_wav(folder / f"{stem}{k}.wav", x, rate)
        (folder / f"{stem}{k}.txt").write_text(text + "\n")
    return folder
