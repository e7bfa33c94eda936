"""SBD (Hariharan et al. 2011): ``img/<id>.jpg``, ``inst/<id>.mat`` and ``<split>.txt`` id lists.

Instance maps live in the MATLAB struct ``GTinst.Segmentation`` (0 background, k = instance k).
The evaluation split gives one sample per instance (6671 in ``val``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import loadmat

from ...errors import DataError
from ..base import InstanceMapDataset, read_split


class SBDDataset(InstanceMapDataset):
    name = "SBD"

    def __init__(self, root: str | Path, split: str = "val", per_instance: bool = True, **kw) -> None:
        self.split = split
        super().__init__(root, per_instance=per_instance, **kw)

    def list_files(self) -> list[tuple[Path, Path]]:
        ids = read_split(self.root / f"{self.split}.txt")
        return [(self.root / "img" / f"{i}.jpg", self.root / "inst" / f"{i}.mat") for i in ids]

    def read_labels(self, path: Path) -> np.ndarray:
        try:
            mat = loadmat(str(path), squeeze_me=False)
            seg = mat["GTinst"][0][0]["Segmentation"]
        except FileNotFoundError:
            raise DataError(f"{path}: file not found") from None
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise DataError(f"{path}: not an SBD instance file (GTinst.Segmentation missing: {e})") from None
        except Exception as e:  # scipy raises several types for corrupt files
            raise DataError(f"{path}: corrupt .mat file ({e.__class__.__name__}: {e})") from None
        return np.asarray(seg).astype(np.int32)
