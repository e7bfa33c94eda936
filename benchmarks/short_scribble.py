"""The short-scribble case and the ZoomIn crop stroke by stroke, on GrabCut, Berkeley and DAVIS.

1. **One short scribble.** On every object, one human-like positive stroke of 10-20 % of the object's
   extent (the longer side of its box), 3-15 px wide, straight or curved, as the only input: the mean
   IoU (and the share of objects under 0.5) per dataset, for each model and for the GrabCut baseline
   given the same marks. The marks are seeded per object: every model sees the same ones.
2. **Stroke by stroke.** Human-like strokes (one to three short scribbles per step, on the region to
   fix) for --steps steps or until the IoU reaches 0.9: the share of the object inside the final ZoomIn
   crop (1 when the step saw the whole image); runs that end with < 95 % of the object in the crop are
   counted, and the worst is named.

Usage:  python benchmarks/short_scribble.py [--models interseg_lite0,CKPT] [--datasets GrabCut,Berkeley,DAVIS]
                                             [--limit N] [--steps 10] [--no-steps] [--no-grabcut]
                                             [--old-crop-rule] [--heldout]
With --heldout, --datasets names training sets (DUTS,CCP,PascalVOC2007,COCO_MVal_train,ECSSD) and the
objects are their held-out split: the figures for choosing a model.
"""

from __future__ import annotations

import argparse
import zlib

import numpy as np
import torch
from tqdm import tqdm

from interseg.commands.common import csv
from interseg.config import load_config
from interseg.data.registry import build_eval_dataset, build_train_dataset
from interseg.evaluation.metrics import iou
from interseg.inference.grabcut import GrabCutPredictor
from interseg.inference.loading import load_predictor
from interseg.inference.session import Session
from interseg.interactions.human import HumanStrokeUser
from interseg.training.data import split_indices
from interseg.training.recipe import RecipeTrain


def _seed(ds: str, index: int) -> int:
    return zlib.crc32(f"{ds}|{index}".encode())


def crop_share(session: Session, gt: np.ndarray) -> float:
    """The share of the object's pixels inside the predictor's current crop (1.0 on the whole image)."""
    roi = getattr(session.state, "roi", None)
    if roi is None or not gt.any():
        return 1.0
    x0, y0, x1, y1 = roi
    return float(gt[y0:y1, x0:x1].sum() / gt.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="interseg_lite0", help="comma-separated model names or checkpoint paths")
    ap.add_argument("--datasets", default="GrabCut,Berkeley,DAVIS")
    ap.add_argument("--limit", type=int, help="objects per dataset (default: all)")
    ap.add_argument("--steps", type=int, default=10, help="strokes per stroke-by-stroke run")
    ap.add_argument("--no-steps", dest="run_steps", action="store_false", help="only the one-scribble case")
    ap.add_argument("--no-grabcut", dest="grabcut", action="store_false", help="leave out the GrabCut baseline")
    ap.add_argument("--old-crop-rule", action="store_true",
                    help="also run each model with the reference's crop rule (ZoomIn follow_object off)")
    ap.add_argument("--heldout", action="store_true",
                    help="--datasets are training sets: use their held-out split (the trainer's validation "
                         "objects, never trained on), for choosing between models")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config()
    predictors: dict = {m: load_predictor(m) for m in csv(args.models)}
    if args.old_crop_rule:
        for m in csv(args.models):
            predictors[f"{m} (old crop rule)"] = load_predictor(m, zoom_in_follow_object=False)
    if args.grabcut:
        predictors["GrabCut baseline"] = GrabCutPredictor()
    one: dict[tuple[str, str], list[float]] = {}
    steps: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for name in csv(args.datasets):
        if args.heldout:
            ds = build_train_dataset(name, cfg)
            indices = split_indices(ds, RecipeTrain.VAL_FRACTION, "val")
        else:
            ds = build_eval_dataset(name, cfg)
            indices = list(range(len(ds)))
        for i in tqdm(indices[:args.limit], desc=f"short scribble · {name}", unit="obj", mininterval=1.0):
            s = ds[i]
            stroke = HumanStrokeUser(_seed(name, i), marks=(1, 1), length=(0.1, 0.2)).next_stroke(
                s.gt, np.zeros_like(s.gt), s.ignore)
            for pname, pred in predictors.items():
                session = Session(s.image, pred)
                one.setdefault((pname, name), []).append(iou(s.gt, session.add(stroke).mask, s.ignore))
                if not args.run_steps or pname == "GrabCut baseline":
                    continue
                user = HumanStrokeUser(_seed(name, i) + 1)
                session.reset()
                for _ in range(args.steps):
                    it = user.next_stroke(s.gt, session.mask, s.ignore, session.interactions)
                    if it is None:
                        break
                    session.add(it)
                    if iou(s.gt, session.mask, s.ignore) >= 0.9:
                        break
                steps.setdefault((pname, name), []).append((crop_share(session, s.gt), s.name))
    print("\nOne short positive scribble (10-20 % of the object's extent) as the only input:")
    print("| model | " + " | ".join(f"{d} mean IoU (< 0.5)" for d in csv(args.datasets)) + " | all |")
    print("|---" * (len(csv(args.datasets)) + 2) + "|")
    for pname in predictors:
        cells, every = [], []
        for d in csv(args.datasets):
            v = np.array(one[(pname, d)])
            every += list(v)
            cells.append(f"{v.mean():.3f} ({(v < 0.5).sum()}/{len(v)})")
        print(f"| {pname} | " + " | ".join(cells) + f" | {np.mean(every):.3f} |")
    if steps:
        print(f"\nStroke by stroke (human-like, at most {args.steps} steps, stop at IoU 0.9): the object's share "
              "inside the final crop")
        print("| model | dataset | runs | mean share | runs < 95 % | worst |")
        print("|---|---|---|---|---|---|")
        for (pname, d), v in steps.items():
            shares = np.array([x for x, _ in v])
            worst = min(v)
            print(f"| {pname} | {d} | {len(v)} | {shares.mean():.4f} | {(shares < 0.95).sum()} | "
                  f"{worst[0]:.3f} ({worst[1]}) |")


if __name__ == "__main__":
    main()
