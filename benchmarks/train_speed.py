"""Training throughput (images/s) of each recipe in configs/ on this machine.

Runs --iters training iterations of each recipe (after --warmup iterations) with its own batch size
and crop size, iterative correction steps included, and prints images per second.
Usage: python benchmarks/train_speed.py [--recipes configs/a.yaml,...] [--iters 10] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from interseg.commands.common import csv
from interseg.config import load_config
from interseg.errors import IntersegError
from interseg.training.data import collate
from interseg.training.recipe import load_recipe
from interseg.training.trainer import Trainer, TrainOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", default=",".join(sorted(glob.glob("configs/*.yaml"))))
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--config")
    args = ap.parse_args()
    cfg = load_config(args.config)
    print(f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'recipe':<34} {'backbone':<13} {'batch':>5} {'crop':>5} {'img/s':>7}")
    for path in csv(args.recipes):
        recipe = load_recipe(path)
        with tempfile.TemporaryDirectory() as d:
            cfg.EXPS_PATH = Path(d)
            try:
                tr = Trainer(recipe, cfg, TrainOptions(workers=min(4, os.cpu_count() or 1), device=args.device))
            except IntersegError as e:
                print(f"{recipe.name:<34} skipped: {e}", flush=True)
                continue
            loader = torch.utils.data.DataLoader(tr.stream, batch_size=tr.batch, num_workers=2, collate_fn=collate)
            it = iter(loader)
            times = []
            for i in range(args.warmup + args.iters):
                batch = next(it)
                t0 = time.perf_counter()
                tr.train_step(batch, np.random.default_rng(i))
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                if i >= args.warmup:
                    times.append(time.perf_counter() - t0)
            rate = tr.batch / float(np.mean(times))
            print(f"{recipe.name:<34} {recipe.MODEL.BACKBONE:<13} {tr.batch:>5} {recipe.MODEL.TRAIN_SIZE:>5} "
                  f"{rate:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
