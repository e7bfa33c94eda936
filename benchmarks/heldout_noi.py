"""Compare checkpoints on held-out *training-set* images, for choosing between them without touching
the benchmarks (GrabCut, Berkeley, DAVIS stay for the final report).

The images are the trainer's validation split (``TRAIN.VAL_FRACTION`` of each training set in
--datasets, by default the whole pool: DUTS, CCP, PascalVOC2007, COCO_MVal_train, ECSSD; never
trained on); each object is segmented at its native size with the checkpoint's own predictor
options (its recommended ZoomIn start included) — or, with --long-side N, scaled so that its longer
side is N px (the prepared pool caps the shorter side at 512 px; DAVIS's frames are 854 px wide, and a
setting that matters only for large objects shows only there; the enlarged images hold no extra
detail, so compare networks on the same predictor settings with it, not input sizes) — and the script
prints NoI@90 (at most 20 interactions, RITM click simulator; overall and per training set), NoI@95, and the mean
IoU after the first interaction, per input type; with the share of clicks the network ignored (a click's
pixel on the wrong side of the mask it produced), the share of interactions that lowered the IoU by more
than 0.1 ("harmful") and the objects that lost more than 0.2 in one step ("wrecked").
--option KEY=VALUE sets a predictor option by its flat name (``click_guard=true``,
``zoom_in_follow_object=false``…) for every checkpoint, to compare predictor rules on held-out data.

Usage:  python benchmarks/heldout_noi.py CKPT [CKPT ...] [--per-dataset 15] [--types point,contour,stroke]
                                         [--datasets DUTS,CCP,...] [--user reference|human-like]
                                         [--long-side N] [--keep-all]
                                         [--refine none|guided [--refine-radius R] [--refine-eps E]]
                                         [--option KEY=VALUE ...]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import yaml
from tqdm import tqdm

from interseg.cli import add_refine_args
from interseg.commands.common import csv
from interseg.config import load_config
from interseg.data.registry import build_train_dataset
from interseg.evaluation.metrics import noi
from interseg.evaluation.protocol import EvalSettings, user_seed
from interseg.evaluation.runner import run_sequence
from interseg.evaluation.summary import harmful, ignored_share
from interseg.inference.loading import load_predictor
from interseg.interactions.schedules import single
from interseg.training.data import split_indices
from interseg.training.recipe import RecipeTrain

DATASETS = "DUTS,CCP,PascalVOC2007,COCO_MVal_train,ECSSD"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoint paths or shipped model names")
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--per-dataset", type=int, default=15, help="held-out objects per training set")
    ap.add_argument("--types", default="point,contour,stroke")
    ap.add_argument("--datasets", default=DATASETS, help=f"training sets (default {DATASETS})")
    ap.add_argument("--user", choices=["reference", "human-like"], default="reference",
                    help="contours and strokes as the reference protocol draws them, or as people do")
    ap.add_argument("--val-fraction", type=float, default=RecipeTrain.VAL_FRACTION,
                    help="the recipes' TRAIN.VAL_FRACTION (the split must match the training run's)")
    ap.add_argument("--keep-all", action="store_true",
                    help="keep every contour/stroke in the network's input (not what the networks are trained with)")
    ap.add_argument("--long-side", type=int, metavar="N",
                    help="scale every held-out image (and mask) so that its longer side is N px")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a predictor option by its flat name (repeatable), e.g. click_guard=true")
    add_refine_args(ap)
    args = ap.parse_args()
    options = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in args.option)}
    torch.set_num_threads(1)
    cfg = load_config(args.config)
    samples = []
    names = csv(args.datasets)
    for name in names:
        ds = build_train_dataset(name, cfg)
        for i in split_indices(ds, args.val_fraction, "val")[: args.per_dataset]:
            s = ds[i]
            samples.append((name, i, s.scaled(args.long_side / max(s.shape)) if args.long_side else s))
    settings = EvalSettings(mode="noi", max_interactions=20, user=args.user, keep_all=args.keep_all)
    print(f"{len(samples)} held-out objects ({', '.join(names)}), NoI@90 / first-interaction IoU, "
          f"{args.user} user" + (f", longer side {args.long_side} px" if args.long_side else ""))
    for ckpt in args.checkpoints:
        predictor = load_predictor(ckpt, models_dir=cfg.INTERACTIVE_MODELS_PATH, refine=args.refine,
                                   refine_radius=args.refine_radius, refine_eps=args.refine_eps, **options)
        for kind in csv(args.types):
            n90, n95, first, per, recs = [], [], [], {name: [] for name in names}, []
            for name, i, s in tqdm(samples, desc=f"{predictor.name} {kind}", leave=False):
                rec, _ = run_sequence(s, predictor, single(kind, 20), settings, user_seed(0, name, i, kind))
                n90.append(noi(rec["ious"], 0.9, 20))
                n95.append(noi(rec["ious"], 0.95, 20))
                per[name].append(n90[-1])
                first.append(rec["ious"][0])
                recs.append(rec)
            split = ", ".join(f"{name} {np.mean(v):.2f}" for name, v in per.items() if v)
            harm, ign = harmful(recs), ignored_share(recs)
            print(f"{ckpt} {kind}: NoI@90 {np.mean(n90):.2f} ({split}), NoI@95 {np.mean(n95):.2f}, "
                  f"first IoU {np.mean(first):.3f}, "
                  f"ignored clicks {'-' if ign is None else f'{100 * ign:.1f} %'}, harmful "
                  f"{100 * harm['harmful']:.2f} %, wrecked {harm['wrecked']}, largest drop "
                  f"{harm['largest_drop']:.2f}", flush=True)


if __name__ == "__main__":
    main()
