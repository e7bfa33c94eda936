"""The server's prediction engine: decoded images and predictions kept in bounded, time-limited
caches, so that one more interaction on an image costs one network pass.

A request carries every interaction of the object so far (Label Studio sends all the regions drawn).
The engine looks for the longest prefix of that list it has already predicted for the same image
and goes on from there, one prediction per new interaction, exactly as an interactive
:class:`~interseg.inference.session.Session` would (every interaction kept in the input, the previous
probabilities and ZoomIn crop carried). A cache miss replays the list from the start: same result,
more passes.

A box (a rectangle region) as an object's first interaction is a weak prompt that the shipped
networks were not trained on: they take a contour for the object's outline and return the box. So
the engine gives that first step to the GrabCut baseline (a box is its classic input), whose mask
becomes the network's previous mask for every later interaction (``box_first``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inference.predictor import PredictorState
from ..inference.session import active_interactions
from ..interactions.types import Click, Interaction, MaskStroke, check_inside


class BoundedCache:
    """LRU cache bounded in bytes and entry age; thread-safe."""

    def __init__(self, max_bytes: int, ttl_s: float) -> None:
        self.max_bytes, self.ttl = max_bytes, ttl_s
        self._items: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            self._items[key] = (time.monotonic(), item[1], item[2])
            return item[2]

    def put(self, key: str, value: Any, nbytes: int) -> None:
        with self._lock:
            if key in self._items:
                self._drop(key)
            if nbytes > self.max_bytes:
                return
            self._items[key] = (time.monotonic(), nbytes, value)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, nbytes, _ = self._items.pop(key)
        self._bytes -= nbytes

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes


def interaction_key(it: Interaction) -> bytes:
    """Bytes identifying one interaction (type, sign, geometry)."""
    if isinstance(it, MaskStroke):
        geometry = np.packbits(it.crop).tobytes() + repr((it.crop.shape, it.origin, it.transform)).encode()
    elif isinstance(it, Click):
        geometry = repr((it.x, it.y)).encode()
    else:
        geometry = it.points.tobytes()
    return f"{it.kind}:{int(it.positive)}:".encode() + geometry


def prefix_keys(image_key: str, interactions: Sequence[Interaction]) -> list[str]:
    """Chained hashes: element k identifies the image and the first k + 1 interactions."""
    h = hashlib.sha256(image_key.encode())
    keys = []
    for it in interactions:
        h.update(hashlib.sha256(interaction_key(it)).digest())
        keys.append(h.copy().hexdigest())
    return keys


@dataclass
class Prepared:
    image: np.ndarray
    cache: dict        # the predictor's per-image cache (normalised image, refinement terms)


@dataclass
class Outcome:
    prob: np.ndarray
    passes: int        # network passes this request cost
    reused: int        # interactions whose prediction came from the cache


class Engine:
    """Predictions for (image, interactions) with the two caches."""

    def __init__(self, predictor, image_cache_bytes: int = 1 << 30, prediction_cache_bytes: int = 1 << 30,
                 ttl_s: float = 1800.0) -> None:
        from ..inference.grabcut import GrabCutPredictor

        self.predictor = predictor
        self.box_predictor = GrabCutPredictor()
        self.images = BoundedCache(image_cache_bytes, ttl_s)
        self.predictions = BoundedCache(prediction_cache_bytes, ttl_s)
        self.generation = "base"   # the served model's version: part of every prediction's cache key

    def swap(self, predictor, generation: str) -> None:
        """Predict with another model from now on (a request in flight finishes with the old one; its
        cached predictions, keyed by the old generation, are never reused)."""
        self.predictor, self.generation = predictor, generation
        self.images = BoundedCache(self.images.max_bytes, self.images.ttl)
        self.predictions = BoundedCache(self.predictions.max_bytes, self.predictions.ttl)

    def image(self, key: str, load: Callable[[], np.ndarray]) -> Prepared:
        """The prepared image for ``key`` (``load`` decodes it on a miss)."""
        got = self.images.get(key)
        if got is None:
            image = load()
            state = self.predictor.prepare(image)
            got = Prepared(image, state.cache)
            cached = sum(v.numel() * v.element_size() for v in state.cache.values() if hasattr(v, "numel"))
            self.images.put(key, got, image.nbytes + cached)
        return got

    def predict(self, image_key: str, prepared: Prepared, interactions: Sequence[Interaction],
                box_first: bool = False, use_cache: bool = True, model: tuple[Any, str] | None = None) -> Outcome:
        """The probability map after ``interactions`` (all of them, in order), from the longest cached
        prefix on; ``box_first``: the first one is a box (a Contour), segmented by the GrabCut baseline;
        ``use_cache=False`` replays them all (what a server without the cache would do); ``model``:
        (predictor, generation) to use instead of the engine's own (a team's learned version)."""
        h, w = prepared.image.shape[:2]
        for it in interactions:
            check_inside(it, h, w)
        # one model for the whole request, even if a swap happens meanwhile
        predictor, generation = model if model is not None else (self.predictor, self.generation)
        keys = prefix_keys(f"{generation}|{image_key}|box" if box_first else f"{generation}|{image_key}",
                           interactions)
        start, prob, roi = 0, None, None
        for k in range(len(keys) - 1 if use_cache else -1, -1, -1):
            hit = self.predictions.get(keys[k])
            if hit is not None:
                start, (prob, roi) = k + 1, hit
                break
        state = PredictorState(prepared.image, prepared.cache, roi)
        for k in range(start, len(interactions)):
            if k == 0 and box_first:
                box_state = self.box_predictor.prepare(prepared.image)
                prob = self.box_predictor.predict(box_state, [interactions[0]], None)
            else:
                # each region is one step, and the network sees what a Session gives it (session.py)
                prob = predictor.predict(state, active_interactions(list(interactions[: k + 1]), keep_all=False), prob)
            prob = prob.astype(np.float32, copy=False)
            self.predictions.put(keys[k], (prob, state.roi), prob.nbytes)
        assert prob is not None
        return Outcome(prob, len(interactions) - start, start)
