"""Simulated users: given the ground truth and the current prediction, propose the next interaction.

* :class:`RITMClicker` — deterministic: the first pixel in raster order with the maximal distance
  to the border of the chosen error region, skipping pixels clicked before (the protocol behind
  the published NoC tables of RITM, SimpleClick and FocalClick).  Our default for NoI.
* :class:`SaicClicker` — a seeded random pixel of the chosen error region, biased towards its
  interior: a distance level is drawn uniformly between 0 and the region's maximum and a pixel at
  least that deep is picked.
* :class:`ContourUser` — a closed outline of the chosen error component (its inner part, where the
  distance to the border exceeds 20 % of the maximum), smoothed and slightly shifted/stretched;
  positive outlines are sometimes replaced by their convex hull.  On an empty prediction the first
  contour outlines the whole object.
* :class:`StrokeUser` — an open line along the medial axis (skeleton) of the chosen error
  component, smoothed, with natural jitter, covering a random 60-100 % of the axis.

Every generated contour/stroke is checked: at least 90 % of its pixels (filled area for contours,
centre line for strokes) lie on the targeted error region; jitter that breaks this is retried with
less jitter, falling back to the unjittered shape.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np
from skimage.morphology import skeletonize

from ..errors import InteractionError
from .encoding import draw_polyline, fill_polygon
from .errors import ErrorTarget, distance_transform, error_masks, largest_error
from .types import Click, Contour, Interaction, InteractionType, Stroke

MIN_ON_REGION = 0.9
USERS = ("reference", "human-like")


def _clicked_mask(history: Sequence[Interaction], shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for it in history:
        if isinstance(it, Click):
            x, y = int(round(it.x)), int(round(it.y))
            if 0 <= y < shape[0] and 0 <= x < shape[1]:
                mask[y, x] = True
    return mask


def _random_click(rng: np.random.Generator, shape: tuple[int, int]) -> Click:
    return Click(float(rng.integers(shape[1])), float(rng.integers(shape[0])), False)


class RITMClicker:
    """Deterministic next click (see module docstring)."""

    def next_click(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                   history: Sequence[Interaction] = ()) -> Click:
        # as the reference: clicked pixels are taken out of both distance maps before the sign is
        # decided; the click is the first pixel in raster order at the chosen map's maximum (when every
        # error pixel was clicked that maximum is 0, and so is the click's distance: the reference's
        # degenerate case, kept so that records match it object for object)
        fn, fp = error_masks(gt, pred, ignore)
        not_clicked = ~_clicked_mask(history, gt.shape)
        fn_dt, fp_dt = distance_transform(fn) * not_clicked, distance_transform(fp) * not_clicked
        positive = fn_dt.max() > fp_dt.max()
        dt = fn_dt if positive else fp_dt
        ys, xs = np.nonzero(dt == dt.max())  # raster order: the first is the top-most, then left-most
        return Click(float(xs[0]), float(ys[0]), bool(positive))


class SaicClicker:
    """Seeded random click in the chosen error region, biased to its interior."""

    def __init__(self, seed: int | None = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def next_click(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                   history: Sequence[Interaction] = ()) -> Click:
        target = largest_error(gt, pred, ignore)
        if target is None:
            return _random_click(self.rng, gt.shape)
        dt = target.dt * ~_clicked_mask(history, gt.shape)
        if dt.max() == 0:
            dt = target.dt
        level = self.rng.uniform(0, dt.max())
        ys, xs = np.nonzero(dt >= max(level, 1e-6))
        i = int(self.rng.integers(len(ys)))
        return Click(float(xs[i]), float(ys[i]), target.positive)


def _fraction_on(mask: np.ndarray, region: np.ndarray) -> float:
    n = int(mask.sum())
    return float((mask & region).sum()) / n if n else 0.0


def _smooth_closed(pts: np.ndarray, k: int) -> np.ndarray:
    if len(pts) < 5 or k < 2:
        return pts
    kernel = np.ones(k) / k
    padded = np.concatenate([pts[-k:], pts, pts[:k]])
    out = np.stack([np.convolve(padded[:, i], kernel, mode="same") for i in range(2)], 1)
    return out[k:-k]


def _smooth_open(pts: np.ndarray, k: int) -> np.ndarray:
    if len(pts) < 5 or k < 2:
        return pts
    kernel = np.ones(k) / k
    padded = np.concatenate([np.repeat(pts[:1], k, 0), pts, np.repeat(pts[-1:], k, 0)])
    out = np.stack([np.convolve(padded[:, i], kernel, mode="same") for i in range(2)], 1)
    return out[k:-k]


def _resample(pts: np.ndarray, step: float, closed: bool) -> np.ndarray:
    """Points spaced ``step`` pixels along the polyline."""
    if len(pts) < 2:
        return pts
    path = np.concatenate([pts, pts[:1]]) if closed else pts
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    cum = np.concatenate([[0], np.cumsum(seg)])
    if cum[-1] == 0:
        return pts[:1]
    n = max(2, int(cum[-1] / step) + 1)
    t = np.linspace(0, cum[-1], n, endpoint=not closed)
    return np.stack([np.interp(t, cum, path[:, 0]), np.interp(t, cum, path[:, 1])], 1)


def _outline(mask: np.ndarray) -> np.ndarray | None:
    """The outer boundary of the largest blob of ``mask`` as (N, 2) float points."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    return c.reshape(-1, 2).astype(np.float64)


class ContourUser:
    """Seeded contour simulator (see module docstring)."""

    def __init__(self, seed: int | None = 0, core_ratio: float = 0.2, hull_prob: float = 0.5,
                 jitter: float = 1.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.core_ratio = core_ratio
        self.hull_prob = hull_prob
        self.jitter = jitter

    def next_contour(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                     history: Sequence[Interaction] = ()) -> Contour | None:
        h, w = gt.shape
        if not pred.any():
            # Empty prediction: a loose outline of the whole object (its largest part).
            region = gt & ~ignore if ignore is not None else gt.copy()
            dt = distance_transform(region)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
            if n <= 1:
                return None
            core = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            target = ErrorTarget(True, region, dt, core)
        else:
            target = largest_error(gt, pred, ignore)
            if target is None:
                return None
            core = None
        comp_dt = target.dt * target.component
        if core is None:
            core = target.component & (comp_dt > self.core_ratio * comp_dt.max())
        m = max(1.0, float(comp_dt.max()))
        cy, cx = np.unravel_index(int(np.argmax(comp_dt)), comp_dt.shape)
        margin = max(1.0, self.core_ratio * m)
        # A ring-shaped or winding region cannot be outlined as a whole: fall back to ever smaller
        # windows around its deepest point (a disk of radius max-DT there lies inside the region).
        for radius in (None, 8 * m, 4 * m, 2 * m, m):
            blob = core if radius is None else core & (np.hypot(*np.ogrid[-cy:h - cy, -cx:w - cx]) <= radius)
            outline = _outline(blob)
            if outline is None or len(outline) < 3:
                continue
            base = _smooth_closed(_resample(outline, 2.0, closed=True), 5)
            if len(base) < 3:
                base = outline
            candidates = [base, outline]
            if target.positive and self.rng.random() < self.hull_prob:
                hull = cv2.convexHull(base.astype(np.float32)).reshape(-1, 2).astype(np.float64)
                candidates.insert(0, hull)
            for cand in candidates:
                if len(np.unique(np.round(cand, 3), axis=0)) < 3:
                    continue      # a hull of collinear points: not an outline
                for scale in (1.0, 0.5, 0.0):
                    pts = self._jitter(cand, margin * self.jitter * scale)
                    pts[:, 0] = pts[:, 0].clip(0, w - 1)
                    pts[:, 1] = pts[:, 1].clip(0, h - 1)
                    if _fraction_on(fill_polygon(pts, gt.shape), target.region) >= MIN_ON_REGION:
                        return Contour.from_points(pts, target.positive)
        return None

    def _jitter(self, pts: np.ndarray, amount: float) -> np.ndarray:
        if amount <= 0:
            return pts.copy()
        c = pts.mean(0)
        stretch = 1 + self.rng.uniform(-0.05, 0.05, 2)
        shift = self.rng.uniform(-0.5, 0.5, 2) * amount
        # low-frequency wobble along the outline
        n = len(pts)
        phase = self.rng.uniform(0, 2 * np.pi, 2)
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        wobble = np.stack([np.sin(2 * t + phase[0]), np.cos(3 * t + phase[1])], 1) * 0.3 * amount
        return (pts - c) * stretch + c + shift + wobble


def _skeleton_path(component: np.ndarray) -> np.ndarray:
    """The longest path (in 8-connected steps) through the component's skeleton, as (N, 2) x, y."""
    skel = skeletonize(component)
    ys, xs = np.nonzero(skel)
    if len(ys) == 0:
        ys, xs = np.nonzero(component)
        i = len(ys) // 2
        return np.array([[xs[i], ys[i]]], np.float64)
    index = {(int(y), int(x)): i for i, (y, x) in enumerate(zip(ys, xs, strict=True))}
    nbrs = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]

    def bfs(start: int) -> tuple[int, list[int]]:
        parent = {start: -1}
        q = deque([start])
        last = start
        while q:
            i = q.popleft()
            last = i
            y, x = int(ys[i]), int(xs[i])
            for dy, dx in nbrs:
                j = index.get((y + dy, x + dx))
                if j is not None and j not in parent:
                    parent[j] = i
                    q.append(j)
        path, i = [], last
        while i != -1:
            path.append(i)
            i = parent[i]
        return last, path

    far, _ = bfs(0)
    _, path = bfs(far)
    return np.stack([xs[path], ys[path]], 1).astype(np.float64)


class StrokeUser:
    """Seeded stroke simulator (see module docstring)."""

    def __init__(self, seed: int | None = 0, min_cover: float = 0.6, jitter: float = 1.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.min_cover = min_cover
        self.jitter = jitter

    def next_stroke(self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
                    history: Sequence[Interaction] = ()) -> Stroke | None:
        target = largest_error(gt, pred, ignore)
        if target is None:
            return None
        path = _skeleton_path(target.component)
        if len(path) >= 4:
            n = len(path)
            keep = int(np.ceil(n * self.rng.uniform(self.min_cover, 1.0)))
            start = int(self.rng.integers(0, n - keep + 1))
            path = path[start:start + keep]
        base = _smooth_open(_resample(path, 3.0, closed=False), 3) if len(path) > 1 else path
        local = target.dt[np.clip(base[:, 1].round().astype(int), 0, gt.shape[0] - 1),
                          np.clip(base[:, 0].round().astype(int), 0, gt.shape[1] - 1)]
        for scale in (1.0, 0.5, 0.0):
            pts = base.copy()
            if scale > 0 and len(pts) > 1:
                noise = np.cumsum(self.rng.normal(0, 0.3, pts.shape), axis=0)
                noise = _smooth_open(noise - noise.mean(0), 5)
                limit = (0.35 * self.jitter * scale * np.maximum(local, 1.0))[:, None]
                pts = pts + np.clip(noise, -limit, limit)
            pts[:, 0] = pts[:, 0].clip(0, gt.shape[1] - 1)
            pts[:, 1] = pts[:, 1].clip(0, gt.shape[0] - 1)
            if _fraction_on(draw_polyline(pts, gt.shape, 1), target.region) >= MIN_ON_REGION:
                return Stroke.from_points(pts, target.positive)
        return Stroke.from_points(path, target.positive)


class SimulatedUser:
    """One seeded user that can produce every interaction type.

    ``clicker`` is ``"ritm"`` (deterministic, default) or ``"saic"`` (seeded random). ``user`` is
    ``"reference"`` (the reference protocol's contours and strokes) or ``"human-like"`` (short
    scribbles and loose outlines, :mod:`interseg.interactions.human`). If a contour or stroke cannot be
    drawn (e.g. the error region is a single pixel), a click is given instead.
    """

    def __init__(self, seed: int = 0, clicker: str = "ritm", user: str = "reference") -> None:
        if clicker not in ("ritm", "saic"):
            raise ValueError(f"unknown clicker {clicker!r} (ritm or saic)")
        if user not in USERS:
            raise ValueError(f"unknown user {user!r} ({', '.join(USERS)})")
        ss = np.random.SeedSequence(seed)
        a, b, c = ss.spawn(3)
        self.clicker = RITMClicker() if clicker == "ritm" else SaicClicker(a)
        if user == "human-like":
            from .human import HumanContourUser, HumanStrokeUser

            self.contours, self.strokes = HumanContourUser(b), HumanStrokeUser(c)
        else:
            self.contours, self.strokes = ContourUser(b), StrokeUser(c)

    def next(self, kind: InteractionType, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
             history: Sequence[Interaction] = ()) -> Interaction:
        it: Interaction | None = None
        if kind not in ("point", "contour", "stroke"):
            raise ValueError(f"unknown interaction type {kind!r}")
        try:
            if kind == "contour":
                it = self.contours.next_contour(gt, pred, ignore, history)
            elif kind == "stroke":
                it = self.strokes.next_stroke(gt, pred, ignore, history)
        except InteractionError:
            it = None     # a degenerate shape (a sliver of a region): a click instead, never a crash
        if it is None:
            it = self.clicker.next_click(gt, pred, ignore, history)
        return it
