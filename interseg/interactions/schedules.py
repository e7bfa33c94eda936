"""Interaction-type schedules: which type the simulated user gives at each step.

* ``single(t)`` — type ``t`` at every step (the NoI protocol, one table row per type);
* ``contour_stroke_clicks`` — a contour, then a stroke, then clicks;
* ``product(types)`` — every assignment of ``types`` to the first three steps (3³ = 27 sequences
  for the three types), clicks after that: the seed's IoU ± std protocol.
"""

from __future__ import annotations

import itertools

from .types import INTERACTION_TYPES, InteractionType

Schedule = tuple[InteractionType, ...]
SHORT = {"point": "p", "contour": "c", "stroke": "s"}


def single(kind: InteractionType, n: int) -> Schedule:
    return (kind,) * n


def contour_stroke_clicks(n: int) -> Schedule:
    return (("contour", "stroke") + ("point",) * n)[:n]


def product(n: int, types: tuple[InteractionType, ...] = INTERACTION_TYPES, prefix: int = 3) -> list[Schedule]:
    return [tuple(head) + ("point",) * (n - prefix) if n > prefix else tuple(head[:n])
            for head in itertools.product(types, repeat=prefix)]


def schedule_name(schedule: Schedule, prefix: int = 3) -> str:
    """Short id: the first ``prefix`` types' letters, e.g. ``csp``."""
    return "".join(SHORT[t] for t in schedule[:prefix])
