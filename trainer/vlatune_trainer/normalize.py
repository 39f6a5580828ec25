"""OpenVLA-style normalization (BOUNDS_Q99) and the 256-bin action tokenizer."""

from __future__ import annotations

import numpy as np

EPSILON = 1e-8


class Normalizer:
    """Maps values to [-1, 1] with q01/q99 bounds where ``mask`` is true; other dimensions pass
    through unchanged, except constant ones (min == max), which become 0 (as OpenVLA does)."""

    def __init__(self, statistics: dict, use_mask: bool = True) -> None:
        self.q01 = np.asarray(statistics["q01"], dtype=np.float32)
        self.q99 = np.asarray(statistics["q99"], dtype=np.float32)
        minimum = np.asarray(statistics["min"], dtype=np.float32)
        maximum = np.asarray(statistics["max"], dtype=np.float32)
        mask = statistics.get("mask") if use_mask else None
        self.mask = np.asarray(mask if mask is not None else [True] * len(self.q01), dtype=bool)
        self.constant = minimum == maximum

    def normalize(self, values: np.ndarray) -> np.ndarray:
        scaled = np.clip(2 * (values - self.q01) / (self.q99 - self.q01 + EPSILON) - 1, -1, 1)
        out = np.where(self.mask, scaled, values)
        return np.where(self.constant, 0.0, out).astype(np.float32)

    def unnormalize(self, values: np.ndarray) -> np.ndarray:
        restored = 0.5 * (values + 1) * (self.q99 - self.q01) + self.q01
        out = np.where(self.mask, restored, values)
        return np.where(self.constant, self.q01, out).astype(np.float32)


class ActionTokenizer:
    """OpenVLA's discretization: 256 uniform bins over [-1, 1]; token ids are the last ids of the
    vocabulary (``vocab_size - bin``)."""

    def __init__(self, vocab_size: int, bins: int = 256) -> None:
        self.vocab_size = vocab_size
        self.bins = np.linspace(-1, 1, bins)
        self.centers = (self.bins[:-1] + self.bins[1:]) / 2

    def encode(self, normalized: np.ndarray) -> np.ndarray:
        indices = np.digitize(np.clip(normalized, -1, 1), self.bins)
        return self.vocab_size - indices

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        indices = np.clip(self.vocab_size - tokens - 1, 0, len(self.centers) - 1)
        return self.centers[indices]
