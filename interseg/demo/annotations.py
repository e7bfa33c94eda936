"""Saving and restoring annotations of one image.

Files, in the output folder (by default the image's folder), for ``<stem>`` the image's file name
without extension:

* ``<stem>.ids.png`` — instance-ID map: 0 background, 1, 2, 3 … the objects in the order they were
  finished (8-bit, or 16-bit with more than 255 objects). The values are small, so the file looks
  black in an image viewer; open it with any tool that reads the numbers (e.g. NumPy/PIL).
* ``<stem>.coco.json`` — COCO instance annotations, ``segmentation`` as standard compressed RLE
  (exact, holes included; pycocotools and CVAT read it).
* ``<stem>.interseg.json`` — the interactions that produced each object (for auditing/re-running) and
  its outline polygons ``{"exterior": [x, y, ...], "holes": [[x, y, ...], ...]}``.

Overlap: objects do not overlap. A new object claims only pixels no earlier object has, and every
file says the same (:func:`exclusive_masks`).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from ..atomic import write_atomically
from ..data.image_io import load_label_map
from ..errors import DataError
from ..interactions.types import interaction_from_dict, interaction_to_dict


def annotation_paths(image_path: Path, out_dir: Path | None) -> dict[str, Path]:
    folder = out_dir or image_path.parent
    stem = image_path.stem
    return {"ids": folder / f"{stem}.ids.png", "coco": folder / f"{stem}.coco.json",
            "interactions": folder / f"{stem}.interseg.json"}


def polygons_with_holes(mask: np.ndarray) -> list[dict]:
    contours, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out: list[dict] = []
    if hierarchy is None:
        return out
    hierarchy = hierarchy[0]
    for i, c in enumerate(contours):
        if hierarchy[i][3] != -1:
            continue  # a hole: attached to its parent below
        holes = []
        j = hierarchy[i][2]
        while j != -1:
            holes.append(contours[j].reshape(-1).astype(float).tolist())
            j = hierarchy[j][0]
        out.append({"exterior": c.reshape(-1).astype(float).tolist(), "holes": holes})
    return out


def exclusive_masks(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Each mask without the pixels of the masks before it (the earlier object keeps a shared pixel)."""
    taken = np.zeros(masks[0].shape, bool) if masks else None
    out = []
    for m in masks:
        out.append(m & ~taken)
        taken = taken | m
    return out


def save_annotations(image_path: Path, shape: tuple[int, int], masks: list[np.ndarray],
                     interactions: list[list], out_dir: Path | None = None,
                     labels: list[str] | None = None) -> dict[str, Path]:
    """Write the three files (see the module's docstring) atomically; returns their paths. ``labels``:
    a class name per object (COCO categories, in order of first use; default "object")."""
    labels = list(labels) if labels is not None else ["object"] * len(masks)
    categories = list(dict.fromkeys(labels)) or ["object"]
    paths = annotation_paths(image_path, out_dir)
    paths["ids"].parent.mkdir(parents=True, exist_ok=True)
    masks = exclusive_masks(masks)
    ids = np.zeros(shape, np.uint16 if len(masks) > 255 else np.uint8)
    for k, m in enumerate(masks, start=1):
        ids[m] = k
    write_atomically(paths["ids"], lambda p: Image.fromarray(ids).save(p))
    h, w = shape
    anns = []
    for k, m in enumerate(masks, start=1):
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        ys, xs = np.nonzero(m)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)] if len(ys) \
            else [0, 0, 0, 0]
        anns.append({"id": k, "image_id": 1, "category_id": categories.index(labels[k - 1]) + 1, "iscrowd": 0,
                     "area": int(m.sum()), "bbox": bbox,
                     "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")}})
    coco = {"images": [{"id": 1, "file_name": image_path.name, "height": h, "width": w}],
            "annotations": anns, "categories": [{"id": i + 1, "name": n} for i, n in enumerate(categories)]}
    write_atomically(paths["coco"], lambda p: p.write_text(json.dumps(coco)))
    record = {"image": image_path.name,
              "objects": [[interaction_to_dict(i) for i in its] for its in interactions],
              "polygons": [polygons_with_holes(m) for m in masks]}
    write_atomically(paths["interactions"], lambda p: p.write_text(json.dumps(record)))
    return paths


def load_labels(coco_path: Path, n: int) -> list[str]:
    """The class name of each of ``n`` saved objects (from the COCO file; "object" where unknown)."""
    labels = ["object"] * n
    try:
        coco = json.loads(coco_path.read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        for a in coco["annotations"]:
            if 1 <= a["id"] <= n:
                labels[a["id"] - 1] = names.get(a["category_id"], "object")
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        pass
    return labels


def load_annotations(image_path: Path, shape: tuple[int, int], out_dir: Path | None = None
                     ) -> tuple[list[np.ndarray], list[list]]:
    """Objects saved earlier for this image (empty lists if none); their labels: :func:`load_labels`."""
    paths = annotation_paths(image_path, out_dir)
    if not paths["ids"].is_file():
        return [], []
    ids = load_label_map(paths["ids"])
    if ids.shape != shape:
        raise DataError(f"{paths['ids']}: saved annotation is {ids.shape[1]}x{ids.shape[0]} but the image is "
                        f"{shape[1]}x{shape[0]}")
    masks = [ids == k for k in range(1, int(ids.max()) + 1)]
    its: list[list] = [[] for _ in masks]
    if paths["interactions"].is_file():
        try:
            rec = json.loads(paths["interactions"].read_text())
            its = [[interaction_from_dict(d) for d in obj] for obj in rec["objects"]][: len(masks)]
            its += [[] for _ in range(len(masks) - len(its))]
        except (json.JSONDecodeError, KeyError, TypeError):
            pass  # the masks are what matters
    return masks, its
