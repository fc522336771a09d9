"""Do Kokoro's phone timings sit on its audio as espeak-ng's exact ones do?

Speaks the same seeded sentences with Kokoro (five voice styles in turn) and with espeak-ng
(``en-us``), and prints the loudness lag of each (:func:`~avatar_agent.train.corpus.timing.
loudness_lag`). With :data:`~avatar_agent.train.corpus.kokoro.LEAD` applied the two should
agree; ``--no-lead`` shows the raw durations' lag that set it. Also prints Kokoro's CPU
seconds per second of speech (one ONNX Runtime thread, as the corpus workers run).

    .venv/bin/python scripts/kokoro_timing.py --n 12
"""

from __future__ import annotations

import argparse
import json
import time

from avatar_agent.train.corpus import espeak, kokoro
from avatar_agent.train.corpus.sentences import SentenceGenerator


def main() -> None:
    """Print the loudness lags of Kokoro and espeak-ng on the same sentences."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=12, help="sentences")
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--no-lead", action="store_true", help="raw Kokoro durations")
    a = ap.parse_args()
    from avatar_agent.train.corpus.timing import loudness_lag

    if a.no_lead:
        kokoro.LEAD = 0
    texts = SentenceGenerator(seed=a.seed)
    sentences = [next(texts) for _ in range(a.n)]
    k = kokoro.Kokoro(threads=1)
    kok = []
    cpu = time.process_time()
    for i, s in enumerate(sentences):
        x, ph = k.synth(s, kokoro.KokoroVoice(kokoro.VOICES[i % len(kokoro.VOICES)]))
        kok.append((x, kokoro.SAMPLE_RATE, ph))
    cpu = time.process_time() - cpu
    seconds = sum(len(x) / kokoro.SAMPLE_RATE for x, _, _ in kok)
    esp = [espeak.synth(s, espeak.EspeakVoice("en-us", "m3", rate=160)) for s in sentences]
    out = {
        "sentences": a.n,
        "kokoro_lead_samples": kokoro.LEAD,
        "kokoro_lag_ms": round(loudness_lag(kok)[0], 1),
        "espeak_lag_ms": round(loudness_lag(esp)[0], 1),
        "kokoro_cpu_seconds_per_second_of_speech": round(cpu / seconds, 2),
    }
    print(json.dumps(out, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
