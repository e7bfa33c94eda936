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
    """A closed freehand outline; its inside is the object (positive) or background (negative)."""

    kind: ClassVar[InteractionType] = "contour"


@dataclass(frozen=True)
class Stroke(_Polyline):
    """An open freehand line (scribble) over object (positive) or background (negative)."""

    kind: ClassVar[InteractionType] = "stroke"


Interaction = Click | Contour | Stroke


def check_inside(interaction: Interaction, height: int, width: int) -> None:
    """Raise :class:`InteractionError` if any point lies outside a ``width`` x ``height`` image."""
    pts = interaction.points
    if not np.isfinite(pts).all():
        raise InteractionError(f"{interaction.kind} has a coordinate that is not a finite number")
    bad = (pts[:, 0] < 0) | (pts[:, 0] > width - 1) | (pts[:, 1] < 0) | (pts[:, 1] > height - 1)
    if bad.any():
        x, y = pts[bad][0]
        raise InteractionError(f"{interaction.kind} point ({x:.1f}, {y:.1f}) is outside the "
                               f"{width}x{height} image")


def interaction_to_dict(it: Interaction) -> dict:
    """JSON-friendly form: ``{"type": ..., "positive": ..., "points": [[x, y], ...]}``."""
    return {"type": it.kind, "positive": bool(it.positive), "points": it.points.round(2).tolist()}


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
    if kind == "stroke":
        return Stroke.from_points(pts, positive)
    raise InteractionError(f"unknown interaction type {kind!r} (point, contour or stroke)")
