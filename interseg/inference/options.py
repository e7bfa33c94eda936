"""The network predictor's options: one typed object, built in one place.

A predictor's options come from three layers, later ones winning:

1. the defaults of :class:`PredictorOptions`;
2. the settings the model's publisher recommends, stored in the checkpoint's metadata
   (``inference.zoom_in_skip_clicks``, ``inference.refine``…: :func:`recommended_options`; a model
   imported from SAIC-IS or RITM records its reference's predictor: fixed size, ZoomIn, flip);
3. what the caller asks for: keyword arguments of :func:`interseg.load_predictor` or of
   :meth:`NetPredictor.set_options`, or the command line's flags, which the commands turn into the
   same keywords.

The keywords are flat (``zoom_in_skip_clicks=3``, ``refine="guided"``, ``refine_radius=8``…) so that
every front end (Python, command line, model server) names them the same way; :data:`OPTION_NAMES`
lists them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, ConfigError
from .click_guard import ClickGuardParams
from .refine import RefineParams
from .zoom_in import ZoomInParams

#: The probability above which a pixel belongs to the object (the reference protocol's 0.49).
DEFAULT_THRESHOLD = 0.49
#: The longest side of the network input on a whole image: about the scale the shipped models were
#: trained at (GrabCut and Berkeley are not larger; DAVIS's 854-px frames are downscaled a little, and
#: photos of several megapixels keep a bounded time and memory; ZoomIn crops add the detail back).
DEFAULT_MAX_SIZE = 640

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16")

#: keyword → what it sets (the documentation of every flat option name)
OPTION_NAMES: dict[str, str] = {
    "flip": "average the prediction with that of the horizontally mirrored input (bool)",
    "zoom_in": "predict on a crop around the object after the first interactions (bool)",
    "zoom_in_skip_clicks": "clicks predicted on the whole image before ZoomIn crops (int >= 0)",
    "zoom_in_target_size": "longest side of the network input on a ZoomIn crop (int >= 32)",
    "zoom_in_follow_object": "the crop always holds the predicted object and every new mark with a margin, and "
                             "grows when the prediction reaches its edge (bool; false: the reference's rule)",
    "max_size": "longest side of the network input on the whole image (int >= 32; 0 = the image as it is)",
    "fixed_size": "(height, width) the image or crop is stretched to (None = keep the aspect ratio)",
    "refine": "'none' or 'guided' (edge-aware guided filter on the probabilities), or a RefineParams",
    "refine_radius": "guided filter window radius in network-input pixels (int >= 1)",
    "refine_eps": "guided filter regularisation (> 0)",
    "backend": "'torch' (PyTorch) or 'onnx' (ONNX Runtime on the CPU)",
    "threshold": "probability above which a pixel is in the mask (0 < t < 1)",
    "click_guard": "move the look-alike pixels around a click the network ignored to the click's side (bool)",
    "precision": "'fp32', or 'bf16' (bfloat16 autocast of the torch network: faster on CPUs with native bfloat16)",
}


def check_threshold(t: Any, what: str = "predictor option threshold") -> float:
    """``t`` if it is a probability threshold (a number strictly between 0 and 1), else a ConfigError."""
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or not 0 < t < 1:
        raise ConfigError(f"{what} must be a number between 0 and 1, not {t!r}")
    return float(t)


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"predictor option {name} must be an integer >= {minimum}, not {value!r}")
    return value


@dataclass(frozen=True)
class PredictorOptions:
    """How a network predictor turns interactions into a probability map (see ``net_predictor``)."""

    fixed_size: tuple[int, int] | None = None   # (h, w)
    #: the whole image is downscaled to this longest side for the network (ZoomIn crops then add the
    #: detail, read from the full-resolution image), so that time and memory stay bounded on photos
    max_size: int | None = DEFAULT_MAX_SIZE
    zoom_in: ZoomInParams = field(default_factory=ZoomInParams)
    flip: bool = True
    refine: RefineParams = field(default_factory=RefineParams)
    backend: str = "torch"
    threshold: float = DEFAULT_THRESHOLD
    #: every click takes effect: a local correction around clicks left on the wrong side (click_guard.py)
    click_guard: ClickGuardParams = field(default_factory=ClickGuardParams)
    #: "bf16": the torch network runs under bfloat16 autocast
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.fixed_size is not None:
            if len(self.fixed_size) != 2:
                raise ConfigError(f"predictor option fixed_size must be (height, width), not {self.fixed_size!r}")
            object.__setattr__(self, "fixed_size", tuple(_int("fixed_size", v, 8) for v in self.fixed_size))
        if self.max_size is not None:
            _int("max_size", self.max_size, 32)
        if not isinstance(self.flip, bool):
            raise ConfigError(f"predictor option flip must be true or false, not {self.flip!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"predictor option backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"predictor option precision must be one of {', '.join(PRECISIONS)}, "
                              f"not {self.precision!r}")
        if self.precision == "bf16" and self.backend != "torch":
            raise ConfigError("predictor option precision bf16 applies to the torch backend (bfloat16 autocast), "
                              f"not to {self.backend!r}")
        check_threshold(self.threshold)

    def with_changes(self, **changes: Any) -> PredictorOptions:
        """A copy with the flat options of :data:`OPTION_NAMES` changed; ``None`` values are ignored
        (so "not given" on a command line keeps the current value)."""
        unknown = sorted(set(changes) - set(OPTION_NAMES))
        if unknown:
            raise ConfigError(f"unknown predictor option {', '.join(unknown)}; known: {', '.join(OPTION_NAMES)}")
        c = {k: v for k, v in changes.items() if v is not None}
        zoom = self.zoom_in
        if "zoom_in" in c:
            if not isinstance(c["zoom_in"], bool):
                raise ConfigError(f"predictor option zoom_in must be true or false, not {c['zoom_in']!r}")
            zoom = dataclasses.replace(zoom, enabled=c["zoom_in"])
        if "zoom_in_skip_clicks" in c:
            zoom = dataclasses.replace(zoom, skip_clicks=_int("zoom_in_skip_clicks", c["zoom_in_skip_clicks"], 0))
        if "zoom_in_target_size" in c:
            zoom = dataclasses.replace(zoom, target_size=_int("zoom_in_target_size", c["zoom_in_target_size"], 32))
        if "zoom_in_follow_object" in c:
            if not isinstance(c["zoom_in_follow_object"], bool):
                raise ConfigError("predictor option zoom_in_follow_object must be true or false, not "
                                  f"{c['zoom_in_follow_object']!r}")
            zoom = dataclasses.replace(zoom, follow_object=c["zoom_in_follow_object"])
        refine = self.refine
        if isinstance(c.get("refine"), RefineParams):
            refine = c.pop("refine")
        try:
            refine = RefineParams(c.get("refine", refine.mode), c.get("refine_radius", refine.radius),
                                  c.get("refine_eps", refine.eps))
        except ValueError as e:
            raise ConfigError(f"predictor option {e}") from None
        guard = self.click_guard
        if "click_guard" in c:
            if not isinstance(c["click_guard"], bool):
                raise ConfigError(f"predictor option click_guard must be true or false, not {c['click_guard']!r}")
            guard = dataclasses.replace(guard, enabled=c["click_guard"])
        fixed = c.get("fixed_size", self.fixed_size)
        max_size = c.get("max_size", self.max_size)
        return PredictorOptions(fixed_size=tuple(fixed) if fixed is not None else None,
                                max_size=None if max_size == 0 else max_size, zoom_in=zoom,
                                flip=c.get("flip", self.flip), refine=refine,
                                backend=c.get("backend", self.backend), threshold=c.get("threshold", self.threshold),
                                click_guard=guard, precision=c.get("precision", self.precision))

    def as_flat(self) -> dict[str, Any]:
        """The options as the flat keywords :meth:`with_changes` takes."""
        return {"flip": self.flip, "zoom_in": self.zoom_in.enabled, "zoom_in_skip_clicks": self.zoom_in.skip_clicks,
                "zoom_in_target_size": self.zoom_in.target_size,
                "zoom_in_follow_object": self.zoom_in.follow_object, "max_size": self.max_size,
                "fixed_size": self.fixed_size, "refine": self.refine.mode, "refine_radius": self.refine.radius,
                "refine_eps": self.refine.eps, "backend": self.backend, "threshold": self.threshold,
                "click_guard": self.click_guard.enabled, "precision": self.precision}


def recommended_options(meta: dict, source: str | Path) -> dict[str, Any]:
    """The flat options a model's publisher recommends (checkpoint metadata ``inference``), validated.

    Raises:
        CheckpointError: the metadata holds a value of the wrong type or range (the message names the file).
    """
    block = meta.get("inference", {})
    if not isinstance(block, dict):
        raise CheckpointError(f"{source}: metadata inference must be a mapping, not {block!r}")
    out: dict[str, Any] = {}
    skip = block.get("zoom_in_skip_clicks")
    if skip is not None:
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            raise CheckpointError(f"{source}: metadata inference.zoom_in_skip_clicks must be an integer >= 0, "
                                  f"not {skip!r}")
        out["zoom_in_skip_clicks"] = skip
    max_size = block.get("max_size")
    if max_size is not None:
        if not isinstance(max_size, int) or isinstance(max_size, bool) or (max_size < 32 and max_size != 0):
            raise CheckpointError(f"{source}: metadata inference.max_size must be an integer >= 32 (or 0: the "
                                  f"image as it is), not {max_size!r}")
        out["max_size"] = max_size
    # the settings an imported SAIC-IS/RITM model records (its reference's predictor)
    for key in ("fixed_size", "zoom_in", "zoom_in_target_size", "zoom_in_follow_object", "flip", "click_guard"):
        if key in block:
            value = block[key]
            out[key] = tuple(value) if key == "fixed_size" and isinstance(value, list) else value
            try:
                PredictorOptions().with_changes(**{key: out[key]})
            except ConfigError as e:
                raise CheckpointError(f"{source}: metadata inference.{key}: {e}") from None
    ref = block.get("refine")
    if ref is not None:
        try:
            if not isinstance(ref, dict) or set(ref) - {"mode", "radius", "eps"}:
                raise ValueError("expected a mapping with mode, radius and eps")
            params = RefineParams(**ref)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{source}: metadata inference.refine {ref!r}: {e}") from None
        out.update(refine=params.mode, refine_radius=params.radius, refine_eps=params.eps)
    return out


def resolve_options(meta: dict, source: str | Path, **user: Any) -> PredictorOptions:
    """Defaults < the model's recommendation < ``user`` (flat options; ``None`` = not given)."""
    return PredictorOptions().with_changes(**recommended_options(meta, source)).with_changes(**user)
