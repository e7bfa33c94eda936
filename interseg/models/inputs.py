"""The network's input maps: previous mask + positive/negative maps per interaction type (7 channels:
``[prev, point+, point-, contour+, contour-, stroke+, stroke-]``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..interactions.encoding import TYPE_OFFSET, EncodingParams, encode
from ..interactions.types import Interaction

N_MAPS = 7
PREV_CHANNEL = 0


def channel(kind: str, positive: bool) -> int:
    """Index of the map of one interaction type and sign in the (7, H, W) input."""
    return 1 + TYPE_OFFSET[kind] + (0 if positive else 1)


def select_interactions(interactions: Sequence[Interaction], input_types: Sequence[str],
                        accumulate: bool) -> list[Interaction]:
    """Interactions the model encodes: only its input types, and (without ``accumulate``) only those
    of the last interaction's type."""
    its = [i for i in interactions if i.kind in input_types]
    if not accumulate and its:
        last = its[-1].kind
        its = [i for i in its if i.kind == last]
    return its


def build_maps(interactions: Sequence[Interaction], prev: np.ndarray, shape: tuple[int, int],
               params: EncodingParams, transform: tuple[float, float, float, float] = (1.0, 1.0, 0.0, 0.0)
               ) -> np.ndarray:
    """(7, H, W) float32; ``prev`` must already be at ``shape``."""
    maps = np.empty((N_MAPS, *shape), np.float32)
    maps[PREV_CHANNEL] = prev
    maps[1:] = encode(interactions, shape, params, transform)
    return maps
