"""DUTS-TR salient objects: ``DUTS-TR-Image/*.jpg`` + ``DUTS-TR-Mask/*.png`` (soft masks, 0-255).

Masks are binarised at 128; a mask under 0.1 % of the image is not an object (the sample is skipped
with its file named). With ``components=True`` (training), each connected component of at least 1 %
of the image is also an object of its own, besides the whole mask.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ...data.image_io import check_mask, load_image, load_label_map
from ...errors import DataError
from ..base import PairedFolderDataset
from ..sample import Sample

MIN_MASK = 0.001
MIN_COMPONENT = 0.01


class DutsDataset(PairedFolderDataset):
    name = "DUTS"
    images_subdir = "DUTS-TR-Image"
    masks_subdir = "DUTS-TR-Mask"

    def __init__(self, root: str | Path, components: bool = False, **kw) -> None:
        self.components = components
        super().__init__(root, **kw)

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return label >= 128, np.zeros(label.shape, bool)

    def load(self, item) -> Sample:
        img_path, mask_path = item
        image = load_image(img_path, self.max_pixels)
        obj, ignore = self.decode_mask(load_label_map(mask_path, self.max_pixels))
        check_mask(mask_path, obj, image)
        if obj.mean() < MIN_MASK:
            raise DataError(f"{mask_path}: the mask covers {obj.mean():.3%} of the image, under {MIN_MASK:.1%}")
        masks = [obj]
        if self.components:
            n, labels, stats, _ = cv2.connectedComponentsWithStats(obj.astype(np.uint8), connectivity=8)
            big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= MIN_COMPONENT * obj.size]
            if len(big) > 1:
                masks += [labels == i for i in big]
        return Sample(image, masks, ignore, img_path.stem)
