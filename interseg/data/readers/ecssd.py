"""ECSSD salient objects: ``images/*.jpg``, ``ground_truth_mask/*.png`` (0/255; parts form one mask)."""

from __future__ import annotations

from ..base import PairedFolderDataset


class EcssdDataset(PairedFolderDataset):
    name = "ECSSD"
    images_subdir = "images"
    masks_subdir = "ground_truth_mask"
