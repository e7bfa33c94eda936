"""GrabCut (Rother et al. 2004), RITM layout: ``data_GT/*`` images, ``boundary_GT/*.bmp`` masks.

Masks: 255 object, 128 "unknown" band along boundaries (ignored in metrics), 0 background.
"""

from __future__ import annotations

import numpy as np

from ..base import PairedFolderDataset


class GrabCutDataset(PairedFolderDataset):
    name = "GrabCut"
    images_subdir = "data_GT"
    masks_subdir = "boundary_GT"
    mask_exts = (".bmp", ".png")

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return label > 128, label == 128
