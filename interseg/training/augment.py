"""Augmentations written with NumPy/OpenCV: random scale, flip, object-aware crop, colour jitter,
copy-paste of objects between images."""

from __future__ import annotations

import cv2
import numpy as np


def random_scale(image, masks, ignore, rng, scale_range):
    s = rng.uniform(*scale_range)
    h, w = image.shape[:2]
    size = (max(8, round(w * s)), max(8, round(h * s)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    masks = [cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) for m in masks]
    ignore = cv2.resize(ignore.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return image, masks, ignore


def fit_and_crop(image, gt, ignore, size: int, rng: np.random.Generator, scale_range=(0.75, 1.4)):
    """Scale so the image's shorter side is about ``size`` (times a random factor), pad, and crop a
    ``size`` x ``size`` window that contains part of the object."""
    h, w = image.shape[:2]
    base = size / min(h, w)
    image, (gt,), ignore = random_scale(image, [gt], ignore, rng, (base * scale_range[0], base * scale_range[1]))
    h, w = image.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if ph or pw:
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        gt = np.pad(gt, ((0, ph), (0, pw)))
        ignore = np.pad(ignore, ((0, ph), (0, pw)), constant_values=True)
    h, w = image.shape[:2]
    ys, xs = np.nonzero(gt)
    if len(ys):
        k = int(rng.integers(len(ys)))  # a random object pixel must be inside the crop
        y0 = int(rng.integers(max(0, ys[k] - size + 1), min(h - size, ys[k]) + 1))
        x0 = int(rng.integers(max(0, xs[k] - size + 1), min(w - size, xs[k]) + 1))
    else:
        y0, x0 = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    sl = (slice(y0, y0 + size), slice(x0, x0 + size))
    return image[sl], gt[sl], ignore[sl]


def flip(image, gt, ignore, rng):
    if rng.random() < 0.5:
        return image[:, ::-1].copy(), gt[:, ::-1].copy(), ignore[:, ::-1].copy()
    return image, gt, ignore


def color_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness ±0.25 / contrast -0.15…+0.4 (p 0.75), RGB shift ±10 (p 0.75)."""
    img = image.astype(np.float32)
    if rng.random() < 0.75:
        img = img * (1 + rng.uniform(-0.15, 0.4)) + 255 * rng.uniform(-0.25, 0.25) * 0.5
    if rng.random() < 0.75:
        img = img + rng.uniform(-10, 10, 3)
    return img.clip(0, 255).astype(np.uint8)


def copy_paste(image, gt, ignore, donor_image, donor_mask, rng, as_target: bool,
               rel_scale: tuple[float, float] | None = None):
    """Paste the donor object at a random place and scale (``rel_scale``: times its own size; else
    0.25-0.7 of the image's shorter side). ``as_target``: it becomes the object to segment;
    otherwise it is a distractor occluding the current object."""
    ys, xs = np.nonzero(donor_mask)
    if len(ys) == 0:
        return image, gt, ignore
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    obj, m = donor_image[y0:y1, x0:x1], donor_mask[y0:y1, x0:x1]
    h, w = image.shape[:2]
    s = rng.uniform(*rel_scale) if rel_scale else rng.uniform(0.25, 0.7) * min(h, w) / max(obj.shape[:2])
    size = (max(4, round(obj.shape[1] * s)), max(4, round(obj.shape[0] * s)))
    if size[0] >= w or size[1] >= h:
        return image, gt, ignore
    obj = cv2.resize(obj, size, interpolation=cv2.INTER_LINEAR)
    m = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    py, px = int(rng.integers(h - size[1] + 1)), int(rng.integers(w - size[0] + 1))
    image = image.copy()
    region = image[py:py + size[1], px:px + size[0]]
    region[m] = obj[m]
    pasted = np.zeros((h, w), bool)
    pasted[py:py + size[1], px:px + size[0]] = m
    ignore = ignore & ~pasted
    if as_target:
        return image, pasted, ignore
    return image, gt & ~pasted, ignore


def duplicate_distractor(image, gt, ignore, rng, tries: int = 3):
    """Paste a copy of the target (0.6-1.1 times its size) elsewhere as a distractor: the scene holds
    two similar objects and the interactions must pick one. A paste that would hide more than 20 % of
    the target is redrawn; after ``tries`` the sample is returned unchanged."""
    area = gt.sum()
    for _ in range(tries):
        im2, gt2, ig2 = copy_paste(image, gt, ignore, image, gt, rng, as_target=False, rel_scale=(0.6, 1.1))
        if gt2.sum() >= 0.8 * area and im2 is not image:
            return im2, gt2, ig2
    return image, gt, ignore
