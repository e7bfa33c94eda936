"""The dataset interface shared by every reader.

A dataset is an indexable collection of :class:`~interseg.data.sample.Sample`.  Listing is cheap
(done at construction, from file names and headers); pixels are decoded in ``__getitem__``, which
raises :class:`~interseg.errors.DataError` for a bad file so that callers can skip it and go on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import DataError
from .image_io import MAX_PIXELS, check_mask, image_size, load_image, load_label_map
from .sample import Sample

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class Dataset(ABC):
    """Base class: subclasses fill ``self.items`` (anything) and implement :meth:`load`."""

    name: str = "dataset"

    def __init__(self, root: str | Path, max_pixels: int | None = MAX_PIXELS,
                 exclude: Iterable[str] = ()) -> None:
        self.root = Path(root)
        self.max_pixels = max_pixels
        if not self.root.exists():
            raise DataError(f"{self.root}: dataset folder of {self.name} not found")
        self.items: list = self.list_items()
        excluded = set(exclude)
        if excluded:
            self.items = [it for it in self.items if self.item_key(it) not in excluded]
        if not self.items:
            raise DataError(f"{self.root}: no samples found for {self.name} (is the layout right?)")

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def list_items(self) -> list:
        """All samples' descriptors, in a stable order."""

    @abstractmethod
    def load(self, item) -> Sample:
        """Decode one descriptor into a sample (raise DataError on bad files)."""

    def item_key(self, item) -> str:
        """Name used for exclusion lists (the image file stem by default)."""
        return Path(item[0]).stem

    def image_path(self, item) -> Path:
        return Path(item[0])

    # -- common --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.items[index])

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def sample_name(self, index: int) -> str:
        return self.item_key(self.items[index])

    def index_of(self, name: str) -> int:
        """The index of the sample called ``name`` (see :meth:`sample_name`), without loading any image."""
        for i in range(len(self)):
            if self.sample_name(i) == name:
                return i
        raise KeyError(f"{self.root}: no sample named {name!r}")

    def image_paths(self) -> list[Path]:
        seen: dict[Path, None] = {}
        for it in self.items:
            seen.setdefault(self.image_path(it))
        return list(seen)

    def stats(self) -> dict[str, float | int]:
        """Images, instances, median resolution in MP, and the samples evaluation would skip — found the
        way evaluation finds them, by loading every sample (corrupt or truncated file, mask of another
        size, empty mask, over the pixel limit) — plus images left out for having no mask."""
        paths = self.image_paths()
        mps = []
        for p in paths:
            try:
                w, h = image_size(p)
                mps.append(w * h / 1e6)
            except DataError:
                pass
        unreadable = 0
        for i in range(len(self)):
            try:
                self[i]
            except DataError:
                unreadable += 1
        return {"images": len(paths), "instances": len(self),
                "median_mp": float(np.median(mps)) if mps else float("nan"), "unreadable": unreadable,
                "without_mask": len(getattr(self, "unmatched", []))}


def list_pairs(images_dir: Path, masks_dir: Path, mask_exts: tuple[str, ...],
               unmatched: list[Path] | None = None) -> list[tuple[Path, Path]]:
    """Pair images with masks of the same file stem; images without a mask are left out (and appended
    to ``unmatched``, so that callers can say so)."""
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: image folder not found")
    if not masks_dir.is_dir():
        raise DataError(f"{masks_dir}: mask folder not found")
    masks: dict[str, Path] = {}
    for m in sorted(masks_dir.iterdir()):
        if m.suffix.lower() in mask_exts:
            masks.setdefault(m.stem, m)
    pairs = []
    for img in sorted(images_dir.iterdir()):
        if img.suffix.lower() in IMAGE_EXTS:
            if img.stem in masks:
                pairs.append((img, masks[img.stem]))
            elif unmatched is not None:
                unmatched.append(img)
    return pairs


class PairedFolderDataset(Dataset):
    """An ``images/`` folder and a ``masks/`` folder of single-object masks matched by file stem.

    Subclasses set the folder names and override :meth:`decode_mask`, which turns the stored label
    map into ``(object, ignore)`` boolean arrays.
    """

    images_subdir = "images"
    masks_subdir = "masks"
    mask_exts: tuple[str, ...] = (".png",)

    def list_items(self) -> list:
        self.unmatched: list[Path] = []
        return list_pairs(self.root / self.images_subdir, self.root / self.masks_subdir, self.mask_exts,
                          self.unmatched)

    def decode_mask(self, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return label > 127, np.zeros(label.shape, bool)

    def load(self, item) -> Sample:
        img_path, mask_path = item
        image = load_image(img_path, self.max_pixels)
        label = load_label_map(mask_path, self.max_pixels)
        obj, ignore = self.decode_mask(label)
        check_mask(mask_path, obj, image)
        return Sample(image, [obj], ignore, img_path.stem)


class InstanceMapDataset(Dataset):
    """Images with instance-id label maps; with ``per_instance`` each instance is its own sample.

    Items are ``(image_path, label_path, instance_id or None)``.  Subclasses implement
    :meth:`list_files` and may override :meth:`read_labels` (e.g. for .mat files).
    ``ignore_id`` pixels (255 in VOC) are the ignore region.
    """

    ignore_id: int | None = 255

    def __init__(self, root: str | Path, per_instance: bool = True, **kw) -> None:
        self.per_instance = per_instance
        super().__init__(root, **kw)

    @abstractmethod
    def list_files(self) -> list[tuple[Path, Path]]:
        """(image, label map) pairs."""

    def read_labels(self, path: Path) -> np.ndarray:
        return load_label_map(path, self.max_pixels)

    def instance_ids(self, labels: np.ndarray) -> list[int]:
        ids = [int(v) for v in np.unique(labels) if v != 0 and v != self.ignore_id]
        return ids

    def list_items(self) -> list:
        files = self.list_files()
        if not self.per_instance:
            return [(img, lab, None) for img, lab in files]
        items = []
        for img, lab in files:
            try:
                ids = self.instance_ids(self.read_labels(lab))
            except DataError:
                items.append((img, lab, -1))  # reported when loaded
                continue
            items.extend((img, lab, i) for i in ids)
        return items

    def item_key(self, item) -> str:
        stem = Path(item[0]).stem
        return stem if item[2] is None else f"{stem}#{item[2]}"

    def load(self, item) -> Sample:
        img_path, lab_path, inst = item
        image = load_image(img_path, self.max_pixels)
        labels = self.read_labels(lab_path)
        ignore = labels == self.ignore_id if self.ignore_id is not None else np.zeros(labels.shape, bool)
        if inst == -1:
            raise DataError(f"{lab_path}: unreadable label map")
        ids = [inst] if inst is not None else self.instance_ids(labels)
        masks = [labels == i for i in ids]
        if not masks:
            raise DataError(f"{lab_path}: no object instances")
        for m in masks:
            check_mask(lab_path, m, image, "instance mask")
        return Sample(image, masks, ignore, self.item_key(item))


def read_split(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: split file not found")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
