"""ZoomIn: after the first interactions, predict on a crop around the object instead of the image.

The region of interest is the bounding box of (previous probability > 0.5) ∪ positive interaction
points ∪ the points of the latest interaction (negative ones included), expanded by ``expand_ratio``
and at least ``min_crop`` pixels. ZoomIn starts after ``skip_clicks`` clicks (the first click sees
the whole image); a contour or a stroke triggers it at once (skip -1 for those types, as in the
reference) — but only once there is a predicted object to frame: with no previous mask, a first
contour or stroke is predicted on the whole image, and the crop follows from that prediction at the
next interaction. A crop from the box of the marks alone cuts away whatever the marks do not reach (a
short scribble on a large object); ``marks_alone=True`` restores that behaviour of the reference.

The crop can always see the whole object (``follow_object``, on by default):

- the current crop is kept only while it holds the predicted object, the positive marks and every
  point of the latest interaction at least ``edge_margin`` of its side away from its edges (an edge on
  the image's border needs no margin) — a mark of either sign near the edge or outside grows it;
- when the prediction on a crop reaches one of its inner edges (the object goes on beyond it), the
  predictor frames a larger crop around that prediction and predicts again, at most ``max_regrow``
  times; if the object still reaches the edge, the step is predicted on the whole image and the next
  crop is framed from that view (:func:`reaches_edge`, ``NetPredictor.predict``).

``follow_object=False`` is the reference's rule: keep the crop until an interaction falls outside it
or the new box's IoU with it drops below 0.5.
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
    follow_object: bool = True
    edge_margin: float = 0.05
    max_regrow: int = 2


def _box_iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area else 0.0


def _inside(box: Box, it: Interaction) -> bool:
    p = it.points
    return bool(((p[:, 0] >= box[0]) & (p[:, 0] < box[2]) & (p[:, 1] >= box[1]) & (p[:, 1] < box[3])).all())


def _inner(box: Box, margin: float, h: int, w: int) -> tuple[float, float, float, float]:
    """``box`` shrunk by ``margin`` of its sides, except along the image's border."""
    mx, my = margin * (box[2] - box[0]), margin * (box[3] - box[1])
    return (box[0] + (mx if box[0] > 0 else 0), box[1] + (my if box[1] > 0 else 0),
            box[2] - (mx if box[2] < w else 0), box[3] - (my if box[3] < h else 0))


def _holds(box: Box, pts: np.ndarray, margin: float, h: int, w: int) -> bool:
    x0, y0, x1, y1 = _inner(box, margin, h, w)
    return bool(((pts[:, 0] >= x0) & (pts[:, 0] <= x1 - 1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1 - 1)).all())


def frame(params: ZoomInParams, pts: np.ndarray, h: int, w: int) -> Box | None:
    """The crop around ``pts`` (N, 2: x, y): their box expanded by ``expand_ratio`` and to at least
    ``min_crop``, clipped to the image; ``None`` if that leaves less than 2 px."""
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0) + 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw = max((x1 - x0) * params.expand_ratio, params.min_crop)
    bh = max((y1 - y0) * params.expand_ratio, params.min_crop)
    box = (int(max(0, cx - bw / 2)), int(max(0, cy - bh / 2)), int(min(w, np.ceil(cx + bw / 2))),
           int(min(h, np.ceil(cy + bh / 2))))
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    return box


def _object_box(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    return np.array([[xs.min(), ys.min()], [xs.max(), ys.max()]], np.float64)


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
    obj = _object_box(prev_prob > 0.5)
    if not only_clicks and obj is None and current is None and not params.marks_alone:
        return None   # a contour or stroke and no object predicted yet: see the whole image first
    if obj is not None:
        pts.append(obj)
    if params.follow_object:
        pts.append(interactions[-1].points)
    if not pts:
        return None
    allp = np.concatenate(pts)
    box = frame(params, allp, h, w)
    if box is None or current is None:
        return box
    if params.follow_object:
        keep = _holds(current, allp, params.edge_margin, h, w)
    else:
        keep = _inside(current, interactions[-1])
    return current if keep and _box_iou(current, box) >= 0.5 else box


def _inner_edges(mask: np.ndarray, box: Box, h: int, w: int) -> dict[str, np.ndarray]:
    """The prediction's pixels along each edge of ``box`` that is not on the image's border."""
    x0, y0, x1, y1 = box
    edges = {"left": (x0 > 0, mask[:, 0]), "right": (x1 < w, mask[:, -1]), "top": (y0 > 0, mask[0, :]),
             "bottom": (y1 < h, mask[-1, :])}
    return {side: px for side, (inner, px) in edges.items() if inner}


def reaches_edge(mask: np.ndarray, box: Box, h: int, w: int, min_share: float = 0.01) -> bool:
    """Whether ``mask`` (the crop's prediction, box-sized) touches an edge of ``box`` that is not on the
    image's border with at least ``min_share`` of that edge's pixels (and at least 2)."""
    return any(s.sum() >= max(2, min_share * len(s)) for s in _inner_edges(mask, box, h, w).values())


def regrow(params: ZoomInParams, mask: np.ndarray, box: Box, interactions: Sequence[Interaction],
           h: int, w: int) -> Box | None:
    """A larger crop around the object predicted on ``box`` (``mask``: box-sized) and the positive
    marks; it extends past every edge the object reached."""
    obj = _object_box(mask)
    pts = [i.points for i in interactions if i.positive] + [interactions[-1].points]
    if obj is not None:
        pts.append(obj + [box[0], box[1]])
    new = frame(params, np.concatenate(pts), h, w)
    if new is None:
        return None
    # never smaller than the crop it replaces on a side the object reached
    x0, y0, x1, y1 = new
    reached = {side for side, px in _inner_edges(mask, box, h, w).items() if px.any()}
    if "left" in reached:
        x0 = min(x0, max(0, box[0] - 1))
    if "right" in reached:
        x1 = max(x1, min(w, box[2] + 1))
    if "top" in reached:
        y0 = min(y0, max(0, box[1] - 1))
    if "bottom" in reached:
        y1 = max(y1, min(h, box[3] + 1))
    return x0, y0, x1, y1
