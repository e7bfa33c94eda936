"""Simulated users that draw as people do, not as the reference protocol does.

The reference's stroke follows 60-100 % of the error region's medial axis and its contour traces the
region closely; people make a few short scribbles, and outline loosely. These users give the
evaluation a second, harder reading (``--user human-like``) and training a wider input distribution:

* :class:`HumanStrokeUser` — one to three short marks (10-60 % of the region's extent), straight or
  curved, 3-15 px wide, anywhere on the region to fix; some cross its boundary by a few pixels. The
  marks of one step are one :class:`~interseg.interactions.types.MaskStroke` (drawn as painted).
* :class:`HumanContourUser` — a loose outline (the region grown by a margin, simplified to a few
  vertices, jittered), a box, a partial outline (closed by its chord), or a self-intersecting one.

Both are seeded; both fix the error region the reference would fix next (:func:`largest_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import largest_error
from .types import Contour, Interaction, MaskStroke

CONTOUR_STYLES = ("loose", "box", "partial", "crossing")


@dataclass(frozen=True)
class Mark:
    """One scribble of a step (for tests and statistics)."""

    length: float    # along the curve, pixels
    width: int       # pixels
    extent: float    # the region's extent it was drawn on


def _extent(region: np.ndarray) -> tuple[float, tuple[int, int, int, int]]:
    ys, xs = np.nonzero(region)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    return float(max(x1 - x0, y1 - y0)), (int(x0), int(y0), int(x1), int(y1))


class HumanStrokeUser:
    """``marks``: how many scribbles a step has (inclusive range); ``length``: each one's length as a
    share of the region's extent (the defaults are the human-like user's; ``marks=(1, 1), length=(0.1,
    0.2)`` is one short scribble, the case where a network must grow from a few pixels to the object)."""

    def __init__(self, seed: int | np.random.SeedSequence | None = 0, marks: tuple[int, int] = (1, 3),
                 length: tuple[float, float] = (0.1, 0.6)) -> None:
        self.rng = np.random.default_rng(seed)
        self.marks = marks
        self.length = length
        self.last_marks: list[Mark] = []

    def next_stroke(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                    history: Sequence[Interaction] = ()) -> MaskStroke | None:
        target = largest_error(gt, pred, ignore)
        if target is None:
            return None
        region = target.component
        extent, _ = _extent(region)
        h, w = region.shape
        width = int(self.rng.integers(3, 16))
        inner = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3) >= width / 2
        seeds = np.argwhere(inner if inner.any() else region)
        paint = np.zeros((h, w), np.uint8)
        self.last_marks = []
        for _ in range(int(self.rng.integers(self.marks[0], self.marks[1] + 1))):
            length = float(self.rng.uniform(*self.length)) * extent
            y, x = seeds[int(self.rng.integers(len(seeds)))]
            angle = float(self.rng.uniform(0, np.pi))
            d = np.array([np.cos(angle), np.sin(angle)])
            p0, p2 = np.array([x, y]) - d * length / 2, np.array([x, y]) + d * length / 2
            bend = float(self.rng.uniform(-0.3, 0.3)) * length            # straight or curved
            p1 = (p0 + p2) / 2 + np.array([-d[1], d[0]]) * bend
            t = np.linspace(0, 1, max(8, int(length / 3)))[:, None]
            curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
            curve = np.clip(curve, 0, [w - 1, h - 1])
            cv2.polylines(paint, [np.round(curve).astype(np.int32).reshape(-1, 1, 2)], False, 1, width)
            self.last_marks.append(Mark(float(np.linalg.norm(np.diff(curve, axis=0), axis=1).sum()), width, extent))
        # people stay roughly on their side: marks may cross the boundary by a few pixels, not more
        cross = int(self.rng.choice([0, 0, 2, 3, 5]))
        allowed = region if cross == 0 else cv2.dilate(region.astype(np.uint8), np.ones((2 * cross + 1,) * 2, np.uint8))
        paint &= allowed.astype(np.uint8)
        if not paint.any():
            y, x = seeds[0]
            cv2.circle(paint, (int(x), int(y)), max(1, width // 2), 1, -1)
        return MaskStroke.from_mask(paint.astype(bool), target.positive)


class HumanContourUser:
    def __init__(self, seed: int | np.random.SeedSequence | None = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.last_style = ""

    def next_contour(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                     history: Sequence[Interaction] = ()) -> Contour | None:
        target = largest_error(gt, pred, ignore)
        if target is None:
            return None
        region = target.component
        extent, (x0, y0, x1, y1) = _extent(region)
        h, w = region.shape
        style = str(self.rng.choice(CONTOUR_STYLES, p=[0.4, 0.25, 0.2, 0.15]))
        self.last_style = style
        margin = float(self.rng.uniform(0.02, 0.1)) * extent
        if style == "box":
            pts = np.array([[x0 - margin, y0 - margin], [x1 + margin, y0 - margin], [x1 + margin, y1 + margin],
                            [x0 - margin, y1 + margin]])
        else:
            k = max(1, int(round(margin)))
            grown = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1,) * 2))
            contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            outline = max(contours, key=len)[:, 0, :].astype(np.float64)
            eps = float(self.rng.uniform(0.02, 0.05)) * cv2.arcLength(outline.astype(np.float32), True)
            pts = cv2.approxPolyDP(outline.astype(np.float32), eps, True)[:, 0, :].astype(np.float64)
            if len(pts) < 3:
                pts = outline[np.linspace(0, len(outline) - 1, 6).astype(int)]
            pts += self.rng.normal(0, 0.015 * extent, pts.shape)          # a hand is not a polygon tool
            if style == "partial" and len(pts) > 4:
                keep = max(3, int(round(len(pts) * float(self.rng.uniform(0.6, 0.9)))))
                start = int(self.rng.integers(len(pts)))
                pts = np.roll(pts, -start, axis=0)[:keep]
            elif style == "crossing" and len(pts) >= 4:
                i = int(self.rng.integers(len(pts) - 1))
                pts[[i, i + 1]] = pts[[i + 1, i]]
        pts = np.clip(pts, 0, [w - 1, h - 1])
        return Contour.from_points(pts, target.positive)
