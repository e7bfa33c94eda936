"""PASCAL VOC 2012: ``JPEGImages``, ``SegmentationObject`` (palette PNG, instance ids, 255 = void
border, ignored) and ``ImageSets/Segmentation/<split>.txt``; one sample per instance."""

from __future__ import annotations

from pathlib import Path

from ..base import InstanceMapDataset, read_split


class PascalVOCDataset(InstanceMapDataset):
    name = "PascalVOC"

    def __init__(self, root: str | Path, split: str = "val", per_instance: bool = True, **kw) -> None:
        self.split = split
        super().__init__(root, per_instance=per_instance, **kw)

    def list_files(self) -> list[tuple[Path, Path]]:
        ids = read_split(self.root / "ImageSets" / "Segmentation" / f"{self.split}.txt")
        return [(self.root / "JPEGImages" / f"{i}.jpg", self.root / "SegmentationObject" / f"{i}.png")
                for i in ids]
