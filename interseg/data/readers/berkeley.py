"""Berkeley (McGuinness & O'Connor), RITM layout: ``images/*.jpg``, ``masks/*.png`` (RGB 0/255)."""

from __future__ import annotations

from ..base import PairedFolderDataset


class BerkeleyDataset(PairedFolderDataset):
    name = "Berkeley"
    images_subdir = "images"
    masks_subdir = "masks"
