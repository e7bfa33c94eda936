"""A plain folder of images and masks matched by file stem.

Masks: any nonzero pixel is object, except ``ignore_value`` (if given), which marks ignored pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base import PairedFolderDataset


class FolderDataset(PairedFolderDataset):
    name = "folder"
    mask_exts = (".png", ".bmp", ".tif", ".tiff")

    def __init__(self, root: str | Path, images_subdir: str = "images", masks_subdir: str = "masks",
                 ignore_value: int | None = None, **kw) -> None:
        self.images_subdir = images_subdir
        self.masks_subdir = masks_subdir
        self.ignore_value = ignore_value
        super().__init__(root, **kw)

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.ignore_value is None:
            return label > 0, np.zeros(label.shape, bool)
        ignore = label == self.ignore_value
        return (label > 0) & ~ignore, ignore
