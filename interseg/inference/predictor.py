"""The predictor interface: what a session needs from a model.

A predictor prepares an image once (:meth:`Predictor.prepare` returns a per-image
:class:`PredictorState`, holding cached features and the ZoomIn region) and then maps the current
interactions plus the previous probability map to a new probability map at image resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..interactions.types import Interaction


@dataclass
class PredictorState:
    """Per-image state of a predictor; ``roi`` is the only part that changes between interactions."""

    image: np.ndarray
    cache: dict[str, Any] = field(default_factory=dict)
    roi: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 (exclusive) of the ZoomIn crop


class Predictor(Protocol):
    name: str

    @property
    def fingerprint(self) -> str:
        """Identifies what the predictor computes (weights and options): the benchmark refuses to mix
        records of two different predictors that share a name."""
        ...

    def prepare(self, image: np.ndarray) -> PredictorState:
        """Per-image preparation (normalisation, caching) done once per image."""
        ...

    def predict(self, state: PredictorState, interactions: Sequence[Interaction],
                prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Probability map (H, W) float32 in [0, 1] at image resolution, from every interaction so far
        and the previous probability map (``None``: no previous mask)."""
        ...
