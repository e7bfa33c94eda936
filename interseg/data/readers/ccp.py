"""Clothing Co-Parsing: ``photos/NNNN.jpg`` + ``annotations/pixel-level/NNNN.mat`` (variable
``groundtruth``: a label per pixel, 0 = background, others = garments, skin, hair).

The person (every label but 0) is the object; with ``parts=True`` each garment label of at least 1 %
of the image is also an object. Only the 1,004 photos with a pixel-level annotation are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import loadmat

from ...data.image_io import check_mask, load_image
from ...errors import DataError
from ..base import Dataset
from ..sample import Sample

MIN_PART = 0.01


class CcpDataset(Dataset):
    name = "CCP"

    def __init__(self, root: str | Path, parts: bool = False, **kw) -> None:
        self.parts = parts
        super().__init__(root, **kw)

    def list_items(self) -> list:
        ann = self.root / "annotations" / "pixel-level"
        photos = self.root / "photos"
        if not ann.is_dir() or not photos.is_dir():
            raise DataError(f"{self.root}: expected photos/ and annotations/pixel-level/ (Clothing Co-Parsing)")
        return [(photos / f"{m.stem}.jpg", m) for m in sorted(ann.glob("*.mat"))]

    @staticmethod
    def read_labels(path: Path) -> np.ndarray:
        try:
            return np.asarray(loadmat(str(path))["groundtruth"])
        except FileNotFoundError:
            raise DataError(f"{path}: file not found") from None
        except KeyError:
            raise DataError(f"{path}: no 'groundtruth' variable (not a Clothing Co-Parsing annotation)") from None
        except Exception as e:  # scipy raises several types for corrupt files
            raise DataError(f"{path}: corrupt .mat file ({e.__class__.__name__}: {e})") from None

    def load(self, item) -> Sample:
        img_path, mat_path = item
        image = load_image(img_path, self.max_pixels)
        labels = self.read_labels(mat_path)
        person = labels != 0
        check_mask(mat_path, person, image)
        masks = [person]
        if self.parts:
            masks += [labels == v for v in np.unique(labels) if v != 0 and (labels == v).mean() >= MIN_PART]
        return Sample(image, masks, np.zeros(person.shape, bool), img_path.stem)
