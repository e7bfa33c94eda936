"""Wall-clock timing of a short call: the median over repeats, after warm-up calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], reps: int, warmup: int = 3) -> float:
    """Milliseconds one call of ``fn`` takes: the median of ``reps`` calls after ``warmup`` untimed
    ones (the first calls pick and cache kernels)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
