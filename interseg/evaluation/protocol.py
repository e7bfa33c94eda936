"""Settings of one benchmark run and the interaction sequences they imply."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..interactions.schedules import Schedule, contour_stroke_clicks, product, schedule_name, single
from ..interactions.types import INTERACTION_TYPES, InteractionType


@dataclass(frozen=True)
class EvalSettings:
    """What the benchmark measures.  ``mode="noi"``: one single-type sequence per input type, up to
    ``max_interactions``, stopping once the highest NoI threshold is reached; ``mode="iou"``: the
    sequences of ``schedule`` for ``n_interactions`` steps, no early stop."""

    mode: Literal["noi", "iou"] = "iou"
    input_types: tuple[InteractionType, ...] = INTERACTION_TYPES
    schedule: Literal["product", "single", "csp"] = "product"
    n_interactions: int = 10
    max_interactions: int = 20
    noi_thresholds: tuple[float, ...] = (0.85, 0.90, 0.95)
    boundary_iou: bool = False
    boundary_ratio: float = 0.005
    #: the samples (image, masks) are downscaled to this longest side before the run, as the reference
    #: protocol can do (None: as they are); the network input size is the predictor's option
    sample_max_size: int | None = None
    seed: int = 0
    clicker: Literal["ritm", "saic"] = "ritm"
    #: contours and strokes as the reference protocol draws them, or as people do (short scribbles,
    #: loose outlines: interactions/human.py)
    user: Literal["reference", "human-like"] = "reference"
    keep_all: bool = False
    limit: int | None = None
    #: which ``limit`` objects: the first by file name, or a random subset drawn with ``seed``
    subset: Literal["first", "random"] = "first"

    def validate(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be at least 1, not {self.limit}")
        if self.subset not in ("first", "random"):
            raise ValueError(f"--subset must be 'first' or 'random', not {self.subset!r}")
        for t in self.input_types:
            if t not in INTERACTION_TYPES:
                raise ValueError(f"unknown input type {t!r}; use {', '.join(INTERACTION_TYPES)}")
        if not self.input_types:
            raise ValueError("no input types given")
        if self.n_interactions < 1 or self.max_interactions < 1:
            raise ValueError("the number of interactions must be at least 1")
        if self.sample_max_size is not None and (isinstance(self.sample_max_size, bool) or not isinstance(
                self.sample_max_size, int) or self.sample_max_size < 16):
            raise ValueError(f"--sample-max-size must be an integer >= 16, not {self.sample_max_size!r}")
        if self.boundary_ratio <= 0:
            raise ValueError("the boundary width must be positive")

    @property
    def steps(self) -> int:
        return self.max_interactions if self.mode == "noi" else self.n_interactions

    @property
    def stop_at(self) -> float | None:
        return max(self.noi_thresholds) if self.mode == "noi" else None

    def indices(self, n: int) -> list[int]:
        """The samples evaluated of a dataset of ``n``: all, the first ``limit``, or a seeded random
        ``limit`` of them (the same permutation for every limit, so raising it extends the set)."""
        if self.limit is None or self.limit >= n:
            return list(range(n))
        if self.subset == "first":
            return list(range(self.limit))
        return sorted(np.random.default_rng(self.seed).permutation(n)[: self.limit].tolist())

    def sequences(self) -> list[tuple[str, Schedule]]:
        """(name, schedule) pairs: NoI rows are named by type, product sequences by their head."""
        if self.mode == "noi" or self.schedule == "single":
            return [(t, single(t, self.steps)) for t in self.input_types]
        if self.schedule == "csp":
            return [("csp", contour_stroke_clicks(self.steps))]
        return [(schedule_name(s), s) for s in product(self.steps, self.input_types)]


def user_seed(seed: int, dataset: str, index: int, sequence: str) -> np.random.SeedSequence:
    """Independent, reproducible seed per (run seed, dataset, sample, sequence)."""
    return np.random.SeedSequence([seed, zlib.crc32(dataset.encode()), index, zlib.crc32(sequence.encode())])
