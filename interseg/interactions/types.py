"""The three interaction types as plain, immutable data.

Coordinates are image pixels, ``x`` to the right and ``y`` down, as floats (sub-pixel positions
survive resizing).  The simulated users and the GUI produce exactly these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from ..errors import InteractionError

InteractionType = Literal["point", "contour", "stroke"]
INTERACTION_TYPES: tuple[InteractionType, ...] = ("point", "contour", "stroke")


@dataclass(frozen=True)
class Click:
    """A single positive (object) or negative (background) click."""

    x: float
    y: float
    positive: bool = True
    kind: ClassVar[InteractionType] = "point"

    @property
    def points(self) -> np.ndarray:
        return np.array([[self.x, self.y]], np.float64)

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Click:
        """Coordinates mapped by ``x' = (x - dx) * sx`` (and the same for y)."""
        return Click((self.x - dx) * sx, (self.y - dy) * sy, self.positive)


@dataclass(frozen=True)
class _Polyline:
    points_: tuple[tuple[float, float], ...]
    positive: bool = True
    kind: ClassVar[InteractionType]

    @property
    def points(self) -> np.ndarray:
        """(N, 2) array of (x, y)."""
        return np.asarray(self.points_, np.float64).reshape(-1, 2)

    @classmethod
    def from_points(cls, points, positive: bool = True):
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if len(pts) == 0:
            raise InteractionError(f"a {cls.kind} needs at least one point")
        if not np.isfinite(pts).all():
            raise InteractionError(f"a {cls.kind} has non-finite coordinates")
        return cls(tuple((float(x), float(y)) for x, y in pts), bool(positive))

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0):
        pts = (self.points - [dx, dy]) * [sx, sy]
        return type(self).from_points(pts, self.positive)


@dataclass(frozen=True)
class Contour(_Polyline):
    """A closed freehand outline; its inside is the object (positive) or background (negative).
    It needs at least three points (a box is a contour of its four corners)."""

    kind: ClassVar[InteractionType] = "contour"

    @classmethod
    def from_points(cls, points, positive: bool = True):
        c = super().from_points(points, positive)
        if len(c.points_) < 3:
            raise InteractionError(f"a contour needs at least 3 points (a closed outline), got {len(c.points_)}")
        return c

    @classmethod
    def box(cls, x0: float, y0: float, x1: float, y1: float, positive: bool = True) -> Contour:
        """The closed contour of a rectangle (its corners)."""
        return cls.from_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], positive)


@dataclass(frozen=True)
class Stroke(_Polyline):
    """An open freehand line (scribble) over object (positive) or background (negative)."""

    kind: ClassVar[InteractionType] = "stroke"


@dataclass(frozen=True, eq=False)
class MaskStroke:
    """A painted brush stroke given as a mask: it is drawn as given (its width included), resized with
    the image, instead of a line of the model's stroke width. Its kind is ``"stroke"``.

    Stored as the mask's bounding-box crop (``crop``, at ``origin`` = (x0, y0) of the image) and the
    mapping ``x' = (x - dx) * sx`` from image to current coordinates that :meth:`scaled` composes.
    """

    crop: np.ndarray                       # bool (h, w)
    origin: tuple[int, int]                # x0, y0 of the crop in the image
    positive: bool = True
    transform: tuple[float, float, float, float] = (1.0, 1.0, 0.0, 0.0)   # sx, sy, dx, dy
    kind: ClassVar[InteractionType] = "stroke"

    @classmethod
    def from_mask(cls, mask: np.ndarray, positive: bool = True) -> MaskStroke:
        """From a (H, W) mask at the image's resolution (nonzero = painted).

        Raises:
            InteractionError: the mask is not 2-D or paints nothing.
        """
        m = np.asarray(mask)
        if m.ndim != 2:
            raise InteractionError(f"a stroke mask must be 2-D (H, W), got shape {m.shape}")
        ys, xs = np.nonzero(m)
        if not len(ys):
            raise InteractionError("a stroke mask paints no pixel")
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        return cls(m[y0:y1, x0:x1].astype(bool), (int(x0), int(y0)), bool(positive))

    @property
    def points(self) -> np.ndarray:
        """The corners of the painted bounding box, in current coordinates (for crops and bounds)."""
        x0, y0 = self.origin
        h, w = self.crop.shape
        corners = np.array([[x0, y0], [x0 + w - 1, y0], [x0 + w - 1, y0 + h - 1], [x0, y0 + h - 1]], np.float64)
        sx, sy, dx, dy = self.transform
        return (corners - [dx, dy]) * [sx, sy]

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> MaskStroke:
        s0x, s0y, d0x, d0y = self.transform
        return MaskStroke(self.crop, self.origin, self.positive,
                          (s0x * sx, s0y * sy, d0x + dx / s0x, d0y + dy / s0y))

    def render(self, shape: tuple[int, int]) -> np.ndarray:
        """The painted pixels in current coordinates on a (H, W) grid (area-resampled: thin strokes
        stay visible when downscaled)."""
        import cv2

        sx, sy, dx, dy = self.transform
        h, w = self.crop.shape
        x0, y0 = (self.origin[0] - dx) * sx, (self.origin[1] - dy) * sy
        nw, nh = max(1, round(w * sx)), max(1, round(h * sy))
        m = self.crop.astype(np.float32)
        if (nw, nh) != (w, h):
            m = cv2.resize(m, (nw, nh), interpolation=cv2.INTER_AREA if nw < w or nh < h else cv2.INTER_NEAREST)
        out = np.zeros(shape, bool)
        ox, oy = round(x0), round(y0)
        ax0, ay0, ax1, ay1 = max(ox, 0), max(oy, 0), min(ox + nw, shape[1]), min(oy + nh, shape[0])
        if ax1 > ax0 and ay1 > ay0:
            out[ay0:ay1, ax0:ax1] = m[ay0 - oy:ay1 - oy, ax0 - ox:ax1 - ox] > 0.3
        return out


Interaction = Click | Contour | Stroke | MaskStroke


def check_inside(interaction: Interaction, height: int, width: int) -> None:
    """Raise :class:`InteractionError` if any point lies outside a ``width`` x ``height`` image."""
    pts = interaction.points
    if not np.isfinite(pts).all():
        raise InteractionError(f"{interaction.kind} has a coordinate that is not a finite number")
    bad = (pts[:, 0] < 0) | (pts[:, 0] > width - 1) | (pts[:, 1] < 0) | (pts[:, 1] > height - 1)
    if bad.any():
        x, y = pts[bad][0]
        what = "click" if interaction.kind == "point" else f"{interaction.kind} point"
        raise InteractionError(f"{what} ({x:.1f}, {y:.1f}) is outside the "
                               f"{width}x{height} image")


def interaction_to_dict(it: Interaction) -> dict:
    """JSON-friendly form: ``{"type": ..., "positive": ..., "points": [[x, y], ...]}``; a mask stroke
    also carries ``"mask"``: its COCO RLE at image size (``"points"`` are then its box corners)."""
    out = {"type": it.kind, "positive": bool(it.positive), "points": it.points.round(2).tolist()}
    if isinstance(it, MaskStroke):
        from pycocotools import mask as mask_utils

        if it.transform != (1.0, 1.0, 0.0, 0.0):
            raise InteractionError("only a mask stroke in image coordinates can be serialised")
        x0, y0 = it.origin
        h, w = it.crop.shape
        rle = mask_utils.encode(np.asfortranarray(it.crop.astype(np.uint8)))
        out["mask"] = {"origin": [x0, y0], "size": [h, w], "counts": rle["counts"].decode("ascii")}
    return out


def interaction_from_dict(d: dict) -> Interaction:
    try:
        kind, positive, pts = d["type"], bool(d.get("positive", True)), d["points"]
    except (KeyError, TypeError) as e:
        raise InteractionError(f"interaction record {d!r} lacks {e}") from None
    if kind == "point":
        arr = np.asarray(pts, np.float64).reshape(-1, 2)
        if len(arr) != 1:
            raise InteractionError(f"a point interaction needs exactly one point, got {len(arr)}")
        return Click(float(arr[0, 0]), float(arr[0, 1]), positive)
    if kind == "contour":
        return Contour.from_points(pts, positive)
    if kind == "stroke" and isinstance(d.get("mask"), dict):
        from pycocotools import mask as mask_utils

        try:
            m = d["mask"]
            crop = mask_utils.decode({"size": list(m["size"]), "counts": m["counts"].encode("ascii")}).astype(bool)
            return MaskStroke(crop, (int(m["origin"][0]), int(m["origin"][1])), positive)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InteractionError(f"stroke mask record is malformed ({e})") from None
    if kind == "stroke":
        return Stroke.from_points(pts, positive)
    raise InteractionError(f"unknown interaction type {kind!r} (point, contour or stroke)")
