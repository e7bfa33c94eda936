"""ZoomIn: after the first interactions, predict on a crop around the object instead of the image.

The region of interest is the bounding box of (previous probability > 0.5) ∪ positive interaction
points, expanded by ``expand_ratio`` and at least ``min_crop`` pixels; it is kept until an
interaction falls outside it or the new box's IoU with it drops below 0.5.  ZoomIn starts after
``skip_clicks`` clicks (the first click sees the whole image); a contour or a stroke triggers it at
once (skip -1 for those types, as in the reference) — but only once there is a predicted object to
frame: with no previous mask, a first contour or stroke is predicted on the whole image, and the crop
follows from that prediction at the next interaction. A crop from the box of the marks alone cuts
away whatever the marks do not reach (a short scribble on a large object); ``marks_alone=True``
restores that behaviour of the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..interactions.types import Click, Interaction

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


@dataclass(frozen=True)
class ZoomInParams:
    enabled: bool = True
    target_size: int = 400
    skip_clicks: int = 1
    expand_ratio: float = 1.4
    min_crop: int = 200
    marks_alone: bool = False


def _box_iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area else 0.0


def _inside(box: Box, it: Interaction) -> bool:
    p = it.points
    return bool(((p[:, 0] >= box[0]) & (p[:, 0] < box[2]) & (p[:, 1] >= box[1]) & (p[:, 1] < box[3])).all())


def zoom_roi(params: ZoomInParams, interactions: Sequence[Interaction], prev_prob: np.ndarray,
             current: Box | None) -> Box | None:
    """The crop for this step, or ``None`` for the whole image."""
    if not params.enabled or not interactions:
        return None
    only_clicks = all(isinstance(i, Click) for i in interactions)
    if only_clicks and len(interactions) <= params.skip_clicks:
        return None
    h, w = prev_prob.shape
    pts = [i.points for i in interactions if i.positive]
    ys, xs = np.nonzero(prev_prob > 0.5)
    if not only_clicks and not len(ys) and current is None and not params.marks_alone:
        return None   # a contour or stroke and no object predicted yet: see the whole image first
    if len(ys):
        pts.append(np.array([[xs.min(), ys.min()], [xs.max(), ys.max()]], np.float64))
    if not pts:
        return None
    allp = np.concatenate(pts)
    x0, y0 = allp.min(0)
    x1, y1 = allp.max(0) + 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw = max((x1 - x0) * params.expand_ratio, params.min_crop)
    bh = max((y1 - y0) * params.expand_ratio, params.min_crop)
    box = (int(max(0, cx - bw / 2)), int(max(0, cy - bh / 2)), int(min(w, np.ceil(cx + bw / 2))),
           int(min(h, np.ceil(cy + bh / 2))))
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    if current is not None and _inside(current, interactions[-1]) and _box_iou(current, box) >= 0.5:
        return current
    return box
