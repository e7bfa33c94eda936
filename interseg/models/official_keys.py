"""Parameter names of the official HRNet and MiT releases (and of SAIC-IS/RITM, which share them)
mapped to interseg's.

Two places differ: HRNet's transition to a new branch is a ``Sequential`` of one ``Sequential``
(``transition1.1.0.0.weight``) where interseg has the inner one only (``transition1.1.0.weight``), and
MiT's depthwise convolution sits in a wrapper module (``mlp.dwconv.dwconv.weight``) where interseg's
*is* the convolution (``mlp.dwconv.weight``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")

_TRANSITION = re.compile(r"(transition\d\.\d+)\.0\.(\d+)\.(\w+)$")


def interseg_key(key: str) -> str:
    key = _TRANSITION.sub(r"\1.\2.\3", key)
    return key.replace(".mlp.dwconv.dwconv.", ".mlp.dwconv.")


def to_interseg_keys(state: Mapping[str, T]) -> dict[str, T]:
    """``state`` with official parameter names renamed to interseg's (others unchanged)."""
    return {interseg_key(k): v for k, v in state.items()}
