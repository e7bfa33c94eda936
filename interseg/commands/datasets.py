"""``interseg datasets stats NAME...``"""

from __future__ import annotations

import argparse

from ..config import load_config
from ..data.registry import EVAL_DATASETS, TRAIN_DATASETS, build_eval_dataset, build_train_dataset
from ..evaluation.report import format_table


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    rows = []
    for name in args.names:
        if name in EVAL_DATASETS or name == "sample" or name.startswith("folder:"):
            ds = build_eval_dataset(name, cfg)
        elif name in TRAIN_DATASETS:
            ds = build_train_dataset(name, cfg)
        else:
            ds = build_eval_dataset(name, cfg)  # raises the "unknown dataset" error
        s = ds.stats()
        rows.append([name, str(s["images"]), str(s["instances"]), f"{s['median_mp']:.2f}",
                     str(s["unreadable"]), str(s["without_mask"])])
    print(format_table(["dataset", "# images", "# instances", "median res. (MP)", "skipped (unreadable)",
                        "images without mask"], rows))
    return 0
