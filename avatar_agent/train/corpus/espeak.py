"""espeak-ng synthesis with exact phone timings through ctypes on ``libespeak-ng``.

The library (GPL-3) is only called to make training data; nothing of it is linked into or
shipped with the model. ``espeak_Initialize`` with phoneme events makes the synth callback
report every phoneme (event type 7) with its first audio sample; a phone ends where the next
one starts. Library state is per process: :class:`Espeak` initialises it once, and the corpus
builder runs synthesis in worker processes.

Phoneme mnemonics of the English voices map to ARPAbet in :data:`ESPEAK_TO_ARPABET`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus.segments import UnknownPhoneError, to_phones
from avatar_agent.train.phones import SILENCE, Phone

__all__ = [
    "BASE_VOICES",
    "ESPEAK_TO_ARPABET",
    "EVAL_BASES",
    "EVAL_VARIANTS",
    "SYNTH_CALLBACK",
    "TRAIN_VARIANTS",
    "Espeak",
    "EspeakError",
    "EspeakEvent",
    "EspeakVoice",
    "available",
    "espeak_table_lookup",
]

_S = SILENCE

ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # pauses
    "_": (_S,), "_:": (_S,), "_!": (_S,), "_^_": (_S,), "_|": (_S,), "_!!": (_S,),
    # modifiers / transitions merged into the previous phone
    ";": (), "'": (), ",": (), "%": (), "=": (), "#": (), "-": (),
    # stops, affricates
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "t#": ("T",),  # flap (CMU keeps T: water = W AO T ER)
    "d#": ("D",), "t2": ("T",), "d2": ("D",), "t[": ("T",), "d[": ("D",), "t/": ("T",),
    "?": ("T",),  # glottal stop (button); CMU writes T
    "tS": ("CH",), "dZ": ("JH",), "k#": ("K",), "c": ("K",), "kh": ("K",), "ph": ("P",),
    # fricatives
    "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",),
    "S": ("SH",), "Z": ("ZH",), "h": ("HH",), "h#": ("HH",), "x": ("K",), "C": ("HH",),
    "z#": ("Z",), "s#": ("S",), "S;": ("SH",), "Z;": ("ZH",),
    # nasals, liquids, glides
    "m": ("M",), "n": ("N",), "N": ("NG",), "n-": ("N",), "m-": ("M",), "N-": ("NG",),
    "l": ("L",), "l/": ("L",), "l/2": ("L",), "l#": ("L",), "l-": ("L",), "L": ("L",),
    "r": ("R",), "r-": ("R",), "r/": ("R",), "r#": ("R",), "*": ("R",), "R": ("R",),
    "w": ("W",), "w#": ("W",), "hw": ("W",), "j": ("Y",),
    # monophthongs
    "a": ("AE",), "a#": ("AH",), "aa": ("AE",), "a2": ("AH",), "a:": ("AA",), "A": ("AA",),
    "A:": ("AA",), "A#": ("AA",), "0": ("AA",), "0#": ("AA",), "O": ("AO",), "O:": ("AO",),
    "O2": ("AO",), "O#": ("AO",), "o": ("OW",), "o:": ("OW",), "V": ("AH",), "V#": ("AH",),
    "@": ("AH",), "@2": ("AH",), "@5": ("AH",), "@-": ("AH",), "@#": ("AH",), "@/": ("AH",),
    "3": ("ER",), "3:": ("ER",), "3#": ("ER",), "@r": ("ER",), "IR": ("ER",), "VR": ("ER",),
    "ER": ("ER",), "e": ("EH",), "E": ("EH",), "E#": ("EH",), "E2": ("EH",), "e:": ("EY",),
    "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "I2#": ("IH",), "i": ("IY",), "i:": ("IY",),
    "i#": ("IY",), "U": ("UH",), "U#": ("UH",), "u": ("UW",), "u:": ("UW",), "u#": ("UW",),
    "u:#": ("UW",), "y": ("UW",), "Y": ("UH",),
    # syllabic consonants
    "@L": ("AH", "L"), "@l": ("AH", "L"), "@m": ("AH", "M"), "@n": ("AH", "N"),
    # diphthongs
    "eI": ("EY",), "eI#": ("EY",), "aI": ("AY",), "aI2": ("AY",), "aI#": ("AY",),
    "aU": ("AW",), "aU#": ("AW",), "OI": ("OY",), "oU": ("OW",), "oU#": ("OW",), "@U": ("OW",),
    "@U#": ("OW",), "o@": ("AO",), "e@": ("EH", "R"), "i@": ("IY", "AH"), "i@3": ("IY", "R"),
    "U@": ("UH", "R"), "A@": ("AA", "R"), "O@": ("AO", "R"), "aI@": ("AY", "ER"),
    "aI3": ("AY", "ER"), "aU@": ("AW", "ER"), "aI@3": ("AY", "ER"), "aU3": ("AW", "ER"),
    "eI@": ("EY", "ER"), "I@": ("IY", "ER"), "U3": ("UH", "R"), "O3": ("AO", "R"),
}  # fmt: skip
"""espeak-ng English phoneme mnemonic → ARPAbet phones (empty: merge into the previous)."""

_MODIFIERS = "#/;:[-0123456789"


def espeak_table_lookup(name: str) -> tuple[str, ...]:
    """Map one espeak phoneme mnemonic to ARPAbet, stripping unknown trailing modifiers.

    Args:
        name: Mnemonic from a phoneme event (e.g. ``"aI@"``, ``"t#"``, ``"@2"``).

    Returns:
        Phones of the project's set; empty for modifiers merged into the previous phone.

    Raises:
        UnknownPhoneError: No table entry even after stripping modifiers.
    """
    key = name
    while key:
        if key in ESPEAK_TO_ARPABET:
            return ESPEAK_TO_ARPABET[key]
        if key[-1] not in _MODIFIERS:
            break
        key = key[:-1]
    raise UnknownPhoneError(name)


BASE_VOICES: tuple[str, ...] = (
    "en-us", "en", "en-gb-x-rp", "en-us-nyc", "en-029", "en-gb-x-gbclan",
    "en-gb-scotland", "en-gb-x-gbcwmd",
)  # fmt: skip
"""English base voices (accents) of espeak-ng 1.51."""

EVAL_BASES: frozenset[str] = frozenset({"en-gb-scotland", "en-gb-x-gbcwmd"})
"""Accents held out for evaluation (with every variant)."""

TRAIN_VARIANTS: tuple[str, ...] = (
    "", "m1", "m2", "m4", "m5", "m6", "m8", "f1", "f2", "f3", "f5", "klatt", "klatt2",
    "klatt3", "Andy", "Annie", "belinda", "david", "edward", "john", "linda", "max",
    "Michael", "paul", "steph", "robert", "travis",
)  # fmt: skip
"""Voice variants (speaker timbres) used for training; ``""`` is the plain voice."""

EVAL_VARIANTS: tuple[str, ...] = ("m3", "m7", "f4", "klatt4", "Alicia", "benjamin", "iven")
"""Variants held out for evaluation (on every accent)."""


@dataclass(frozen=True)
class EspeakVoice:
    """One espeak-ng voice setting.

    Attributes:
        base: Base voice (accent) name, e.g. ``"en-us"``.
        variant: Variant (timbre) name or ``""``.
        rate: Speaking rate in words per minute (80..450).
        pitch: Base pitch 0..100 (50 default).
        pitch_range: Pitch range 0..100 (50 default).
    """

    base: str = "en-us"
    variant: str = ""
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50

    @property
    def name(self) -> str:
        """The espeak voice name, ``base+variant``."""
        return f"{self.base}+{self.variant}" if self.variant else self.base

    @property
    def speaker(self) -> str:
        """Speaker identity for splits (rate and pitch left out)."""
        return self.name

    @property
    def is_eval(self) -> bool:
        """Whether this voice is held out for evaluation."""
        return self.base in EVAL_BASES or self.variant in EVAL_VARIANTS


class EspeakError(RuntimeError):
    """libespeak-ng missing or a synthesis call failed."""


class _EventId(ctypes.Union):
    """``espeak_EVENT.id``: number, name pointer or 8 inline bytes (phoneme mnemonic)."""

    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class EspeakEvent(ctypes.Structure):
    """libespeak-ng's ``espeak_EVENT`` (as passed to the synthesis callback)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent)
)
"""``t_espeak_callback``: ``int cb(short *wav, int n, espeak_EVENT *events)``."""
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 1
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_PHONEME, _EV_SAMPLERATE = 0, 7, 8
_P_RATE, _P_VOLUME, _P_PITCH, _P_RANGE = 1, 2, 3, 4
_LIB_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")


@cache
def _find_library() -> str | None:
    for name in _LIB_NAMES:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    return ctypes.util.find_library("espeak-ng")


def available() -> bool:
    """Whether libespeak-ng can be loaded."""
    return _find_library() is not None


_DATA_DIRS = (
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data",
    "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
    "/usr/share/espeak-ng-data",
    "/usr/local/share/espeak-ng-data",
)


def _data_dir() -> Path | None:
    for d in _DATA_DIRS:
        if Path(d, "voices", "!v").is_dir():
            return Path(d)
    return None


def installed_variants() -> set[str]:
    """Names of the voice variants installed with espeak-ng-data (empty if unknown)."""
    d = _data_dir()
    return {p.name for p in (d / "voices" / "!v").iterdir()} if d else set()


class Espeak:
    """In-process espeak-ng synthesiser (one per process; the library state is global).

    Raises:
        EspeakError: The library cannot be loaded or initialised.
    """

    _instance_pid: int | None = None
    _sample_rate: int = 22050

    def __init__(self) -> None:
        name = _find_library()
        if name is None:
            raise EspeakError("libespeak-ng not found (apt-get install libespeak-ng1 espeak-ng)")
        self._lib = ctypes.CDLL(name)
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        if Espeak._instance_pid != os.getpid():
            rate = self._lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS
            )
            if rate <= 0:
                raise EspeakError(f"espeak_Initialize failed ({rate})")
            Espeak._sample_rate = int(rate)
        self.default_rate = Espeak._sample_rate
        self._pcm: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._rate = self.default_rate
        self._cb = SYNTH_CALLBACK(self._callback)  # keep a reference for the C side
        self._lib.espeak_SetSynthCallback(self._cb)
        Espeak._instance_pid = os.getpid()

    def _callback(self, wav, n, events) -> int:  # noqa: ANN001
        if wav and n > 0:
            self._pcm.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                self._events.append((ev.id.string.decode("ascii", "replace"), int(ev.sample)))
            elif ev.type == _EV_SAMPLERATE:
                self._rate = int(ev.id.number)
            i += 1
        return 0

    def phoneme_events(
        self, text: str, voice: EspeakVoice
    ) -> tuple[np.ndarray, int, list[tuple[str, int]]]:
        """Synthesise and return raw output.

        Args:
            text: UTF-8 text (plain, no SSML).
            voice: Voice setting.

        Returns:
            ``(int16 samples, sample_rate, [(mnemonic, first_sample), ...])``.

        Raises:
            EspeakError: Unknown voice or synthesis failure.
        """
        lib = self._lib
        if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise EspeakError(f"unknown espeak voice {voice.name!r}")
        lib.espeak_SetParameter(_P_RATE, int(voice.rate), 0)
        lib.espeak_SetParameter(_P_PITCH, int(voice.pitch), 0)
        lib.espeak_SetParameter(_P_RANGE, int(voice.pitch_range), 0)
        lib.espeak_SetParameter(_P_VOLUME, 100, 0)
        self._pcm, self._events, self._rate = [], [], self.default_rate
        lib.espeak_SetSynthCallback(self._cb)  # another instance may have taken the callback
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, 1, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise EspeakError(f"espeak_Synth failed ({err})")
        lib.espeak_Synchronize()
        pcm = np.concatenate(self._pcm) if self._pcm else np.zeros(0, np.int16)
        return pcm.astype(np.int16), self._rate, list(self._events)

    def synth(self, text: str, voice: EspeakVoice) -> tuple[np.ndarray, int, list[Phone]]:
        """Synthesise text with phone timings.

        Args:
            text: Text to speak.
            voice: Voice setting.

        Returns:
            ``(float32 mono samples in -1..1, sample_rate, phones)``; the phones cover the
            whole audio (silence at the head and tail).

        Raises:
            EspeakError: Synthesis failed or produced no audio.
            UnknownPhoneError: A phoneme without an entry in the table.
        """
        pcm, rate, events = self.phoneme_events(text, voice)
        if pcm.size == 0:
            raise EspeakError(f"no audio for {text!r}")
        n = pcm.size
        labels = []
        for k, (name, s0) in enumerate(events):
            s1 = events[k + 1][1] if k + 1 < len(events) else n
            labels.append((name, min(s0, n) / rate, min(max(s1, s0), n) / rate))
        table = {name: espeak_table_lookup(name) for name, _ in events}
        phones = to_phones(labels, table, n / rate)
        return (pcm.astype(np.float32) / 32768.0), rate, phones


_SYNTH: Espeak | None = None


def synth(text: str, voice: EspeakVoice) -> tuple[np.ndarray, int, list[Phone]]:
    """Synthesise with this process's shared :class:`Espeak` (created on first use).

    Args:
        text: Text to speak.
        voice: Voice setting.

    Returns:
        ``(float32 samples, sample_rate, phones)``, see :meth:`Espeak.synth`.
    """
    global _SYNTH
    if _SYNTH is None or Espeak._instance_pid != os.getpid():
        _SYNTH = Espeak()
    return _SYNTH.synth(text, voice)
