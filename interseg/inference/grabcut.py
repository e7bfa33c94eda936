"""The classical baseline: OpenCV's GrabCut seeded from the interactions.

Seeds (at a working resolution whose longest side is at most ``work_size``):

* positive/negative clicks: disks of sure foreground/background; on an empty previous mask a
  positive click also marks a surrounding disk (``seed_radius`` x image diagonal) as probable
  foreground, so GrabCut has a foreground model to start from;
* strokes: lines of sure foreground/background;
* positive contours: inside = probable foreground, and on an empty previous mask everything outside
  every positive contour is sure background (GrabCut's classic "rectangle" use); negative contours:
  inside = probable background;
* the previous mask (prob > 0.5) gives probable foreground, the rest probable background.

OpenCV's GrabCut initialises its colour models with k-means seeded from OpenCV's global random
generator, whose state depends on every earlier call in the process (and so, in a multi-process
evaluation, on which worker got which object). Each prediction therefore reseeds it with ``rng_seed``: the
baseline's results depend only on the image and the interactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError
from ..interactions.encoding import draw_disks, draw_polyline, fill_polygon
from ..interactions.types import Click, Contour, Interaction, MaskStroke, Stroke
from .options import DEFAULT_THRESHOLD, check_threshold
from .predictor import PredictorState, options_fingerprint, replace_fields


@dataclass(frozen=True)
class GrabCutOptions:
    """The baseline's settings (sizes in working-resolution pixels, ``seed_radius`` a fraction of the
    diagonal) and the threshold every predictor has (GrabCut's probabilities are 0 or 1)."""

    work_size: int = 320
    iterations: int = 2
    click_radius: float = 4.0
    line_width: int = 5
    seed_radius: float = 0.12
    rng_seed: int = 0
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("work_size", "iterations", "line_width", "rng_seed"):
            v, least = getattr(self, name), 0 if name == "rng_seed" else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ConfigError(f"grabcut option {name} must be an integer >= {least}, not {v!r}")
        for name in ("click_radius", "seed_radius"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"grabcut option {name} must be a positive number, not {v!r}")
        check_threshold(self.threshold)

    def with_changes(self, **changes: Any) -> GrabCutOptions:
        """A copy with some fields changed; ``None`` values are ignored (as for network predictors)."""
        return replace_fields(self, "grabcut", changes)


class GrabCutPredictor:
    name = "grabcut"

    def __init__(self, options: GrabCutOptions | None = None, **changes: Any) -> None:
        self._options = (options or GrabCutOptions()).with_changes(**changes)

    @property
    def options(self) -> GrabCutOptions:
        return self._options

    def set_options(self, options: GrabCutOptions | None = None, **changes: Any) -> GrabCutOptions:
        self._options = (options or self._options).with_changes(**changes)
        return self._options

    @property
    def fingerprint(self) -> str:
        return f"grabcut {options_fingerprint(self.options)}"

    def prepare(self, image: np.ndarray) -> PredictorState:
        h, w = image.shape[:2]
        s = min(1.0, self.options.work_size / max(h, w))
        small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) \
            if s < 1 else image
        state = PredictorState(image)
        state.cache["small_bgr"] = np.ascontiguousarray(small[:, :, ::-1])
        state.cache["scale"] = (small.shape[1] / w, small.shape[0] / h)
        return state

    def predict(self, state: PredictorState, interactions: Sequence[Interaction],
                prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Probability map (0/1 values) at image resolution; see the module's docstring for the seeds."""
        if prev_prob is None:
            prev_prob = np.zeros(state.image.shape[:2], np.float32)
        o = self.options
        img = state.cache["small_bgr"]
        sx, sy = state.cache["scale"]
        shape = img.shape[:2]
        prev = cv2.resize((prev_prob > 0.5).astype(np.uint8), (shape[1], shape[0]),
                          interpolation=cv2.INTER_NEAREST).astype(bool)
        had_mask = bool(prev.any())
        gc = np.where(prev, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        its = [it.scaled(sx, sy) for it in interactions]
        diag = float(np.hypot(*shape))
        pos_contours = [c for c in its if isinstance(c, Contour) and c.positive]
        if pos_contours and not had_mask:
            inside = np.zeros(shape, bool)
            for c in pos_contours:
                inside |= fill_polygon(c.points, shape)
            gc[:] = cv2.GC_BGD
            gc[inside] = cv2.GC_PR_FGD
        for it in its:
            if isinstance(it, Contour):
                if it.positive:
                    gc[fill_polygon(it.points, shape) & (gc != cv2.GC_FGD)] = cv2.GC_PR_FGD
                else:
                    gc[fill_polygon(it.points, shape) & (gc != cv2.GC_BGD)] = cv2.GC_PR_BGD
            elif isinstance(it, Click) and it.positive and not had_mask and not pos_contours:
                gc[draw_disks(it.points, shape, o.seed_radius * diag) & (gc == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
        for it in its:  # sure seeds last: they override everything
            if isinstance(it, Click):
                gc[draw_disks(it.points, shape, o.click_radius)] = cv2.GC_FGD if it.positive else cv2.GC_BGD
            elif isinstance(it, MaskStroke):
                gc[it.render(shape)] = cv2.GC_FGD if it.positive else cv2.GC_BGD
            elif isinstance(it, Stroke):
                gc[draw_polyline(it.points, shape, o.line_width)] = cv2.GC_FGD if it.positive else cv2.GC_BGD
        fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        if not fg.any():
            result = np.zeros(shape, bool)
        elif fg.all():
            result = np.ones(shape, bool)
        else:
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            cv2.setRNGSeed(o.rng_seed)
            cv2.grabCut(img, gc, None, bgd, fgd, o.iterations, cv2.GC_INIT_WITH_MASK)
            result = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        h, w = state.image.shape[:2]
        return cv2.resize(result.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
