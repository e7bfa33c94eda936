"""Near-duplicate images between training and evaluation sets: a 64-bit perceptual hash (DCT of the
32x32 grey image, the 8x8 lowest frequencies against their median) and the Hamming distance.

Pairs found by ``benchmarks/overlap_check.py`` are kept in ``resources/training_exclusions.txt``
(``DATASET name`` per line) and left out of every training run (:func:`excluded_names`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np

EXCLUSIONS = Path(str(resources.files("interseg") / "resources" / "training_exclusions.txt"))


def phash(image: np.ndarray) -> int:
    """64-bit perceptual hash of an RGB or grey uint8 image."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances of two arrays of uint64 hashes, (len(a), len(b))."""
    x = np.bitwise_xor(a[:, None], b[None, :])
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def excluded_names(dataset: str, path: Path = EXCLUSIONS) -> set[str]:
    """Sample names of ``dataset`` listed as near-duplicates of evaluation images."""
    if not path.is_file():
        return set()
    out = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, sample = line.partition(" ")
            if name == dataset and sample:
                out.add(sample.strip())
    return out
