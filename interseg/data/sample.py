"""The unit every dataset reader produces: an RGB image with object masks and an ignore region."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Sample:
    """One image with its objects.

    ``image`` is RGB uint8 (H, W, 3); ``masks`` are boolean (H, W) object masks (evaluation readers
    give exactly one per sample); ``ignore`` marks pixels excluded from metrics and from training
    losses (GrabCut's 128 band, VOC's 255 border, COCO crowds); ``name`` identifies the sample.
    """

    image: np.ndarray
    masks: list[np.ndarray]
    ignore: np.ndarray
    name: str
    meta: dict = field(default_factory=dict)

    @property
    def gt(self) -> np.ndarray:
        """The (first) object mask; evaluation samples have exactly one."""
        return self.masks[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    def resized(self, max_size: int | None) -> Sample:
        """A copy whose longest side is at most ``max_size`` (nearest-neighbour masks)."""
        h, w = self.shape
        if not max_size or max(h, w) <= max_size:
            return self
        return self.scaled(max_size / max(h, w))

    def scaled(self, s: float) -> Sample:
        """A copy with both sides scaled by ``s`` (image area-averaged when it shrinks, bilinear when it
        grows; nearest-neighbour masks)."""
        import cv2

        h, w = self.shape
        size = (max(1, round(w * s)), max(1, round(h * s)))
        img = cv2.resize(self.image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)

        def rm(m: np.ndarray) -> np.ndarray:
            return cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)

        return Sample(img, [rm(m) for m in self.masks], rm(self.ignore), self.name, dict(self.meta))
