"""Rasterising interactions into the network's input maps.

Six maps, in the order ``[point+, point-, contour+, contour-, stroke+, stroke-]`` (the previous-mask
channel is added by the model input builder).  Clicks are disks,
contours filled polygons or closed lines (``CONTOUR_FILLED``), strokes lines of a set width.

Networks imported from SAIC-IS or RITM encode clicks as those projects' ``DistMaps`` does
(``point_maps``): a pixel is in a click's disk when its squared distance from the click, on the
integer pixel grid, is at most the radius squared (``reference_disk``); or the map is
``tanh(2 * d / radius)`` of the distance ``d`` to the nearest click, 1 where there is none
(``reference_distance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from .types import Click, Contour, Interaction, MaskStroke, Stroke

MAP_NAMES = ("point+", "point-", "contour+", "contour-", "stroke+", "stroke-")
TYPE_OFFSET = {"point": 0, "contour": 2, "stroke": 4}


@dataclass(frozen=True)
class EncodingParams:
    """How interactions become maps (sizes in pixels at the resolution of the maps)."""

    click_radius: float = 5.0
    line_width: int = 10
    contour_filled: bool = True
    point_maps: Literal["disk", "reference_disk", "reference_distance"] = "disk"


_SHIFT = 4  # cv2 drawing with 1/16-pixel precision


def _pts(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def fill_polygon(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the polygon's inside (boundary included)."""
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [_pts(points)], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    cv2.polylines(out, [_pts(points)], True, 1, 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return out.astype(bool)


def draw_polyline(points: np.ndarray, shape: tuple[int, int], width: int, closed: bool = False) -> np.ndarray:
    """Boolean mask of a polyline drawn ``width`` pixels wide (round caps)."""
    out = np.zeros(shape, np.uint8)
    width = max(1, int(round(width)))
    if len(points) == 1:
        cv2.circle(out, tuple(_pts(points)[0, 0]), max(0, (width << _SHIFT) // 2), 1, -1, cv2.LINE_8, _SHIFT)
    else:
        cv2.polylines(out, [_pts(points)], closed, 1, width, lineType=cv2.LINE_8, shift=_SHIFT)
    return out.astype(bool)


def draw_disks(points: np.ndarray, shape: tuple[int, int], radius: float) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for p in _pts(points):
        cv2.circle(out, tuple(p[0]), int(round(radius * (1 << _SHIFT))), 1, -1, cv2.LINE_8, _SHIFT)
    return out.astype(bool)


def reference_point_map(points: np.ndarray, shape: tuple[int, int], radius: float, disks: bool) -> np.ndarray:
    """One sign's click map as SAIC-IS/RITM compute it; ``points`` (N, 2) are (x, y) at map resolution."""
    h, w = shape
    if len(points) == 0:
        return np.zeros(shape, np.float32) if disks else np.ones(shape, np.float32)
    rows = np.arange(h, dtype=np.float32)[None, :, None]
    cols = np.arange(w, dtype=np.float32)[None, None, :]
    pts = np.asarray(points, np.float32)
    dy = rows - pts[:, 1, None, None]
    dx = cols - pts[:, 0, None, None]
    if disks:
        d2 = (dy * dy + dx * dx).min(0)
        return (d2 <= np.float32(radius) ** 2).astype(np.float32)
    dy, dx = dy / np.float32(radius), dx / np.float32(radius)
    return np.tanh(2 * np.sqrt((dy * dy + dx * dx).min(0))).astype(np.float32)


def interaction_mask(it: Interaction, shape: tuple[int, int], params: EncodingParams) -> np.ndarray:
    """The pixels one interaction marks, at the resolution of ``shape``."""
    if isinstance(it, Click):
        return draw_disks(it.points, shape, params.click_radius)
    if isinstance(it, Contour):
        if params.contour_filled:
            return fill_polygon(it.points, shape)
        return draw_polyline(it.points, shape, params.line_width, closed=True)
    if isinstance(it, MaskStroke):
        return it.render(shape)
    if isinstance(it, Stroke):
        return draw_polyline(it.points, shape, params.line_width)
    raise TypeError(f"not an interaction: {it!r}")


def encode(interactions: Sequence[Interaction], shape: tuple[int, int], params: EncodingParams,
           transform: tuple[float, float, float, float] = (1.0, 1.0, 0.0, 0.0)) -> np.ndarray:
    """(6, H, W) float32 maps.  ``transform`` = (sx, sy, dx, dy) maps image → map coordinates."""
    sx, sy, dx, dy = transform
    maps = np.zeros((6, *shape), np.float32)
    clicks: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for it in interactions:
        it = it.scaled(sx, sy, dx, dy) if transform != (1.0, 1.0, 0.0, 0.0) else it
        if params.point_maps != "disk" and isinstance(it, Click):
            clicks[it.positive].append(it.points[0])
            continue
        ch = TYPE_OFFSET[it.kind] + (0 if it.positive else 1)
        maps[ch] = np.maximum(maps[ch], interaction_mask(it, shape, params))
    if params.point_maps != "disk":
        for positive, pts in clicks.items():
            maps[0 if positive else 1] = reference_point_map(np.reshape(pts, (-1, 2)), shape, params.click_radius,
                                                             params.point_maps == "reference_disk")
    return maps
