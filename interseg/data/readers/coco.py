"""COCO and LVIS instance annotations (JSON with polygons or RLE, decoded by pycocotools).

Layouts:

* COCO: ``<root>/annotations/instances_<split>2017.json`` and images in ``<root>/<split>2017/``.
* LVIS v1: ``<root>/<split>/lvis_v1_<split>.json`` and images in ``<root>/<split>/images/``; LVIS
  image records have no ``file_name``, the name is the last part of ``coco_url``.

COCO crowd annotations become the ignore region.  ``per_instance=True`` gives one sample per
object (evaluation); ``False`` gives one sample per image with all its objects (training).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from ...errors import DataError
from ..base import Dataset
from ..image_io import load_image
from ..sample import Sample


def decode_segmentation(segm, h: int, w: int) -> np.ndarray:
    """Polygon list, uncompressed RLE or compressed RLE → boolean (h, w) mask."""
    if isinstance(segm, list):
        if not segm:
            return np.zeros((h, w), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, h, w))
    elif isinstance(segm, dict) and isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, h, w)
    elif isinstance(segm, dict):
        rle = segm
    else:
        raise ValueError(f"unknown segmentation format {type(segm).__name__}")
    return mask_utils.decode(rle).astype(bool)


class CocoDataset(Dataset):
    name = "COCO"

    def __init__(self, root: str | Path, split: str = "train", per_instance: bool = False,
                 min_area: float = 0.0, annotation_file: str | Path | None = None,
                 images_dir: str | Path | None = None, **kw) -> None:
        self.split = split
        self.per_instance = per_instance
        self.min_area = min_area
        root = Path(root)
        self.annotation_file = Path(annotation_file) if annotation_file else self.default_annotation_file(root)
        self.images_dir = Path(images_dir) if images_dir else self.default_images_dir(root)
        super().__init__(root, **kw)

    def default_annotation_file(self, root: Path) -> Path:
        return root / "annotations" / f"instances_{self.split}2017.json"

    def default_images_dir(self, root: Path) -> Path:
        return root / f"{self.split}2017"

    def file_name(self, image_info: dict) -> str:
        return image_info["file_name"]

    def list_items(self) -> list:
        try:
            data = json.loads(self.annotation_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.annotation_file}: annotation file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"{self.annotation_file}: not valid JSON ({e})") from None
        try:
            images = {im["id"]: im for im in data["images"]}
            anns = data["annotations"]
        except (KeyError, TypeError) as e:
            raise DataError(f"{self.annotation_file}: not a COCO/LVIS instance file (missing {e})") from None
        self.images = images
        self.anns_by_image: dict[int, list[dict]] = defaultdict(list)
        for a in anns:
            self.anns_by_image[a["image_id"]].append(a)
        items = []
        for image_id in sorted(images):
            objs = [a for a in self.anns_by_image.get(image_id, [])
                    if not a.get("iscrowd", 0) and a.get("area", np.inf) >= self.min_area]
            if self.per_instance:
                items.extend((image_id, a["id"]) for a in objs)
            elif objs:
                items.append((image_id, None))
        return items

    def item_key(self, item) -> str:
        stem = Path(self.file_name(self.images[item[0]])).stem
        return stem if item[1] is None else f"{stem}#{item[1]}"

    def image_path(self, item) -> Path:
        return self.images_dir / self.file_name(self.images[item[0]])

    def load(self, item) -> Sample:
        image_id, ann_id = item
        info = self.images[image_id]
        path = self.image_path(item)
        image = load_image(path, self.max_pixels)
        h, w = image.shape[:2]
        if (info.get("height"), info.get("width")) not in ((h, w), (None, None)):
            raise DataError(f"{path}: image is {w}x{h} but {self.annotation_file.name} says "
                            f"{info.get('width')}x{info.get('height')}")
        ignore = np.zeros((h, w), bool)
        masks = []
        for a in self.anns_by_image[image_id]:
            try:
                m = decode_segmentation(a["segmentation"], h, w)
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(f"{self.annotation_file}: annotation {a.get('id')}: {e}") from None
            if a.get("iscrowd", 0):
                ignore |= m
            elif m.any() and ((ann_id is None and a.get("area", np.inf) >= self.min_area) or a["id"] == ann_id):
                masks.append(m)
        if not masks:
            raise DataError(f"{path}: annotation {ann_id if ann_id is not None else ''} has an empty mask")
        return Sample(image, masks, ignore, self.item_key(item))


class LvisDataset(CocoDataset):
    name = "LVIS"

    def default_annotation_file(self, root: Path) -> Path:
        return root / self.split / f"lvis_v1_{self.split}.json"

    def default_images_dir(self, root: Path) -> Path:
        return root / self.split / "images"

    def file_name(self, image_info: dict) -> str:
        if "file_name" in image_info:
            return Path(image_info["file_name"]).name
        return image_info["coco_url"].rsplit("/", 1)[-1]
