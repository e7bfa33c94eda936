"""``interseg datasets stats NAME...`` and ``interseg datasets prepare NAME...``"""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

from ..config import Config, load_config
from ..data.prepared import prepare_dataset
from ..data.registry import EVAL_DATASETS, TRAIN_DATASETS, build_eval_dataset, build_train_dataset
from ..errors import ConfigError
from ..evaluation.report import format_table


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.datasets_command == "prepare":
        return prepare(args, cfg)
    rows = []
    for name in args.names:
        if name in EVAL_DATASETS or name == "sample" or name.startswith("folder:"):
            ds = build_eval_dataset(name, cfg)
        elif name in TRAIN_DATASETS:
            ds = build_train_dataset(name, cfg, raw=True)
        else:
            ds = build_eval_dataset(name, cfg)  # raises the "unknown dataset" error
        s = ds.stats()
        rows.append([name, str(s["images"]), str(s["instances"]), f"{s['median_mp']:.2f}",
                     str(s["unreadable"]), str(s["without_mask"])])
    print(format_table(["dataset", "# images", "# instances", "median res. (MP)", "skipped (unreadable)",
                        "images without mask"], rows))
    return 0


def prepare(args: argparse.Namespace, cfg: Config) -> int:
    if args.short_side < 64:
        raise ConfigError(f"--short-side {args.short_side}: must be at least 64")
    for name in args.names:
        if name not in TRAIN_DATASETS:
            raise ConfigError(f"{name}: not a training set; known: {', '.join(TRAIN_DATASETS)}")
    for name in args.names:
        ds = build_train_dataset(name, cfg, raw=True)
        out = cfg.PREPARED_PATH / name
        t0 = time.perf_counter()
        index = prepare_dataset(ds, out, args.short_side,
                                lambda it, n=name: tqdm(it, desc=f"prepare {n}", dynamic_ncols=True))
        size = sum(p.stat().st_size for p in out.glob("*.npz")) / 2**20
        print(f"{name}: {len(index['samples'])} samples ({len(index['skipped'])} unreadable, skipped) -> {out} "
              f"({size:.0f} MiB, {time.perf_counter() - t0:.0f} s)", flush=True)
        for line in index["skipped"][:5]:
            print(f"  skipped {line}")
    return 0
