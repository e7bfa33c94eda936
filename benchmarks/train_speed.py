"""Training throughput (images/s) of a recipe as it was and with each speed lever, in one run.

For each setting it runs --iters training iterations (after --warmup) through the real loader
(interseg.training.trainer.Trainer with its DataLoader, iterative correction steps included; the
same random draws in every setting) and prints:

- img/s: images trained per second, end to end;
- load ms/img: CPU time the loader spends on one sample (decode, masks, augmentation, first
  interaction), measured on its own in this process — the share of the two cores it takes;
- wait ms/img: time the training loop sat waiting for the loader;
- step ms/img: forward, correction steps, backward and optimizer step.

Settings, each adding one lever to the one before:
  before      the recipe as it was: float32, raw dataset files, 2 loader workers
  +bf16       TRAIN.PRECISION=bf16 (bfloat16 autocast; depthwise convolutions stay float32 on CPUs)
  +prepared   the prepared pool (`interseg datasets prepare`, shorter side <= 512); skipped when the
              recipe's sets are not prepared
  +workers N  N loader workers instead of 2 (--workers, default 1)
  +folded     the gradient-free passes (correction steps, distillation teacher) on a copy with batch
              norm folded into the convolutions and bfloat16 weights (models/folding.py)
  fp32+levers the last setting in float32, measured only on a CPU where bfloat16 convolutions are
              slower than float32 ones (interseg/models/bf16_probe.py; the ratio is printed first)

Usage: python benchmarks/train_speed.py [--recipe lite0_cpu_multi_long] [--iters 24] [--warmup 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from interseg.config import load_config
from interseg.data.prepared import read_index
from interseg.models.bf16_probe import bf16_conv_speedup
from interseg.training.data import collate
from interseg.training.recipe import load_recipe
from interseg.training.trainer import Trainer, TrainOptions


def measure(recipe_name: str, cfg, precision: str, prepared: bool, workers: int, fold: bool, iters: int,
            warmup: int, pretrained: str) -> dict[str, float]:
    recipe = load_recipe(recipe_name, None, {"TRAIN.PRECISION": precision, "MODEL.PRETRAINED_PATH": pretrained})
    real = cfg.PREPARED_PATH
    if not prepared:
        cfg.PREPARED_PATH = Path("/nonexistent")
    try:
        with tempfile.TemporaryDirectory() as d:
            cfg.EXPS_PATH = Path(d)
            tr = Trainer(recipe, cfg, TrainOptions(workers=workers, fold_bn=fold))
            t0 = time.perf_counter()
            n_load = 4 * tr.batch
            for i in range(n_load):
                tr.stream[10_000 + i]
            load = (time.perf_counter() - t0) / n_load
            loader = torch.utils.data.DataLoader(tr.stream, batch_size=tr.batch, num_workers=workers,
                                                 collate_fn=collate, drop_last=True)
            it = iter(loader)
            wait = step = 0.0
            t_start = 0.0
            for i in range(warmup + iters):
                if i == warmup:
                    t_start, wait, step = time.perf_counter(), 0.0, 0.0
                t0 = time.perf_counter()
                batch = next(it)
                t1 = time.perf_counter()
                tr.train_step(batch, np.random.default_rng(i))
                t2 = time.perf_counter()
                wait += t1 - t0
                step += t2 - t1
            total = time.perf_counter() - t_start
            n = iters * tr.batch
            del it, loader
    finally:
        cfg.PREPARED_PATH = real
    return {"img_s": n / total, "load": 1000 * load, "wait": 1000 * wait / n, "step": 1000 * step / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="lite0_cpu_multi_long")
    ap.add_argument("--pretrained", default="interseg_lite0",
                    help="start weights (the recipe's own may be an experiment folder absent here)")
    ap.add_argument("--iters", type=int, default=24)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--config")
    args = ap.parse_args()
    cfg = load_config(args.config)
    recipe = load_recipe(args.recipe)
    have_prepared = all(read_index(cfg.PREPARED_PATH / d.NAME) is not None for d in recipe.TRAIN.DATASETS)
    print(f"recipe {recipe.name} ({recipe.MODEL.BACKBONE}, batch {recipe.MODEL.BATCH_SIZE}, crop "
          f"{recipe.MODEL.TRAIN_SIZE}, {recipe.TRAIN.MAX_ITERATIVE_STEPS} correction steps at most), "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, {args.iters} iterations per setting")
    settings = [("before", "fp32", False, 2, False), ("+bf16", "bf16", False, 2, False)]
    if have_prepared:
        settings.append(("+prepared", "bf16", True, 2, False))
    else:
        print(f"(no prepared copy of every set in {cfg.PREPARED_PATH}: run `interseg datasets prepare "
              f"{' '.join(d.NAME for d in recipe.TRAIN.DATASETS)}` to measure it)")
    if args.workers != 2:
        settings.append((f"+workers {args.workers}", "bf16", have_prepared, args.workers, False))
    settings.append(("+folded", "bf16", have_prepared, args.workers, True))
    ratio = bf16_conv_speedup()
    print(f"a 3x3 convolution runs {ratio:.2f}x as fast in bfloat16 as in float32 on this CPU")
    if ratio < 1:  # no fast bfloat16 kernels here: the same levers in float32 as well
        settings.append(("fp32+levers", "fp32", have_prepared, args.workers, True))
    print(f"{'setting':<12} {'img/s':>7} {'x before':>9} {'load ms/img':>12} {'wait ms/img':>12} {'step ms/img':>12}")
    base = None
    for label, precision, prepared, workers, fold in settings:
        r = measure(args.recipe, cfg, precision, prepared, workers, fold, args.iters, args.warmup, args.pretrained)
        base = base or r["img_s"]
        print(f"{label:<12} {r['img_s']:>7.2f} {r['img_s'] / base:>8.2f}x {r['load']:>12.1f} {r['wait']:>12.1f} "
              f"{r['step']:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
