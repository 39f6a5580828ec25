"""Normalization and action tokenization against a numpy reference of OpenVLA's formulas."""

from __future__ import annotations

import numpy as np
from vlatune_trainer.normalize import ActionTokenizer, Normalizer

STATS = {
    "q01": [-1.0, 0.0, 5.0, 0.0],
    "q99": [1.0, 2.0, 5.0, 1.0],
    "min": [-2.0, -1.0, 5.0, 0.0],
    "max": [2.0, 3.0, 5.0, 1.0],
    "mask": [True, True, True, False],
}


def reference_normalize(x: np.ndarray) -> np.ndarray:
    q01, q99 = np.array(STATS["q01"]), np.array(STATS["q99"])
    mask = np.array(STATS["mask"])
    out = np.where(mask, np.clip(2 * (x - q01) / (q99 - q01 + 1e-8) - 1, -1, 1), x)
    return np.where(np.array(STATS["min"]) == np.array(STATS["max"]), 0.0, out)


def test_normalize_matches_openvla_bounds_q99() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(-3, 3, size=(100, 4)).astype(np.float32)
    normalizer = Normalizer(STATS)
    assert np.allclose(normalizer.normalize(values), reference_normalize(values), atol=1e-6)


def test_round_trip_inside_bounds() -> None:
    normalizer = Normalizer(STATS)
    values = np.array([[0.3, 1.5, 5.0, 1.0], [-0.9, 0.1, 5.0, 0.0]], dtype=np.float32)
    restored = normalizer.unnormalize(normalizer.normalize(values))
    assert np.allclose(restored, values, atol=1e-5)


def test_tokenizer_matches_openvla() -> None:
    vocab = 32000
    tokenizer = ActionTokenizer(vocab)
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, size=1000)
    bins = np.linspace(-1, 1, 256)
    centers = (bins[:-1] + bins[1:]) / 2
    expected_tokens = vocab - np.digitize(actions, bins)
    tokens = tokenizer.encode(actions)
    assert np.array_equal(tokens, expected_tokens)
    assert tokens.min() >= vocab - 256 and tokens.max() < vocab
    decoded = tokenizer.decode(tokens)
    expected = centers[np.clip(vocab - expected_tokens - 1, 0, 254)]
    assert np.allclose(decoded, expected)
    assert np.abs(decoded - actions).max() <= (2 / 255) + 1e-9
