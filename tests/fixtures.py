"""Writers of small datasets in the exact native layouts of formats not present on disk."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from scipy.io import savemat


def _image(rng, h=60, w=80):
    return rng.integers(0, 255, (h, w, 3), np.uint8)


def _write_jpg(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95)


def instance_map(h=60, w=80) -> np.ndarray:
    lab = np.zeros((h, w), np.uint8)
    lab[5:25, 5:30] = 1
    lab[30:55, 40:75] = 2
    lab[10:20, 50:60] = 3
    return lab


def write_sbd(root: Path, ids=("2008_000001", "2008_000002")) -> Path:
    """SBD: img/<id>.jpg, inst/<id>.mat (GTinst struct), train.txt/val.txt."""
    rng = np.random.default_rng(0)
    (root / "inst").mkdir(parents=True)
    for i in ids:
        _write_jpg(root / "img" / f"{i}.jpg", _image(rng))
        lab = instance_map()
        savemat(root / "inst" / f"{i}.mat", {"GTinst": {
            "Segmentation": lab, "Boundaries": np.zeros((3, 1)), "Categories": np.array([[15], [7], [3]])}})
    (root / "val.txt").write_text("\n".join(ids) + "\n")
    (root / "train.txt").write_text(ids[0] + "\n")
    return root


def write_voc(root: Path, ids=("2007_000033", "2007_000042")) -> Path:
    """VOC2012: JPEGImages, SegmentationObject (palette PNG, 255 border), ImageSets/Segmentation."""
    rng = np.random.default_rng(1)
    (root / "SegmentationObject").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * (3 * 251) + [224, 224, 192]
    for i in ids:
        _write_jpg(root / "JPEGImages" / f"{i}.jpg", _image(rng))
        lab = instance_map()
        border = cv2.morphologyEx((lab > 0).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        lab[border > 0] = 255
        im = Image.frombytes("P", (lab.shape[1], lab.shape[0]), lab.tobytes())
        im.putpalette(palette)
        im.save(root / "SegmentationObject" / f"{i}.png")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(ids) + "\n")
    (root / "ImageSets" / "Segmentation" / "trainval.txt").write_text("\n".join(ids) + "\n")
    return root


def write_duts(root: Path) -> Path:
    """DUTS-TR: DUTS-TR-Image/*.jpg, DUTS-TR-Mask/*.png soft masks (0-255); a two-part mask, a soft
    edge, and a speck under 0.1 % of the image."""
    rng = np.random.default_rng(2)
    (root / "DUTS-TR-Mask").mkdir(parents=True)
    masks = {}
    two = np.zeros((100, 120), np.uint8)
    two[10:40, 10:50] = 255
    two[60:90, 70:110] = 200
    two[40:42, 10:50] = 100                       # soft edge below 128: background
    masks["ILSVRC2012_test_00000004"] = two
    speck = np.zeros((100, 120), np.uint8)
    speck[50:53, 50:53] = 255                     # 9 px = 0.075 %
    masks["ILSVRC2012_test_00000018"] = speck
    for name, m in masks.items():
        _write_jpg(root / "DUTS-TR-Image" / f"{name}.jpg", _image(rng, 100, 120))
        Image.fromarray(m).save(root / "DUTS-TR-Mask" / f"{name}.png")
    return root


def write_ccp(root: Path) -> Path:
    """Clothing Co-Parsing: photos/NNNN.jpg (also unlabelled ones), annotations/pixel-level/NNNN.mat
    with a ``groundtruth`` label map (0 background, garment labels)."""
    rng = np.random.default_rng(3)
    (root / "annotations" / "pixel-level").mkdir(parents=True)
    for i in (1, 2, 1005):
        _write_jpg(root / "photos" / f"{i:04d}.jpg", _image(rng, 90, 60))
    for i in (1, 2):
        lab = np.zeros((90, 60), np.uint8)
        lab[10:80, 15:45] = 41                    # skin
        lab[30:60, 15:45] = 5                     # a garment
        savemat(root / "annotations" / "pixel-level" / f"{i:04d}.mat", {"groundtruth": lab})
    return root


def write_saic_is(root: Path, n=2) -> Path:
    """SAIC-IS: imgs/*.jpg + masks/*.png instance-id maps (here small; the real ones are ~17 MP)."""
    rng = np.random.default_rng(2)
    (root / "masks").mkdir(parents=True)
    for k in range(n):
        _write_jpg(root / "imgs" / f"img_{k:04d}.jpg", _image(rng, 90, 120))
        lab = np.zeros((90, 120), np.uint8)
        lab[10:40, 10:50] = 1
        lab[50:85, 60:110] = 2
        Image.fromarray(lab).save(root / "masks" / f"img_{k:04d}.png")
    return root


def _coco_dict(img_names, coco_url=False):
    images, anns = [], []
    aid = 1
    for k, name in enumerate(img_names):
        rec = {"id": k + 1, "width": 80, "height": 60}
        if coco_url:
            rec["coco_url"] = f"http://images.cocodataset.org/train2017/{name}"
        else:
            rec["file_name"] = name
        images.append(rec)
        poly = [[5, 5, 30, 5, 30, 25, 5, 25]]
        anns.append({"id": aid, "image_id": k + 1, "category_id": 1, "segmentation": poly, "area": 500.0,
                     "bbox": [5, 5, 25, 20], "iscrowd": 0})
        m = np.zeros((60, 80), np.uint8, order="F")
        m[30:55, 40:75] = 1
        rle = mask_utils.encode(m)
        rle["counts"] = rle["counts"].decode()
        anns.append({"id": aid + 1, "image_id": k + 1, "category_id": 2, "segmentation": rle, "area": 875.0,
                     "bbox": [40, 30, 35, 25], "iscrowd": 0})
        crowd = np.zeros((60, 80), np.uint8, order="F")
        crowd[0:4, 0:80] = 1
        crle = mask_utils.encode(crowd)
        # crowd regions use the uncompressed RLE form in COCO files
        counts, run, prev = [], 0, 0
        for v in crowd.flatten(order="F"):
            if v != prev:
                counts.append(run)
                run, prev = 0, v
            run += 1
        counts.append(run)
        _ = crle
        anns.append({"id": aid + 2, "image_id": k + 1, "category_id": 1,
                     "segmentation": {"size": [60, 80], "counts": counts}, "area": 320.0,
                     "bbox": [0, 0, 80, 4], "iscrowd": 1})
        aid += 3
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}


def write_coco(root: Path, split="val") -> Path:
    rng = np.random.default_rng(3)
    names = ["000000000139.jpg", "000000000285.jpg"]
    for n in names:
        _write_jpg(root / f"{split}2017" / n, _image(rng))
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(_coco_dict(names)))
    return root


def write_lvis(root: Path, split="train") -> Path:
    rng = np.random.default_rng(4)
    names = ["000000000009.jpg", "000000000025.jpg"]
    for n in names:
        _write_jpg(root / split / "images" / n, _image(rng))
    (root / split / f"lvis_v1_{split}.json").write_text(json.dumps(_coco_dict(names, coco_url=True)))
    return root
