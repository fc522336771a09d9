"""Screen audio front-ends for generalisation to unseen voices with a small mouth regressor.

Training the full teacher and student takes over half an hour per variant, so this trains a
cheap stand-in instead (``whisper_probe.Regressor``): the model's audio encoder (same
layers) plus four dilated convolutions that regress the mouth channels of the motion
targets from the log-mel of a run's training clips (speaking frames only), then scores whole
held-out utterances with the evaluation's metrics. Only the front-end differs between variants:

- ``base``: the log-mel as the model sees it today (global normalisation);
- ``cmn``: causal running mean normalisation: each bin minus a running mean over speech
  frames (time constant ``--tau`` frames, shrunk toward the training mean with
  ``--prior`` frames of weight), the training speech mean added back;
- ``lifter``: the spectral envelope only (DCT over the 80 bins, first ``--keep``
  coefficients kept), which removes pitch harmonics;
- ``cmn+lifter``: both.

``--adv-weight W`` (any front-end) adds a voice adversary: a classifier of the training
voice (engine + voice, 167 here) reads the audio encoder's features through a gradient
reversal layer (its weight ramped up over training, its input normalised so the scale of
the features cannot fool it), so the encoder is pushed to features that do not tell the
voices apart (domain-adversarial training, Ganin & Lempitsky 2015).

    .venv/bin/python scripts/frontend_probe.py --run out/train --frontend base cmn lifter
    .venv/bin/python scripts/frontend_probe.py --run out/train --frontend base --adv-weight 0.3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from scipy.fft import dct, idct
from scipy.signal import lfilter
from torch import nn
from torch.nn import functional as F  # noqa: N812
from whisper_probe import MOUTH, Regressor, mouth_track, print_rows  # scripts/ is on the path

from avatar_agent.generator.conditions import STATE_INDEX
from avatar_agent.train.evaluate import metrics_by_group
from avatar_agent.train.pipeline import eval_items
from avatar_agent.train.windows import mel_of

SPEAKING = STATE_INDEX["speaking"]


class Frontend:
    """A log-mel transform (per utterance, causal where it matters)."""

    def __init__(self, kind: str, *, tau: float, prior: float, keep: int, gate: float) -> None:
        self.kind, self.tau, self.prior, self.keep, self.gate = kind, tau, prior, keep, gate
        self.mu = np.zeros(80, np.float32)

    def fit(self, mels: list[np.ndarray]) -> None:
        """Speech mean of the training log-mel (the running mean's prior)."""
        x = np.concatenate([m[::7].astype(np.float32) for m in mels])
        self.mu = x[x.mean(1) > self.gate].mean(0)

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        x = mel.astype(np.float32)
        if "cmn" in self.kind:
            g = (x.mean(1, keepdims=True) > self.gate).astype(np.float32)
            lam = float(np.exp(-1.0 / self.tau))
            num = lfilter([1.0], [1.0, -lam], g * x, axis=0)
            den = lfilter([1.0], [1.0, -lam], g, axis=0)
            m = (num + self.prior * self.mu) / (den + self.prior)
            x = x - m + self.mu
        if "lifter" in self.kind:
            c = dct(x, type=2, norm="ortho", axis=1)
            c[:, self.keep :] = 0.0
            x = idct(c, type=2, norm="ortho", axis=1)
        return x.astype(np.float32)


class _Reverse(torch.autograd.Function):
    """Identity forward, gradient times ``-weight`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:  # noqa: ANN001
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        return -ctx.weight * g, None


class VoiceAdversary(nn.Module):
    """Which training voice a window's audio features come from (through gradient reversal)."""

    def __init__(self, h: int, n_voices: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, h)  # the encoder cannot fool it by the features' scale
        self.conv = nn.Conv1d(h, h, 3, padding=1)
        self.out = nn.Linear(h, n_voices)

    def forward(self, a: torch.Tensor, weight: float) -> torch.Tensor:
        """``(B, h, L)`` features → ``(B, n_voices)`` logits; the encoder's gradient reversed."""
        z = F.gelu(self.conv(self.norm(_Reverse.apply(a, weight))))
        return self.out(z.mean(2))


def _voices(run: Path, n_clips: int) -> np.ndarray:
    """Voice index (engine + voice) of each training clip (clips follow the utterances)."""
    from avatar_agent.train.corpus.build import load_corpus

    utts = load_corpus(Path((run / "corpus_path.txt").read_text().strip()), split="train")
    names = [f"{u.engine}/{u.voice}" for u in utts]
    index = {n: i for i, n in enumerate(sorted(set(names)))}
    copies = n_clips // len(utts)
    return np.array([index[names[k // copies]] for k in range(n_clips)])


def _clips(run: Path, limit: int | None) -> tuple[list, list, list]:
    z = np.load(run / "clips_train.npz")
    ends = np.cumsum(z["lengths"])
    starts = ends - z["lengths"]
    mel, mot, st = z["mel"], z["motion"], z["state"]
    idx = range(len(starts)) if limit is None else range(min(limit, len(starts)))
    return (
        [mel[4 * starts[i] : 4 * ends[i]] for i in idx],
        [mot[starts[i] : ends[i], MOUTH] for i in idx],
        [st[starts[i] : ends[i]] for i in idx],
    )


def probe(kind: str, run: Path, a: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Train the regressor on one front-end and score the held-out set."""
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    fe = Frontend(kind, tau=a.tau, prior=a.prior, keep=a.keep, gate=a.gate)
    mels, mots, states = _clips(run, a.limit)
    fe.fit(mels)
    feats = [fe(m) for m in mels]
    allf = np.concatenate(feats[::5])
    mmean, mstd = allf.mean(0), allf.std(0) + 1e-3
    allm = np.concatenate(mots)
    ymean, ystd = allm.mean(0), allm.std(0) + 1e-3
    win = 32
    ok = [i for i, m in enumerate(mots) if len(m) > win]
    net = Regressor(80, len(MOUTH), mel=True)
    params = list(net.parameters())
    adv = None
    if a.adv_weight > 0:
        voices = _voices(run, int(np.load(run / "clips_train.npz")["lengths"].shape[0]))
        adv = VoiceAdversary(128, int(voices.max()) + 1)
        params += list(adv.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    t0 = time.time()
    for step in range(a.steps):
        xs, ys, ws = [], [], []
        picked = rng.choice(ok, a.batch)
        for i in picked:
            s = int(rng.integers(0, len(mots[i]) - win))
            xs.append((feats[i][4 * s : 4 * (s + win)] - mmean) / mstd)
            ys.append((mots[i][s : s + win] - ymean) / ystd)
            ws.append(states[i][s : s + win] == SPEAKING)
        x, y = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))
        w = torch.from_numpy(np.stack(ws).astype(np.float32))[..., None]
        loss = (((net(x)[0] - y) ** 2) * w).sum() / (w.sum() * y.shape[-1] + 1e-6)
        if adv is not None:
            ramp = 2.0 / (1.0 + np.exp(-10.0 * step / a.steps)) - 1.0  # Ganin's schedule
            logits = adv(net.last_audio, a.adv_weight * ramp)
            loss = loss + F.cross_entropy(logits, torch.from_numpy(voices[picked]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0:
            print(f"  [{kind}] step {step} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
            if adv is not None:
                acc = (logits.argmax(1).numpy() == voices[picked]).mean()
                print(f"  [{kind}] voice adversary accuracy on this batch {acc:.2f}")
    net.eval()
    items = eval_items(run)
    tracks = []
    with torch.no_grad():
        for it in items:
            n = -(-len(it.samples16k) * 25 // 16000)
            f = (fe(mel_of(it.samples16k, n)) - mmean) / mstd
            tracks.append(mouth_track(net(torch.from_numpy(f[None]))[0][0].numpy() * ystd + ymean))
    return metrics_by_group(items, tracks)


def main() -> None:
    """Print per-group metrics for each front-end."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--frontend", nargs="+", default=["base", "cmn", "lifter", "cmn+lifter"])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=None, help="first N clips only")
    ap.add_argument("--tau", type=float, default=300.0, help="running-mean time constant (10 ms)")
    ap.add_argument("--prior", type=float, default=50.0, help="weight of the training mean")
    ap.add_argument("--keep", type=int, default=24, help="DCT coefficients kept by lifter")
    ap.add_argument("--gate", type=float, default=-9.0, help="speech: mean log-mel above this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adv-weight", type=float, default=0.0, help="voice adversary (0: off)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for kind in a.frontend:
        print_rows(kind, probe(kind, Path(a.run), a), width=10)


if __name__ == "__main__":
    main()
