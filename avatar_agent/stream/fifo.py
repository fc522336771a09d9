"""A first-in first-out queue of samples with read/peek of exact counts."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["SampleFifo"]


class SampleFifo:
    """Append arrays of samples, take or peek exact counts from the front.

    Args:
        dtype: Sample type of everything stored (inputs are converted).
    """

    def __init__(self, dtype: np.dtype | type = np.float32) -> None:
        self.dtype = np.dtype(dtype)
        self._chunks: deque[np.ndarray] = deque()
        self._offset = 0  # samples of _chunks[0] already taken
        self._size = 0
        self.appended = 0
        """Samples appended in all."""
        self.taken = 0
        """Samples taken in all."""

    def __len__(self) -> int:
        return self._size

    def append(self, samples: np.ndarray) -> None:
        """Add samples at the back (empty arrays are ignored)."""
        x = np.asarray(samples, self.dtype).ravel()
        if x.size:
            self._chunks.append(x)
            self._size += x.size
            self.appended += x.size

    def peek(self, n: int) -> np.ndarray:
        """Up to ``n`` samples from the front, without removing them (a new array)."""
        return self._read(n, consume=False)

    def take(self, n: int) -> np.ndarray:
        """Remove and return up to ``n`` samples from the front (a new array)."""
        return self._read(n, consume=True)

    def clear(self) -> None:
        """Drop everything."""
        self._chunks.clear()
        self._offset = 0
        self._size = 0

    def _read(self, n: int, *, consume: bool) -> np.ndarray:
        n = max(0, min(int(n), self._size))
        out = np.empty(n, self.dtype)
        pos, off = 0, self._offset
        idx = 0
        while pos < n:
            chunk = self._chunks[idx]
            k = min(n - pos, chunk.size - off)
            out[pos : pos + k] = chunk[off : off + k]
            pos += k
            off += k
            if off == chunk.size:
                idx += 1
                off = 0
        if consume:
            for _ in range(idx):
                self._chunks.popleft()
            self._offset = off
            self._size -= n
            self.taken += n
        return out
