"""A plain folder of images and masks matched by file stem.

Masks: any nonzero pixel is object, except ``ignore_value`` (if given), which marks ignored pixels.
The image and mask folders are named, or found among the usual names (:data:`IMAGE_DIRS`,
:data:`MASK_DIRS`): ``images/`` + ``masks/``, ``img/`` + ``gt/``, ``images/`` + ``ground_truth_mask/``…
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DataError
from ..base import PairedFolderDataset

IMAGE_DIRS = ("images", "img", "imgs", "JPEGImages", "data_GT")
MASK_DIRS = ("masks", "gt", "ground_truth_mask", "GT", "labels", "annotations", "boundary_GT")


def _find(root: Path, names: tuple[str, ...], what: str) -> str:
    for n in names:
        if (root / n).is_dir():
            return n
    raise DataError(f"{root}: no {what} folder (looked for {', '.join(names)}; name it with "
                    f"folder:{root}?{'images' if what == 'image' else 'masks'}=DIR)")


class FolderDataset(PairedFolderDataset):
    name = "folder"
    mask_exts = (".png", ".bmp", ".tif", ".tiff")

    def __init__(self, root: str | Path, images_subdir: str | None = None, masks_subdir: str | None = None,
                 ignore_value: int | None = None, **kw) -> None:
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"{root}: dataset folder not found")
        self.images_subdir = images_subdir or _find(root, IMAGE_DIRS, "image")
        self.masks_subdir = masks_subdir or _find(root, MASK_DIRS, "mask")
        self.ignore_value = ignore_value
        super().__init__(root, **kw)

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.ignore_value is None:
            return label > 0, np.zeros(label.shape, bool)
        ignore = label == self.ignore_value
        return (label > 0) & ~ignore, ignore
