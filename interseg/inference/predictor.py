"""The predictor interface: what a session needs from a model.

A predictor prepares an image once (:meth:`Predictor.prepare` returns a per-image
:class:`PredictorState`, holding cached features and the ZoomIn region) and then maps the current
interactions plus the previous probability map to a new probability map at image resolution.

A predictor owns its options, the probability threshold among them: sessions, the evaluator, the
model server and the demo read ``predictor.options.threshold`` and change it with
:meth:`Predictor.set_options`; only a single request may pass a threshold of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError
from ..interactions.types import Interaction
from .options import DEFAULT_THRESHOLD, check_threshold


@dataclass
class PredictorState:
    """Per-image state of a predictor; ``roi`` is the only part that changes between interactions."""

    image: np.ndarray
    cache: dict[str, Any] = field(default_factory=dict)
    roi: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 (exclusive) of the ZoomIn crop


class Options(Protocol):
    """What every predictor's options hold (frozen; a predictor's ``set_options`` replaces them)."""

    @property
    def threshold(self) -> float:
        """The probability above which a pixel is in the mask."""
        ...


def replace_fields(options: Any, what: str, changes: dict[str, Any]) -> Any:
    """A copy of the options dataclass with some fields changed (``None`` values ignored, as a flag not
    given on a command line); an unknown name → a ConfigError listing the known ones."""
    names = [f.name for f in dataclasses.fields(options)]
    unknown = sorted(set(changes) - set(names))
    if unknown:
        raise ConfigError(f"unknown {what} option {', '.join(unknown)}; known: {', '.join(names)}")
    return dataclasses.replace(options, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class BasicOptions:
    """The options of a predictor that has no others: the threshold (for predictors of your own)."""

    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        check_threshold(self.threshold)

    def with_changes(self, **changes: Any) -> BasicOptions:
        return replace_fields(self, "predictor", changes)


def options_fingerprint(options: Any) -> str:
    """``name=value`` for every field of a (nested) options dataclass, in declaration order: what a
    fingerprint says of the options, derived from the fields themselves."""
    parts = []
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            parts += [f"{f.name}.{p}" for p in options_fingerprint(value).split(" ")]
        else:
            parts.append(f"{f.name}={value!r}")
    return " ".join(parts)


class Predictor(Protocol):
    name: str

    @property
    def options(self) -> Options:
        """The current options, ``threshold`` among them (the one place a predictor's threshold lives)."""
        ...

    def set_options(self, options: Any = None, **changes: Any) -> Options:
        """Change options for the next predictions (flat keywords, e.g. ``threshold=0.6``)."""
        ...

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
