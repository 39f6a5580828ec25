"""Frames into model images: decoding, the crop, the resize and the colour jitter of training,
and the conversion to floats on the device."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

CROP_AREA = 0.9
"""The share of each frame's area kept by the crop, as OpenVLA trains and evaluates."""

JITTER = (0.8, 1.2)
"""The range of the brightness, contrast and saturation factors drawn per training image."""

GRAY = torch.tensor([0.299, 0.587, 0.114])
"""ITU-R 601 luma weights, as Pillow converts RGB to grayscale."""


def decode(data: bytes) -> np.ndarray:
    """An encoded frame as height × width × 3 uint8 RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)


def cut(array: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(top, left, height, width)`` window of a height × width × 3 frame."""
    top, left, height, width = window
    return array[top : top + height, left : left + width]


def load_images(frames: Sequence[bytes], size: int, rng: random.Random | None) -> torch.Tensor:
    """Decodes a batch of frames into an N × 3 × ``size`` × ``size`` uint8 tensor (RGB).

    Each frame is cropped to 90% of its area (a random place when ``rng`` is given, centred
    otherwise) and resized with Pillow's antialiased bilinear filter (torch's uint8 kernel,
    within one level of Pillow's). Training frames then get random brightness, contrast and
    saturation factors in [0.8, 1.2], Pillow ``ImageEnhance``'s three blends in that order;
    they compose into one affine colour map per frame (``jitter``), applied to the whole batch
    at once, clipped once and rounded back to 8 bits. ``rng`` draws, per frame in order: crop
    left, crop top, the three factors, so a batch's augmentation depends only on its seed.

    Batches stay 8-bit until the training step (``pixels``): a worker hands the training
    process a quarter of the bytes, and a GPU receives a quarter of them.
    """
    arrays = [decode(data) for data in frames]
    scale = CROP_AREA**0.5
    windows: list[tuple[int, int, int, int]] = []
    factors = np.ones((len(arrays), 3), dtype=np.float32)
    for index, array in enumerate(arrays):
        height, width = array.shape[:2]
        crop_h, crop_w = round(height * scale), round(width * scale)
        if rng is None:
            left, top = (width - crop_w) // 2, (height - crop_h) // 2
        else:
            left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
            factors[index] = [rng.uniform(*JITTER) for _ in range(3)]
        windows.append((top, left, crop_h, crop_w))
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (_, _, crop_h, crop_w) in enumerate(windows):
        groups.setdefault((crop_h, crop_w), []).append(index)
    levels = torch.empty((len(arrays), size, size, 3), dtype=torch.uint8)
    for indices in groups.values():
        crops = np.stack([cut(arrays[i], windows[i]) for i in indices])
        # N × H × W × 3 viewed as channels-last N × 3 × H × W: torch's uint8 antialiased
        # bilinear kernel (the one made to match Pillow) runs on exactly this layout.
        resized = torch.nn.functional.interpolate(
            torch.from_numpy(crops).permute(0, 3, 1, 2),
            size=(size, size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        ).permute(0, 2, 3, 1)
        if len(groups) == 1:
            levels = resized
        else:
            levels[indices] = resized
    if rng is not None:
        jittered = jitter(levels.float(), torch.from_numpy(factors), white=255)
        levels = jittered.add_(0.5).to(torch.uint8)
    return levels.permute(0, 3, 1, 2)


def pixels(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch's uint8 images as floats in [0, 1] on ``device`` (converted there)."""
    if images.dtype != torch.uint8:
        raise TypeError(f"batch images must be uint8 (load_images), got {images.dtype}")
    return images.to(device, non_blocking=True).float().div_(255)


def jitter(levels: torch.Tensor, factors: torch.Tensor, white: float = 1.0) -> torch.Tensor:
    """Brightness b, contrast c and saturation s (N × 3 ``factors``) applied to N × H × W × 3
    ``levels`` in [0, ``white``], as Pillow's enhancements compose without their intermediate
    clipping: ``b · (c · (s·x + (1−s)·gray(x)) + (1−c)·mean(gray(x)))``, clipped to
    [0, ``white``]. Computed as ``α·x + β·gray(x) + γ`` per frame: two passes over the pixels
    besides the grayscale product, where a 3 × 3 matrix product per pixel took three times as
    long."""
    bright, contrast, saturation = factors[:, 0], factors[:, 1], factors[:, 2]
    gray = levels @ GRAY.to(levels)
    mean = gray.mean(dim=(1, 2))
    alpha = (bright * contrast * saturation).view(-1, 1, 1, 1)
    beta = (bright * contrast * (1 - saturation)).view(-1, 1, 1)
    gamma = (bright * (1 - contrast) * mean).view(-1, 1, 1)
    shift = torch.addcmul(gamma, gray, beta).unsqueeze_(-1)
    return torch.addcmul(shift, levels, alpha).clamp_(0, white)
