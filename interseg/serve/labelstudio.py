"""Label Studio's side of the model-server protocol: its labeling config, the regions an annotator
draws (``params.context.result``) as interseg interactions, and the ``brushlabels`` result.

Region → interaction (coordinates arrive in percent of the original image size):

* ``keypointlabels`` (a smart key point) → :class:`Click`;
* ``rectanglelabels`` → the closed :class:`Contour` of its (possibly rotated) corners;
* ``polygonlabels`` → :class:`Contour`;
* ``brushlabels`` (a painted brush stroke, Label Studio's brush RLE) → :class:`MaskStroke`, drawn as
  painted.

``is_positive: false`` (the annotator's negative mode) makes any of them negative.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InteractionError
from ..interactions.encoding import fill_polygon
from ..interactions.types import Click, Contour, Interaction, MaskStroke
from .brush_rle import decode_mask, encode_mask

REGION_TYPES = ("keypointlabels", "rectanglelabels", "polygonlabels", "brushlabels")


@dataclass
class LabelingConfig:
    """What the server needs from a project's labeling config (XML)."""

    image_name: str = "image"         # the <Image name=...> the regions point to
    image_key: str = "image"          # the task data key of its value="$key"
    brush_name: str | None = None     # the <BrushLabels name=...> our results are written to
    brush_labels: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, xml: str | None) -> LabelingConfig:
        """Read the first ``<Image>`` and ``<BrushLabels>`` tags; a missing or broken config gives the
        defaults (``$image``, no brush control), so that a task can still be answered when possible."""
        cfg = cls()
        if not xml:
            return cfg
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as e:
            raise InteractionError(f"the project's labeling config is not valid XML ({e})") from None
        image = next(root.iter("Image"), None)
        if image is not None:
            cfg.image_name = image.get("name", cfg.image_name)
            cfg.image_key = image.get("value", "$image").lstrip("$")
        brush = next(root.iter("BrushLabels"), None)
        if brush is not None:
            cfg.brush_name = brush.get("name")
            cfg.brush_labels = [lab.get("value", "") for lab in brush.iter("Label")]
        return cfg


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InteractionError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _size(region: dict, width: int, height: int) -> tuple[int, int]:
    """The region's original image size; it must be the task image's."""
    w, h = region.get("original_width", width), region.get("original_height", height)
    if (w, h) != (width, height):
        raise InteractionError(f"region {region.get('id', '?')} was drawn on a {w}x{h} image, but the task "
                               f"image is {width}x{height}")
    return width, height


def _percent_point(x: Any, y: Any, w: int, h: int, what: str) -> tuple[float, float]:
    px, py = _num(x, f"{what} x"), _num(y, f"{what} y")
    if not (0 <= px <= 100 and 0 <= py <= 100):
        raise InteractionError(f"{what} ({px:g} %, {py:g} %) lies outside the image")
    return min(px * w / 100, w - 1), min(py * h / 100, h - 1)


def region_to_interaction(region: dict, width: int, height: int) -> Interaction:
    """One region of ``context.result`` → an interaction at the image's pixel coordinates.

    Raises:
        InteractionError: an unknown region type, a malformed value, or coordinates outside the image.
    """
    if not isinstance(region, dict):
        raise InteractionError(f"a region must be an object, not {type(region).__name__}")
    kind = region.get("type")
    value = region.get("value")
    rid = region.get("id", "?")
    if kind not in REGION_TYPES:
        raise InteractionError(f"region {rid}: type {kind!r} is not supported (supported: {', '.join(REGION_TYPES)})")
    if not isinstance(value, dict):
        raise InteractionError(f"region {rid}: value must be an object")
    w, h = _size(region, width, height)
    positive = region.get("is_positive", True) is not False
    what = f"region {rid} ({kind})"
    if kind == "keypointlabels":
        x, y = _percent_point(value.get("x"), value.get("y"), w, h, what)
        return Click(x, y, positive)
    if kind == "rectanglelabels":
        x0, y0 = _percent_point(value.get("x"), value.get("y"), w, h, what)
        rw = _num(value.get("width"), f"{what} width") * w / 100
        rh = _num(value.get("height"), f"{what} height") * h / 100
        if rw <= 0 or rh <= 0:
            raise InteractionError(f"{what} is empty ({rw:g} x {rh:g} px)")
        angle = math.radians(_num(value.get("rotation", 0), f"{what} rotation"))
        c, s = math.cos(angle), math.sin(angle)
        corners = [(x0 + dx * c - dy * s, y0 + dx * s + dy * c) for dx, dy in ((0, 0), (rw, 0), (rw, rh), (0, rh))]
        pts = np.clip(np.array(corners), 0, [w - 1, h - 1])
        return Contour.from_points(pts, positive)
    if kind == "polygonlabels":
        raw = value.get("points")
        if not isinstance(raw, list) or len(raw) < 3 or not all(isinstance(p, list | tuple) and len(p) == 2
                                                                for p in raw):
            raise InteractionError(f"{what} needs at least 3 points [x, y]")
        return Contour.from_points([_percent_point(p[0], p[1], w, h, what) for p in raw], positive)
    if value.get("format", "rle") != "rle" or "rle" not in value:
        raise InteractionError(f"{what}: only brush masks in Label Studio's rle format are supported")
    mask = decode_mask(value["rle"], h, w)
    return MaskStroke.from_mask(mask, positive)


def region_mask(region: dict) -> np.ndarray | None:
    """A saved annotation's region as an object mask at its original size: brush masks and polygons
    (``None`` for other region types, which are not segmentations).

    Raises:
        InteractionError: a malformed region, or one without its original size.
    """
    if not isinstance(region, dict) or region.get("type") not in ("brushlabels", "polygonlabels"):
        return None
    try:
        w, h = int(region["original_width"]), int(region["original_height"])
    except (KeyError, TypeError, ValueError):
        raise InteractionError(f"region {region.get('id', '?')}: no original_width/original_height") from None
    it = region_to_interaction({**region, "is_positive": True}, w, h)
    if isinstance(it, MaskStroke):
        return it.render((h, w))
    return fill_polygon(it.points, (h, w))


def region_label(region: dict) -> str | None:
    """The label the annotator chose for a region (``keypointlabels: ["Object"]`` …), if any."""
    value = region.get("value") if isinstance(region, dict) else None
    labels = value.get(region.get("type", ""), []) if isinstance(value, dict) else []
    return labels[0] if isinstance(labels, list) and labels and isinstance(labels[0], str) else None


def brush_result(mask: np.ndarray, label: str, config: LabelingConfig, score: float) -> dict[str, Any]:
    """A ``brushlabels`` region of the mask, at the image's original size."""
    if config.brush_name is None:
        raise InteractionError("the project's labeling config has no <BrushLabels> control to write the mask to")
    h, w = mask.shape
    return {"from_name": config.brush_name, "to_name": config.image_name, "type": "brushlabels",
            "original_width": w, "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": encode_mask(mask), "brushlabels": [label]}, "score": score}
