"""DAVIS interactive subset (345 frames): ``img/*.jpg``, ``gt/*.png``; any nonzero value is object."""

from __future__ import annotations

import numpy as np

from ..base import PairedFolderDataset


class DavisDataset(PairedFolderDataset):
    name = "DAVIS"
    images_subdir = "img"
    masks_subdir = "gt"

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return label > 0, np.zeros(label.shape, bool)
