"""The prepared training pool: a training set decoded once, its images' shorter side at most
``short_side`` pixels, and every object mask precomputed — so that the training loader does not spend
the two cores on .mat files, instance maps, polygon masks and large JPEGs.

Layout of ``PREPARED_PATH/<dataset name>/``:

- ``index.json``: ``{"format": 1, "dataset": name, "source": the raw folder, "short_side": 512,
  "samples": [[sample name, file], ...], "skipped": [...]}``;
- one ``NNNNNN.npz`` per sample: ``image`` (the encoded image: the source JPEG's own bytes when it was
  not resized, else a quality-95 JPEG), ``masks`` and ``ignore`` (bit-packed), ``shape`` (masks, H, W).

Sample names are the raw reader's, so the held-out split (by name) and the exclusion lists apply
unchanged. :func:`interseg.data.registry.build_train_dataset` reads a prepared set when its index
names the same source folder as the config, and the raw files otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from ..atomic import write_atomically
from ..errors import DataError
from .base import Dataset
from .sample import Sample

FORMAT = 1
INDEX = "index.json"


def _encode(sample: Sample, source_file: Path | None, short_side: int) -> tuple[np.ndarray, Sample]:
    """The encoded image bytes and the sample at the size they decode to."""
    h, w = sample.shape
    if min(h, w) > short_side:
        sample = sample.scaled(short_side / min(h, w))
    elif source_file is not None and source_file.suffix.lower() in (".jpg", ".jpeg"):
        data = np.fromfile(source_file, np.uint8)
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if decoded is not None and np.array_equal(decoded[:, :, ::-1], sample.image):
            return data, sample
    ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(sample.image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DataError(f"{sample.name}: cannot encode the image")
    return enc.ravel(), sample


def prepare_dataset(ds: Dataset, out: Path, short_side: int = 512,
                    progress: Callable[[Iterable], Iterable] = iter) -> dict:
    """Write ``ds`` (a training reader, built without exclusions) to ``out``; returns the index.
    Unreadable samples are listed under ``skipped``, as the loader would skip them."""
    out.mkdir(parents=True, exist_ok=True)
    samples, skipped = [], []
    for i in progress(range(len(ds))):
        name = ds.sample_name(i)
        try:
            s = ds[i]
        except DataError as e:
            skipped.append(f"{name}: {e}")
            continue
        data, s = _encode(s, ds.image_path(ds.items[i]), short_side)
        masks = np.stack(s.masks)
        fname = f"{len(samples):06d}.npz"
        np.savez(out / fname, image=data, masks=np.packbits(masks), ignore=np.packbits(s.ignore),
                 shape=np.array(masks.shape, np.int64))
        samples.append([name, fname])
    index = {"format": FORMAT, "dataset": ds.name, "source": str(Path(ds.root).resolve()),
             "short_side": short_side, "samples": samples, "skipped": skipped}
    # the index last: an interrupted run leaves no usable half
    write_atomically(out / INDEX, lambda p: p.write_text(json.dumps(index)))
    return index


def read_index(folder: Path) -> dict | None:
    """The prepared set's index, or None when ``folder`` holds none (or one of another format)."""
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and index.get("format") == FORMAT else None


class PreparedDataset(Dataset):
    """A prepared training set (see the module's docstring); items are ``(name, npz path)``."""

    def __init__(self, root: str | Path, **kw) -> None:
        self.index = read_index(Path(root))
        if self.index is None:
            raise DataError(f"{root}: not a prepared training set (no {INDEX}); run `interseg datasets prepare`")
        self.name = self.index["dataset"]
        super().__init__(root, **kw)

    def list_items(self) -> list:
        return [(name, self.root / fname) for name, fname in self.index["samples"]]

    def item_key(self, item) -> str:
        return item[0]

    def image_path(self, item) -> Path:
        return Path(item[1])

    def load(self, item) -> Sample:
        name, path = item
        try:
            with np.load(path) as z:
                data, packed_m, packed_i, shape = z["image"], z["masks"], z["ignore"], tuple(z["shape"])
        except (OSError, ValueError, KeyError) as e:
            raise DataError(f"{path}: unreadable prepared sample ({e.__class__.__name__}); prepare again") from None
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        n, h, w = shape
        if img is None or img.shape[:2] != (h, w):
            raise DataError(f"{path}: corrupt prepared image; prepare again")
        masks = np.unpackbits(packed_m, count=n * h * w).reshape(n, h, w).astype(bool)
        ignore = np.unpackbits(packed_i, count=h * w).reshape(h, w).astype(bool)
        return Sample(np.ascontiguousarray(img[:, :, ::-1]), list(masks), ignore, name)
