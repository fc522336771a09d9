"""Regenerate avatar_agent/assets/demo.wav and demo.phonemes.json with espeak-ng.

espeak-ng (GPL-3.0-or-later) is only run, as a system library loaded through
ctypes, to make these two data files; it is not a dependency of avatar-agent.
On Debian 12 (espeak-ng 1.51+dfsg-10+deb12u2), from the repository root:

    apt-get update && apt-get install -y espeak-ng libespeak-ng1
    .venv/bin/python scripts/make_demo_audio.py

Each sentence is synthesized by its own espeak_Synth call (synchronous mode,
phoneme events on). Its leading/trailing digital silence is trimmed and the
sentences are joined with LEAD_S of silence before and after and PAUSE_S
between them, then the whole clip is scaled to a PEAK of full scale.

Phoneme timings are exact, not aligned after the fact: each PHONEME event
carries the sample index at which espeak-ng starts that phoneme (``sample``;
``audio_position`` is the same in whole ms). Names are IPA; the stress marks
(U+02C8, U+02CC) the events leave out are taken from espeak_TextToPhonemes for
the same sentence and put in front of their phoneme. "_" is silence: espeak's
own pauses (comma, phrase breaks) and the inserted lead-in, gaps and lead-out.
A phoneme that espeak gives no samples of (its start equals the next one's, as
for the /l/ of "else") is left out, so the list is contiguous with no empty
entries.

Output is deterministic (no randomness in espeak-ng's synthesis): two runs give
byte-identical files; the md5 is printed at the end.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import wave
from pathlib import Path

import numpy as np

from avatar_agent.train.corpus.espeak import SYNTH_CALLBACK

SENTENCES = (
    "Hi, I'm your assistant.",
    "Your order shipped this morning and should arrive by Friday.",
    "Is there anything else I can help with?",
)
VOICE = "en-us+m3"  # espeak-ng language "en-us" with the "m3" voice variant
RATE_WPM = 177  # the slowest whole rate that keeps demo.wav under 300 kB (see DEMO_AUDIO.md)
ESPEAK_VOLUME = 80  # espeak amplitude (its default 100 nearly clips); the peak is set by PEAK
PEAK = 0.8  # final peak, fraction of full scale
LEAD_S = 0.2
PAUSE_S = 0.15
SILENCE = "_"
STRESS = ("\u02c8", "\u02cc")  # IPA primary / secondary stress
ASSETS = Path(__file__).resolve().parents[1] / "avatar_agent" / "assets"

# speak_lib.h (espeak-ng 1.51)
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
POS_CHARACTER = 1
CHARS_UTF8 = 1
PARAM_RATE, PARAM_VOLUME = 1, 2
EVENT_LIST_TERMINATED, EVENT_PHONEME = 0, 7
PHONEMES_IPA = 0x02
PHONEME_SEPARATOR = ord("|")


class Espeak:
    """Minimal ctypes binding of libespeak-ng: synchronous synthesis with phoneme events."""

    def __init__(self, voice: str, rate_wpm: int, volume: int) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        lib = ctypes.CDLL(name)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [SYNTH_CALLBACK]
        u, p = ctypes.c_uint, ctypes.c_void_p
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, u, ctypes.c_int, u, u, p, p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        text_ptr = ctypes.POINTER(ctypes.c_char_p)
        lib.espeak_TextToPhonemes.argtypes = [text_ptr, ctypes.c_int, ctypes.c_int]
        flags = INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, flags)
        if self.sample_rate <= 0:
            raise SystemExit("espeak_Initialize failed (is libespeak-ng1 installed?)")
        self.version = lib.espeak_Info(None).decode()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SystemExit(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(PARAM_RATE, rate_wpm, 0)
        lib.espeak_SetParameter(PARAM_VOLUME, volume, 0)
        self._lib = lib
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = SYNTH_CALLBACK(self._on_synth)  # keep a reference while in use
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, n: int, events) -> int:  # (short *, int, espeak_EVENT *)
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_PHONEME:
                # id.string is char[8], NUL-terminated only when shorter than 8 bytes
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8")
                self._events.append((ev.sample, name))
            i += 1
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        return 0  # 0 = continue synthesis

    def synth(self, text: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 samples and (start sample, IPA name) phoneme events; "" names are pauses."""
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        err = self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8,
                                     None, None)  # fmt: skip
        if err != 0:
            raise SystemExit(f"espeak_Synth failed ({err})")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, self._events

    def stressed_phonemes(self, text: str) -> list[str]:
        """The sentence's IPA phonemes with stress marks, from espeak_TextToPhonemes."""
        mode = PHONEMES_IPA | (PHONEME_SEPARATOR << 8)
        ptr = ctypes.c_char_p(text.encode("utf-8"))
        out: list[str] = []
        while ptr.value:  # one clause per call; the pointer is advanced (NULL at the end)
            clause = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), CHARS_UTF8, mode)
            out += [p for p in clause.decode("utf-8").replace(" ", "|").split("|") if p]
        return out


def add_stress(names: list[str], stressed: list[str]) -> list[str]:
    """Prefix each non-pause event name with the stress marks TextToPhonemes gives it."""
    spoken = [i for i, n in enumerate(names) if n]
    bare = [p.lstrip("".join(STRESS)) for p in stressed]
    if [names[i] for i in spoken] != bare:
        raise SystemExit(f"phoneme events and espeak_TextToPhonemes disagree:\n"
                         f"{[names[i] for i in spoken]}\n{bare}")  # fmt: skip
    out = list(names)
    for i, p in zip(spoken, stressed, strict=True):
        out[i] = p
    return out


def sentence_segments(
    audio: np.ndarray, events: list[tuple[int, str]], stressed: list[str]
) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Trim digital silence off both ends; phoneme (name, start, end) in trimmed samples."""
    names = add_stress([n for _, n in events], stressed)
    starts = [s for s, _ in events]
    if starts != sorted(starts) or not starts or starts[-1] > len(audio):
        raise SystemExit("phoneme events out of order or past the audio")
    segs = [(SILENCE, 0, starts[0])]
    ends = [*starts[1:], len(audio)]
    segs += [(n or SILENCE, s, e) for n, s, e in zip(names, starts, ends, strict=True)]
    voiced = np.flatnonzero(audio)
    a, b = int(voiced[0]), int(voiced[-1]) + 1
    out = [(n, max(s, a) - a, min(e, b) - a) for n, s, e in segs if min(e, b) > max(s, a)]
    return audio[a:b], out


def merge_silence(segs: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for seg in segs:
        if out and seg[0] == SILENCE and out[-1][0] == SILENCE:
            out[-1] = (SILENCE, out[-1][1], seg[2])
        else:
            out.append(seg)
    return out


def main() -> None:
    """Synthesize SENTENCES and write the WAV and phoneme JSON (into avatar_agent/assets)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voice", default=VOICE)
    ap.add_argument("--rate", type=int, default=RATE_WPM, help="words per minute")
    ap.add_argument("--out", type=Path, default=ASSETS, help="output folder")
    args = ap.parse_args()

    tts = Espeak(args.voice, args.rate, ESPEAK_VOLUME)
    sr = tts.sample_rate
    lead = np.zeros(round(LEAD_S * sr), np.int16)
    gap = np.zeros(round(PAUSE_S * sr), np.int16)
    pieces: list[np.ndarray] = [lead]
    segs: list[tuple[str, int, int]] = [(SILENCE, 0, len(lead))]
    pos = len(lead)
    for i, text in enumerate(SENTENCES):
        if i:
            pieces.append(gap)
            segs.append((SILENCE, pos, pos + len(gap)))
            pos += len(gap)
        raw, events = tts.synth(text)
        if np.abs(raw.astype(np.int32)).max() >= 32767:
            raise SystemExit(f"espeak output clips in {text!r}; lower ESPEAK_VOLUME")
        audio, sentence = sentence_segments(raw, events, tts.stressed_phonemes(text))
        pieces.append(audio)
        segs += [(n, s + pos, e + pos) for n, s, e in sentence]
        pos += len(audio)
    pieces.append(lead)
    segs.append((SILENCE, pos, pos + len(lead)))
    x = np.concatenate(pieces).astype(np.float64)
    samples = np.round(x * (PEAK * 32767 / np.abs(x).max())).astype(np.int16)
    segs = merge_silence(segs)
    assert segs[0][1] == 0 and segs[-1][2] == len(samples)
    assert all(p[2] == q[1] for p, q in zip(segs, segs[1:], strict=False))

    args.out.mkdir(parents=True, exist_ok=True)
    wav_path = args.out / "demo.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sr)
        wav.writeframes(samples.astype("<i2").tobytes())
    phonemes = [[n, round(s / sr, 5), round(e / sr, 5)] for n, s, e in segs]
    json_path = args.out / "demo.phonemes.json"
    json_path.write_text(
        "[\n" + ",\n".join(json.dumps(p, ensure_ascii=False) for p in phonemes) + "\n]\n",
        encoding="utf-8",
    )
    size = wav_path.stat().st_size
    print(f"espeak-ng {tts.version}, voice {args.voice}, {args.rate} wpm")
    print(f"{wav_path}: {len(samples)} samples, {len(samples) / sr:.3f} s, {sr} Hz, "
          f"{size} bytes, peak {np.abs(samples).max() / 32768:.3f}, "
          f"md5 {hashlib.md5(wav_path.read_bytes()).hexdigest()}")  # fmt: skip
    print(f"{json_path}: {len(phonemes)} entries")
    if size > 300_000:
        raise SystemExit("demo.wav is over 300 kB")


if __name__ == "__main__":
    main()
