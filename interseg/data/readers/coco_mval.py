"""COCO MVal (800 COCO val objects, f-BRS/RITM): ``img/*.jpg``, ``gt/*.png`` with 0/255 masks.

The same layout holds ``COCO_MVal_train`` (600 of those objects kept for training).
"""

from __future__ import annotations

from ..base import PairedFolderDataset


class CocoMValDataset(PairedFolderDataset):
    name = "COCO_MVal"
    images_subdir = "img"
    masks_subdir = "gt"
