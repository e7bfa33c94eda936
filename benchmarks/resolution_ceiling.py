"""The IoU a decoder of a given output stride can reach at best on each benchmark object, predicting on the
whole image at its native size (``interseg.evaluation.metrics.stride_ceiling_iou``: the ground truth
average-pooled by the stride, upsampled bilinearly, thresholded at 0.5). Prints, per dataset and stride,
the mean and minimum IoU over the objects and the objects below --below (where the output resolution
alone caps the IoU under that level).  With ``--refine``, the same after the predictor's guided-filter
refinement (``interseg.inference.refine``; radius given at stride 4 and scaled with the stride): how much of
the cap snapping to the image's edges recovers.

Usage:  python benchmarks/resolution_ceiling.py [--datasets GrabCut,Berkeley,DAVIS] [--strides 2,4,8]
                                                 [--refine [--refine-radius 8 --refine-eps 0.001]]
"""

from __future__ import annotations

import argparse

import numpy as np

from interseg.commands.common import csv
from interseg.config import load_config
from interseg.data.registry import build_eval_dataset
from interseg.evaluation.metrics import iou, stride_limited
from interseg.inference.refine import RefineParams, refine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--datasets", default="GrabCut,Berkeley,DAVIS")
    ap.add_argument("--strides", default="2,4,8")
    ap.add_argument("--below", type=float, default=0.92, help="list the objects whose ceiling is under this IoU")
    ap.add_argument("--show", type=int, default=6, help="how many of those objects to name")
    ap.add_argument("--refine", action="store_true", help="also the ceiling after the guided-filter refinement")
    ap.add_argument("--refine-radius", type=int, default=8, help="guided filter radius at stride 4 (default 8)")
    ap.add_argument("--refine-eps", type=float, default=1e-3)
    args = ap.parse_args()
    cfg = load_config(args.config)
    strides = [int(s) for s in csv(args.strides)]
    kinds = ["plain"] + (["refined"] if args.refine else [])
    print("dataset  | stride | output  | objects | mean IoU | min IoU | objects below --below")
    for name in csv(args.datasets):
        ious: dict[tuple[int, str], list[tuple[float, str]]] = {(st, k): [] for st in strides for k in kinds}
        for s in build_eval_dataset(name, cfg):  # one image in memory at a time
            gt, ign = s.gt > 0, s.ignore > 0
            for stride in strides:
                up = stride_limited(gt, stride)
                ious[stride, "plain"].append((iou(gt, up > 0.5, ign), s.name))
                if args.refine:
                    params = RefineParams("guided", max(1, round(args.refine_radius * stride / 4)), args.refine_eps)
                    ious[stride, "refined"].append((iou(gt, refine(up, s.image, params) > 0.5, ign), s.name))
        for stride, kind in ious:
            values = np.array([v for v, _ in ious[stride, kind]])
            low = [f"{n} {v:.3f}" for v, n in sorted(ious[stride, kind]) if v < args.below]
            shown = ", ".join(low[:args.show]) + (f", … ({len(low)} in all)" if len(low) > args.show else "")
            print(f"{name:8} | {stride:6} | {kind:7} | {len(values):7} | {values.mean():8.4f} | {values.min():7.4f} | "
                  f"{shown or '-'}")


if __name__ == "__main__":
    main()
