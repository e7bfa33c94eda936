"""Edge-aware refinement of a predicted probability map with the colour guided filter (He et al., 2010).

A decoder of output stride 4 can only draw boundaries as smooth as its grid: the bilinear upsampling
rounds corners and erases structures thinner than a few pixels (``stride_ceiling_iou`` measures
how much that costs on each benchmark object).  The guided filter fits, in every ``(2r+1)²`` window,
the probability as a linear function of the RGB image, ``q = a·I + b``, and averages the fits: where
the image has an edge, the probability's transition snaps to it; where the image is flat, the
probability is only smoothed.  It needs no training and costs a few box filters per prediction.

The image-only terms (window means of ``I``, the inverse of its regularised 3x3 covariance) are
computed once per image region and cached; each prediction then costs four box-filter passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class RefineParams:
    """``mode`` "none" (the network's bilinear upsampling as it is) or "guided"."""

    mode: str = "none"
    radius: int = 8        # window radius in pixels of the map (the predictor scales it from network input)
    eps: float = 1e-3      # regularisation; larger = smoother, less edge-following (image in [0, 1])

    def __post_init__(self) -> None:
        if self.mode not in ("none", "guided"):
            raise ValueError(f"refine mode must be 'none' or 'guided', not {self.mode!r}")
        if not isinstance(self.radius, int) or isinstance(self.radius, bool):
            raise ValueError(f"refine radius must be an integer, not {self.radius!r}")
        if not isinstance(self.eps, int | float) or isinstance(self.eps, bool):
            raise ValueError(f"refine eps must be a number, not {self.eps!r}")
        if self.radius < 1:
            raise ValueError(f"refine radius must be >= 1, not {self.radius}")
        if not self.eps > 0:
            raise ValueError(f"refine eps must be > 0, not {self.eps}")


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)² window (mirrored at the borders)."""
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


class GuidedFilter:
    """The colour guided filter for one guide image (H, W, 3) uint8; apply it to any number of maps."""

    def __init__(self, image: np.ndarray, radius: int, eps: float) -> None:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"the guide must be an RGB image (H, W, 3), not {image.shape}")
        self.r = radius
        # the image terms in float64: with a small eps the covariance of a nearly one-coloured window
        # is close to singular, and float32 cofactors would cancel out
        g = image.astype(np.float64) / 255.0
        m = _box(g, radius)
        self.guide, self.mean = g.astype(np.float32), m.astype(np.float32)

        def cov(i: int, j: int) -> np.ndarray:
            return _box(g[..., i] * g[..., j], radius) - m[..., i] * m[..., j] + (eps if i == j else 0.0)

        # inverse of the symmetric 3x3 covariance + eps·I by cofactors (positive definite: eps > 0)
        rr, rg, rb, gg, gb, bb = cov(0, 0), cov(0, 1), cov(0, 2), cov(1, 1), cov(1, 2), cov(2, 2)
        c00, c01, c02 = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
        c11, c12, c22 = rr * bb - rb * rb, rg * rb - rr * gb, rr * gg - rg * rg
        det = rr * c00 + rg * c01 + rb * c02
        self.inv = (np.stack([np.stack(row, -1) for row in ((c00, c01, c02), (c01, c11, c12), (c02, c12, c22))],
                            -2) / det[..., None, None]).astype(np.float32)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if p.shape != self.guide.shape[:2]:
            raise ValueError(f"map of shape {p.shape} does not match the guide {self.guide.shape[:2]}")
        p = p.astype(np.float32, copy=False)
        r = self.r
        mp = _box(p, r)
        cov_ip = _box(self.guide * p[..., None], r) - self.mean * mp[..., None]
        a = np.einsum("hwij,hwj->hwi", self.inv, cov_ip)
        b = mp - np.einsum("hwi,hwi->hw", a, self.mean)
        return np.einsum("hwi,hwi->hw", _box(a, r), self.guide) + _box(b, r)


#: longer sides are filtered at this size and the result upsampled (memory: ~150 bytes per filtered pixel)
MAX_SIDE = 2048


def refine(prob: np.ndarray, image: np.ndarray, params: RefineParams,
           cache: dict | None = None, key: object = None) -> np.ndarray:
    """``prob`` (H, W) in [0, 1] refined along the edges of ``image`` (H, W, 3) uint8, clipped to [0, 1].

    Regions longer than ``MAX_SIDE`` are filtered downscaled to it (radius scaled alike) and upsampled.
    With a ``cache`` dict, the filter's image terms are kept under ``(key, radius, eps)`` (the
    predictor passes its per-image cache and the ZoomIn region as the key)."""
    if params.mode == "none":
        return prob
    h, w = prob.shape
    scale = min(1.0, MAX_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    radius = max(1, round(params.radius * scale))
    ck = ("guided_filter", key, radius, params.eps)
    gf = cache.get(ck) if cache is not None else None
    if gf is None:  # the (downscaled) image and its terms: once per region, not per prediction
        guide = image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        gf = GuidedFilter(guide, radius, params.eps)
        if cache is not None:
            # one region at a time: a new ZoomIn crop replaces the previous one's terms
            for k in [k for k in cache if isinstance(k, tuple) and k[:1] == ("guided_filter",)]:
                del cache[k]
            cache[ck] = gf
    if scale == 1.0:
        return np.clip(gf(prob), 0.0, 1.0)
    small = np.clip(gf(cv2.resize(prob, size, interpolation=cv2.INTER_AREA)), 0.0, 1.0)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
