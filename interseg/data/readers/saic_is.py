"""SAIC-IS (high-resolution benchmark of the seed): ``imgs/*.jpg`` with instance-id PNGs in
``masks/<same stem>.png`` (0 background, k = instance k); one sample per instance."""

from __future__ import annotations

from pathlib import Path

from ..base import InstanceMapDataset, list_pairs


class SaicISDataset(InstanceMapDataset):
    name = "SAIC_IS"
    ignore_id = None

    def list_files(self) -> list[tuple[Path, Path]]:
        return list_pairs(self.root / "imgs", self.root / "masks", (".png",))
