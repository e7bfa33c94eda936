"""The interactive session: one image, one object at a time, driven by interactions.

The evaluator's simulated user and the demo GUI both use this object, so what is measured is what
annotators get.  Policy for contours/strokes (``keep_all``):

* ``keep_all=False`` (default: what every network here is trained with, and the reference evaluation
  protocol): clicks accumulate, while the contours or strokes of a step replace earlier ones; after a
  click step those maps are empty (the previous-mask channel carries what they did).
* ``keep_all=True``: every interaction stays in the model input. The networks never saw that input
  in training, and it costs them dearly: Berkeley, people's contours, NoI@90 5.19 with the default,
  14.96 with every outline kept (docs/evaluation.md).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from ..interactions.types import Click, Contour, Interaction, Stroke, check_inside
from .options import DEFAULT_THRESHOLD
from .predictor import Predictor, PredictorState

__all__ = ["DEFAULT_THRESHOLD", "FinishedObject", "Session", "StepResult", "active_interactions"]


def active_interactions(interactions: list[Interaction], keep_all: bool, new: int = 1) -> list[Interaction]:
    """What the model sees: everything (``keep_all``), or all clicks plus the contours/strokes of the last
    step (its last ``new`` interactions)."""
    if keep_all or not interactions:
        return list(interactions)
    clicks = [i for i in interactions if isinstance(i, Click)]
    return clicks + [i for i in interactions[-max(1, new):] if not isinstance(i, Click)]


@dataclass
class StepResult:
    prob: np.ndarray
    mask: np.ndarray
    seconds: float


#: on images above this many pixels, the probabilities of earlier steps (kept for undo) are stored as
#: compressed 8-bit maps, so that memory does not grow by a full-size float map per interaction
PACK_ABOVE = 4_000_000


class _Packed:
    """A probability map as zlib-compressed 8-bit values (1/255 steps)."""

    __slots__ = ("data", "shape")

    def __init__(self, prob: np.ndarray) -> None:
        self.shape = prob.shape
        self.data = zlib.compress(np.round(prob * 255).astype(np.uint8).tobytes(), 1)

    def unpack(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(self.data), np.uint8).reshape(self.shape).astype(np.float32) / 255


@dataclass
class _Step:
    interactions: tuple[Interaction, ...]   # one, or several added together (one undo step)
    prob: np.ndarray | _Packed
    roi: tuple[int, int, int, int] | None


@dataclass
class FinishedObject:
    mask: np.ndarray
    interactions: list[Interaction] = field(default_factory=list)
    label: str = "object"


class Session:
    """Interactive segmentation of one image with a predictor: add interactions, read the mask, undo.

    Args:
        image: RGB uint8 (H, W, 3) (:func:`interseg.load_image` reads one from a file).
        predictor: from :func:`interseg.load_predictor`, or the GrabCut baseline.
        keep_all: keep every contour/stroke in the model input (see the module's docstring; off by default).
    """

    def __init__(self, image: np.ndarray, predictor: Predictor, keep_all: bool = False) -> None:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise DataError(f"session image must be RGB uint8 (H, W, 3), got {image.dtype} {image.shape}")
        self.image = image
        self.predictor = predictor
        self.keep_all = keep_all
        self.state: PredictorState = predictor.prepare(image)
        self.objects: list[FinishedObject] = []
        self._init_prob = np.zeros(image.shape[:2], np.float32)
        self._steps: list[_Step] = []
        self._redo: list[_Step] = []
        self.last_seconds = 0.0

    # -- state --------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    @property
    def interactions(self) -> list[Interaction]:
        return [it for s in self._steps for it in s.interactions]

    @property
    def prob(self) -> np.ndarray:
        """The current probability map (H, W) float32."""
        if not self._steps:
            return self._init_prob
        step = self._steps[-1]
        if isinstance(step.prob, _Packed):
            step.prob = step.prob.unpack()
        return step.prob

    def _pack(self, step: _Step) -> None:
        if isinstance(step.prob, np.ndarray) and step.prob.size > PACK_ABOVE:
            step.prob = _Packed(step.prob)

    @property
    def threshold(self) -> float:
        """The predictor's threshold (``predictor.set_options(threshold=…)`` changes it)."""
        return self.predictor.options.threshold

    @property
    def mask(self) -> np.ndarray:
        """The current mask: probabilities above the predictor's threshold."""
        return self.prob > self.predictor.options.threshold

    # -- interactions -------------------------------------------------------------------------
    def add(self, interaction: Interaction) -> StepResult:
        """Add one interaction and predict.

        Raises:
            InteractionError: the interaction lies outside the image or is degenerate.
        """
        return self.add_many([interaction])

    def add_many(self, interactions: Iterable[Interaction]) -> StepResult:
        """Add several interactions (e.g. a person's scribbles) with one prediction: one undo step.

        Raises:
            InteractionError: one of them lies outside the image or is degenerate (none is added).
            DataError: the list is empty.
        """
        new = list(interactions)
        if not new:
            raise DataError("add_many: no interactions given")
        for it in new:
            check_inside(it, *self.shape)
        prev = self.prob
        t0 = time.perf_counter()
        prob = self.predictor.predict(self.state, active_interactions([*self.interactions, *new], self.keep_all,
                                                                      len(new)), prev)
        self.last_seconds = time.perf_counter() - t0
        if self._steps:
            self._pack(self._steps[-1])
        self._steps.append(_Step(tuple(new), prob.astype(np.float32, copy=False), self.state.roi))
        self._redo.clear()
        return StepResult(self.prob, self.mask, self.last_seconds)

    def add_click(self, x: float, y: float, positive: bool = True) -> StepResult:
        return self.add(Click(float(x), float(y), positive))

    def add_contour(self, points, positive: bool = True) -> StepResult:
        return self.add(Contour.from_points(points, positive))

    def add_stroke(self, points, positive: bool = True) -> StepResult:
        return self.add(Stroke.from_points(points, positive))

    def undo(self) -> bool:
        """Remove the last step (one interaction, or those of one :meth:`add_many`); the mask goes back
        to what it was. False if there is none."""
        if not self._steps:
            return False
        step = self._steps.pop()
        self._pack(step)
        self._redo.append(step)
        self.state.roi = self._steps[-1].roi if self._steps else None
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        step = self._redo.pop()
        if self._steps:
            self._pack(self._steps[-1])
        self._steps.append(step)
        self.state.roi = step.roi
        return True

    def reset(self) -> None:
        """Drop all interactions of the current object (and a starting mask)."""
        self._steps.clear()
        self._redo.clear()
        self._init_prob = np.zeros(self.shape, np.float32)
        self.state.roi = None

    def start_from(self, mask_or_prob: np.ndarray) -> None:
        """Refine an existing result: a binary mask or a probability map becomes the previous mask."""
        if mask_or_prob.shape[:2] != self.shape:
            raise DataError(f"starting mask is {mask_or_prob.shape[1]}x{mask_or_prob.shape[0]} but the "
                            f"image is {self.shape[1]}x{self.shape[0]}")
        self.reset()
        m = mask_or_prob.astype(np.float32)
        if mask_or_prob.dtype == np.uint8 and m.max() > 1:
            m = m / 255.0
        self._init_prob = np.clip(m, 0, 1)

    def finish_object(self) -> np.ndarray:
        """Store the current mask as a finished object and start the next one."""
        mask = self.mask.copy()
        self.objects.append(FinishedObject(mask, self.interactions))
        self.reset()
        return mask
