"""Error regions between a prediction and the ground truth, and which one to correct next.

False negatives = GT ∧ ¬pred, false positives = ¬GT ∧ pred, both outside the ignore region.  The
region with the larger maximum of its exact Euclidean distance transform (computed with a 1-pixel
zero border, so the image border counts as region boundary) is corrected next: a positive
interaction for false negatives, a negative one for false positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def distance_transform(region: np.ndarray) -> np.ndarray:
    """Exact L2 distance of every region pixel to the nearest non-region pixel or the image border."""
    padded = np.pad(region.astype(np.uint8), 1)
    dt = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dt[1:-1, 1:-1]


def error_masks(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    valid = ~ignore if ignore is not None else np.ones(gt.shape, bool)
    return gt & ~pred & valid, ~gt & pred & valid


@dataclass
class ErrorTarget:
    """The error region the next interaction should fix."""

    positive: bool
    region: np.ndarray   # boolean mask of the chosen error type
    dt: np.ndarray       # its distance transform
    component: np.ndarray  # the connected component holding the deepest point

    @property
    def max_dt(self) -> float:
        return float(self.dt.max()) if self.dt.size else 0.0


def largest_error(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> ErrorTarget | None:
    """The error region to correct next, or ``None`` if the prediction is perfect."""
    fn, fp = error_masks(gt, pred, ignore)
    fn_dt, fp_dt = distance_transform(fn), distance_transform(fp)
    fn_max, fp_max = float(fn_dt.max()), float(fp_dt.max())
    if fn_max == 0 and fp_max == 0:
        return None
    positive = fn_max > fp_max
    region, dt = (fn, fn_dt) if positive else (fp, fp_dt)
    return ErrorTarget(positive, region, dt, component_at_max(region, dt))


def component_at_max(region: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """The 8-connected component of ``region`` containing the (first) maximum of ``dt``."""
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return labels == labels[y, x]
