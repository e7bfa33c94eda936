"""Segmentation metrics of the interactive protocol.

* :func:`iou` — IoU over non-ignored pixels (1.0 when both masks are empty).
* :func:`boundary_iou` — IoU of the boundary bands of width ``d`` (mask minus its erosion by ``d``
  pixels with a 3x3 kernel and a zero border, so object edges on the image border count), where
  ``d = round(ratio x image diagonal)`` (at least 1) or, for ``ratio >= 1``, ``d = ratio`` pixels.
* :func:`noi` — number of interactions to reach an IoU threshold (the cap if never reached).
* :func:`noi_summary` — mean NoI, the count of objects at the cap (the reference's ``>=20@90``) and of
  those that never reached the threshold.
* :func:`stride_ceiling_iou` — the best IoU a prediction at 1/stride of the image's resolution can reach.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def iou(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> float:
    gt, pred = gt.astype(bool), pred.astype(bool)
    if ignore is not None:
        valid = ~ignore.astype(bool)
        gt, pred = gt & valid, pred & valid
    union = np.count_nonzero(gt | pred)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(gt & pred) / union)


def stride_ceiling_iou(gt: np.ndarray, stride: int, ignore: np.ndarray | None = None) -> float:
    """The IoU of a perfect prediction made at 1/``stride`` of the image's resolution: the ground truth
    average-pooled in ``stride`` x ``stride`` cells (partial cells at the right and bottom edges averaged over
    their pixels), upsampled bilinearly to the image and thresholded at 0.5, as the predictor treats a
    network's output. What a decoder of that output stride can reach at best on the object."""
    return iou(gt, stride_limited(gt, stride) > 0.5, ignore)


def stride_limited(gt: np.ndarray, stride: int) -> np.ndarray:
    """The ground truth as a decoder of output stride ``stride`` can draw it at best (see
    :func:`stride_ceiling_iou`): a float map in [0, 1] at the image's size, before the threshold."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, not {stride}")
    h, w = gt.shape
    gh, gw = -(-h // stride), -(-w // stride)
    padded = np.zeros((gh * stride, gw * stride), np.float32)
    padded[:h, :w] = gt.astype(bool)
    counts = np.zeros_like(padded)
    counts[:h, :w] = 1
    cells = (gh, stride, gw, stride)
    low = padded.reshape(cells).sum((1, 3)) / counts.reshape(cells).sum((1, 3))
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)


def boundary_width(shape: tuple[int, int], ratio: float) -> int:
    """Band width in pixels: ``ratio`` of the diagonal, or ``ratio`` pixels if ``ratio >= 1``."""
    if ratio >= 1:
        return int(round(ratio))
    return max(1, int(round(ratio * np.hypot(shape[0], shape[1]))))


def mask_boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels of ``mask`` within ``width`` pixels of its edge (3x3 erosion ``width`` times)."""
    m = np.pad(mask.astype(np.uint8), 1)
    eroded = cv2.erode(m, np.ones((3, 3), np.uint8), iterations=width, borderType=cv2.BORDER_CONSTANT,
                       borderValue=0)
    return (m - eroded)[1:-1, 1:-1].astype(bool)


def boundary_iou(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None,
                 ratio: float = 0.005) -> float:
    width = boundary_width(gt.shape, ratio)
    return iou(mask_boundary(gt, width), mask_boundary(pred, width), ignore)


def noi(ious: Sequence[float], threshold: float, max_interactions: int) -> int:
    """1-based index of the first IoU >= threshold within the cap, else the cap."""
    for i, v in enumerate(ious[:max_interactions]):
        if v >= threshold:
            return i + 1
    return max_interactions


def noi_summary(curves: Sequence[Sequence[float]], threshold: float, max_interactions: int
                ) -> tuple[float, int, int]:
    """(mean NoI over objects, objects whose NoI is the cap, objects that never reach ``threshold``).

    The second is the reference's ``>=20@90`` column (NoI >= the cap: an object that reaches the
    threshold exactly at the last interaction counts); the third excludes those ("failed").
    """
    if not curves:
        return float("nan"), 0, 0
    values = [noi(c, threshold, max_interactions) for c in curves]
    at_cap = sum(1 for v in values if v >= max_interactions)
    failed = sum(1 for c in curves if not any(v >= threshold for v in c[:max_interactions]))
    return float(np.mean(values)), at_cap, failed


def mean_curve(curves: Sequence[Sequence[float]], length: int) -> np.ndarray:
    """Mean over objects of IoU-vs-interactions curves; a curve that stopped early (it reached the
    highest threshold) is extended with its last value."""
    if not curves:
        return np.full(length, np.nan)
    arr = np.array([list(c[:length]) + [c[-1]] * (length - len(c[:length])) for c in curves], np.float64)
    return arr.mean(0)
