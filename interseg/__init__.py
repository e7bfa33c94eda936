"""interseg: multi-input interactive image segmentation (clicks, contours, strokes).

The Python API in a few names (see docs/api.md)::

    import interseg

    predictor = interseg.load_predictor()            # the default shipped model
    image = interseg.load_image("photo.jpg")
    session = interseg.Session(image, predictor)
    session.add(interseg.Click(120, 80))             # or Contour / Stroke, positive or negative
    mask = session.mask                               # (H, W) bool

The names are imported on first use, so ``import interseg`` (and ``interseg --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__ as __version__

#: public name → module that defines it
_EXPORTS = {
    "load_predictor": "interseg.inference.loading",
    "shipped_models": "interseg.inference.loading",
    "DEFAULT_MODEL": "interseg.inference.loading",
    "NetPredictor": "interseg.inference.net_predictor",
    "PredictorOptions": "interseg.inference.options",
    "DEFAULT_THRESHOLD": "interseg.inference.options",
    "GrabCutPredictor": "interseg.inference.grabcut",
    "Session": "interseg.inference.session",
    "StepResult": "interseg.inference.session",
    "Click": "interseg.interactions.types",
    "Contour": "interseg.interactions.types",
    "Stroke": "interseg.interactions.types",
    "MaskStroke": "interseg.interactions.types",
    "load_image": "interseg.data.image_io",
    "open_dataset": "interseg.data.registry",
    "iou": "interseg.evaluation.metrics",
    "IntersegError": "interseg.errors",
}

__all__ = ["DEFAULT_MODEL", "DEFAULT_THRESHOLD", "Click", "Contour", "GrabCutPredictor", "IntersegError",
           "MaskStroke", "NetPredictor", "PredictorOptions", "Session", "StepResult", "Stroke", "iou", "load_image",
           "load_predictor", "open_dataset", "shipped_models"]

if TYPE_CHECKING:  # pragma: no cover
    from .data.image_io import load_image
    from .data.registry import open_dataset
    from .errors import IntersegError
    from .evaluation.metrics import iou
    from .inference.grabcut import GrabCutPredictor
    from .inference.loading import DEFAULT_MODEL, load_predictor, shipped_models
    from .inference.net_predictor import NetPredictor
    from .inference.options import DEFAULT_THRESHOLD, PredictorOptions
    from .inference.session import Session, StepResult
    from .interactions.types import Click, Contour, MaskStroke, Stroke


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'interseg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
