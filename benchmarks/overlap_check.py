"""Near-duplicates between the training pool and the evaluation images: a 64-bit perceptual hash of
every training image (DUTS-TR, the labelled CCP photos, VOC2007 segmentation trainval, COCO_MVal_train,
ECSSD) against every evaluation image (GrabCut, Berkeley, DAVIS, the bundled sample); pairs within
Hamming distance --max-distance (6) are listed, and with --write they go to
interseg/resources/training_exclusions.txt, which every training run leaves out.

    INTERSEG_DATA=../shared/datasets INTERSEG_TRAIN_DATA=/data/train python benchmarks/overlap_check.py [--write]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interseg.config import load_config
from interseg.data.image_io import load_image
from interseg.data.overlap import EXCLUSIONS, hamming, phash
from interseg.data.registry import SampleDataset, build_eval_dataset, build_train_dataset
from interseg.errors import IntersegError

TRAIN = ("DUTS", "CCP", "PascalVOC2007", "COCO_MVal_train", "ECSSD")
EVAL = ("GrabCut", "Berkeley", "DAVIS")


def hashes(ds, label: str) -> tuple[list[tuple[str, str, Path]], np.ndarray]:
    items, values = [], []
    for it in tqdm(ds.items, desc=label, leave=False):
        path = ds.image_path(it)
        try:
            values.append(phash(load_image(path)))
        except IntersegError:
            continue
        items.append((label, ds.item_key(it), path))
    return items, np.array(values, dtype=np.uint64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-distance", type=int, default=6)
    ap.add_argument("--write", action="store_true", help="write the exclusion list into the package")
    args = ap.parse_args()
    cfg = load_config()
    ev_items, ev_hash = [], []
    for name in EVAL:
        it, h = hashes(build_eval_dataset(name, cfg), name)
        ev_items += it
        ev_hash.append(h)
    it, h = hashes(SampleDataset(), "sample")
    ev_items += it
    ev_hash.append(h)
    ev = np.concatenate(ev_hash)
    pairs, counts = [], {}
    for name in TRAIN:
        try:
            ds = build_train_dataset(name, cfg, raw=True)
        except IntersegError as e:
            print(f"{name}: skipped ({e})")
            continue
        items, tr = hashes(ds, name)
        d = hamming(tr, ev)
        close = np.argwhere(d <= args.max_distance)
        counts[name] = (len(items), len(close))
        pairs += [(int(d[i, j]), items[i], ev_items[j]) for i, j in close]
    print(f"{len(ev)} evaluation images (GrabCut, Berkeley, DAVIS, sample) against the training pool; "
          f"pairs within Hamming distance {args.max_distance} of 64 bits:")
    for name, (n, k) in counts.items():
        print(f"  {name:16s} {n:6d} images, {k} pair(s)")
    for dist, (tn, tk, _), (en, ek, _) in sorted(pairs):
        print(f"  d={dist:2d}  {tn} {tk}  ~  {en} {ek}")
    excluded = sorted({(tn, tk) for _, (tn, tk, _), _ in pairs})
    print(f"{len(pairs)} pair(s); {len(excluded)} training image(s) to exclude")
    if args.write:
        EXCLUSIONS.write_text("# training images that are near-duplicates of evaluation images "
                              "(benchmarks/overlap_check.py)\n" + "".join(f"{n} {k}\n" for n, k in excluded))
        print(f"wrote {EXCLUSIONS}")


if __name__ == "__main__":
    main()
