"""Perceptual hashes find near-duplicates (resized, recompressed) and not different photos; the
exclusion list leaves listed images out of training."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

import interseg
from interseg.data.overlap import excluded_names, hamming, phash
from interseg.data.registry import build_train_dataset

from .conftest import require_data


def test_near_duplicates_are_close_and_other_photos_far():
    ds = interseg.open_dataset("GrabCut", require_data("GrabCut"))
    a, b = ds[0].image, ds[1].image
    small = cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, format="JPEG", quality=60)
    recompressed = np.asarray(Image.open(buf))
    h = np.array([phash(a), phash(recompressed), phash(b)], dtype=np.uint64)
    d = hamming(h, h)
    assert d[0, 0] == 0 and d[0, 1] <= 6 and d[0, 2] > 12


def test_listed_images_are_left_out_of_training(tmp_path, cfg, monkeypatch):
    from interseg.data import overlap

    listing = tmp_path / "exclusions.txt"
    listing.write_text("# comment\nECSSD 0001\nECSSD 0002  # near GrabCut x\nDUTS foo\n")
    assert excluded_names("ECSSD", listing) == {"0001", "0002"}
    assert len(build_train_dataset("ECSSD", cfg)) == 300 - 37        # the package's list: 37 Berkeley photos
    empty = tmp_path / "none.txt"
    empty.write_text("")
    # the reader itself (a prepared copy, where one exists, was made without the listed images)
    monkeypatch.setattr(overlap.excluded_names, "__defaults__", (empty,))
    full = build_train_dataset("ECSSD", cfg, raw=True)
    monkeypatch.setattr(overlap.excluded_names, "__defaults__", (listing,))
    fewer = build_train_dataset("ECSSD", cfg, raw=True)
    assert (len(full), len(fewer)) == (300, 298)
    assert "0001" not in {fewer.item_key(it) for it in fewer.items}
