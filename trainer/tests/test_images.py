"""The image pipeline: crop and resize as Pillow does, colour jitter as Pillow's enhancements
compose, seeded augmentation, frames of different sizes in one batch."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance
from vlatune_trainer.images import GRAY, jitter, load_images, pixels


def png(array: np.ndarray) -> bytes:
    """Lossless, so the decoded pixels are exactly ``array``."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def smooth(height: int, width: int, seed: int, low: int = 0, high: int = 255) -> np.ndarray:
    """A frame with gradients and a little noise, values in [low, high]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    channels = [np.sin(x / (5 + c) + seed) + np.cos(y / (7 + c)) for c in range(3)]
    base = (np.stack(channels, axis=-1) + 2) / 4 + rng.normal(0, 0.03, (height, width, 3))
    return (low + np.clip(base, 0, 1) * (high - low)).round().astype(np.uint8)


def pillow_centre_crop(array: np.ndarray, size: int) -> np.ndarray:
    image = Image.fromarray(array).convert("RGB")
    width, height = image.size
    crop_w, crop_h = round(width * 0.9**0.5), round(height * 0.9**0.5)
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    box = (left, top, left + crop_w, top + crop_h)
    return np.asarray(image.crop(box).resize((size, size), Image.BILINEAR), dtype=np.float32)


def test_centre_crop_and_resize_match_pillow_for_mixed_frame_sizes() -> None:
    frames = [
        smooth(96, 96, 0),
        smooth(120, 160, 1),
        smooth(96, 96, 2)[..., 0],  # grayscale
        np.dstack([smooth(96, 96, 6), np.full((96, 96), 128, np.uint8)]),  # RGBA
        smooth(240, 320, 3),
    ]
    images = load_images([png(f) for f in frames], 64, None)
    assert images.shape == (5, 3, 64, 64)
    assert images.dtype == torch.uint8
    for frame, got in zip(frames, images, strict=True):
        expected = pillow_centre_crop(frame, 64)
        difference = np.abs(got.permute(1, 2, 0).numpy().astype(np.float32) - expected)
        assert difference.max() <= 1.0 + 1e-3
        assert difference.mean() < 0.05


def test_a_batch_equals_its_frames_one_by_one() -> None:
    frames = [png(smooth(96, 96, s)) for s in range(3)] + [png(smooth(120, 160, 9))]
    together = load_images(frames, 48, random.Random("batch"))
    rng = random.Random("batch")
    alone = torch.cat([load_images([frame], 48, rng) for frame in frames])
    assert torch.equal(together, alone)


def test_augmentation_depends_only_on_the_seed() -> None:
    frames = [png(smooth(96, 96, s)) for s in range(4)]
    first = load_images(frames, 64, random.Random("seed-a"))
    again = load_images(frames, 64, random.Random("seed-a"))
    other = load_images(frames, 64, random.Random("seed-b"))
    plain = load_images(frames, 64, None)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert not torch.equal(first, plain)
    assert first.dtype == torch.uint8


def crop_place(seed: str) -> tuple[int, int]:
    """(left, top) of the first random 90% crop of a 96 × 128 frame (121 × 91) under ``seed``."""
    rng = random.Random(seed)
    return rng.randint(0, 128 - 121), rng.randint(0, 96 - 91)


def test_training_frames_are_the_jittered_crops_rounded_to_eight_bits() -> None:
    # Not square, and a seed whose crop has left ≠ top: a swapped axis or draw shows.
    frame = png(smooth(96, 128, 4))
    seed = next(f"round-{n}" for n in range(100) if len(set(crop_place(f"round-{n}"))) == 2)
    rng = random.Random(seed)
    left, top = rng.randint(0, 128 - 121), rng.randint(0, 96 - 91)
    assert (left, top) == crop_place(seed)
    factors = torch.tensor([[rng.uniform(0.8, 1.2) for _ in range(3)]])
    crop = np.asarray(Image.open(io.BytesIO(frame)))[top : top + 91, left : left + 121]
    resized = torch.nn.functional.interpolate(
        torch.from_numpy(np.ascontiguousarray(crop[None])).permute(0, 3, 1, 2),
        size=(64, 64),
        mode="bilinear",
        antialias=True,
    )
    expected = jitter(resized.permute(0, 2, 3, 1).float() / 255, factors) * 255
    got = load_images([frame], 64, random.Random(seed))
    difference = got.permute(0, 2, 3, 1).float() - expected
    assert difference.abs().max() <= 0.5 + 1e-3


def test_pixels_are_floats_in_the_unit_range_on_the_device() -> None:
    images = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    converted = pixels(images, torch.device("cpu"))
    assert converted.dtype == torch.float32
    assert torch.allclose(converted, torch.tensor([[0.0, 0.2, 1.0]]))
    assert images.tolist() == [[0, 51, 255]]
    with pytest.raises(TypeError, match="uint8"):
        pixels(converted, torch.device("cpu"))


def test_unit_factors_leave_the_pixels_unchanged() -> None:
    frame = torch.from_numpy(smooth(32, 32, 5)).float()[None] / 255
    assert torch.allclose(jitter(frame, torch.ones(1, 3)), frame, atol=1e-6)


def sequential(pixels: np.ndarray, bright: float, contrast: float, saturation: float) -> np.ndarray:
    """Pillow's Brightness, Contrast and Color blends one after another, in floats, unclipped."""
    gray = GRAY.numpy()
    x = pixels * bright
    mean = (x @ gray).mean()
    x = mean + contrast * (x - mean)
    luma = (x @ gray)[..., None]
    return luma + saturation * (x - luma)


def test_jitter_is_pillows_three_enhancements_composed() -> None:
    # Mid-range frames, so that no intermediate step clips and the composition is exact.
    frames = [smooth(40, 40, s, low=80, high=170) for s in range(3)]
    factors = [(0.8, 1.2, 0.9), (1.2, 0.8, 1.2), (1.05, 1.1, 0.8)]
    batch = torch.from_numpy(np.stack(frames)).float() / 255
    got = jitter(batch, torch.tensor(factors)).numpy()
    for frame, (b, c, s), result in zip(frames, factors, got, strict=True):
        expected = sequential(frame.astype(np.float32) / 255, b, c, s)
        assert np.abs(result - expected).max() < 1e-5
        # And Pillow itself, which rounds to 8 bits after each of the three steps (and the
        # contrast mean to an integer): within a level per step.
        image = Image.fromarray(frame)
        image = ImageEnhance.Brightness(image).enhance(b)
        image = ImageEnhance.Contrast(image).enhance(c)
        image = ImageEnhance.Color(image).enhance(s)
        pillow = np.asarray(image, dtype=np.float32)
        difference = np.abs(result * 255 - pillow)
        assert difference.max() <= 3.0
        assert difference.mean() < 1.5


def test_jitter_clips_to_the_unit_range() -> None:
    frame = torch.from_numpy(smooth(16, 16, 7)).float()[None] / 255
    bright = jitter(frame, torch.tensor([[1.2, 1.2, 1.2]]))
    dark = jitter(frame, torch.tensor([[0.8, 1.2, 1.2]]))
    assert bright.max() == 1.0 and bright.min() >= 0
    assert dark.min() >= 0 and dark.max() <= 1
