"""The IoU a decoder of a given output stride can reach at best on each benchmark object, predicting on the
whole image at its native size (``interseg.evaluation.metrics.stride_ceiling_iou``: the ground truth
average-pooled by the stride, upsampled bilinearly, thresholded at 0.5). Prints, per dataset and stride,
the mean and minimum IoU over the objects and the objects below --below (where the output resolution
alone caps the IoU under that level).

Usage:  python benchmarks/resolution_ceiling.py [--datasets GrabCut,Berkeley,DAVIS] [--strides 2,4,8]
"""

from __future__ import annotations

import argparse

import numpy as np

from interseg.config import load_config
from interseg.data.registry import build_eval_dataset
from interseg.evaluation.metrics import stride_ceiling_iou


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--datasets", default="GrabCut,Berkeley,DAVIS")
    ap.add_argument("--strides", default="2,4,8")
    ap.add_argument("--below", type=float, default=0.92, help="list the objects whose ceiling is under this IoU")
    ap.add_argument("--show", type=int, default=6, help="how many of those objects to name")
    args = ap.parse_args()
    cfg = load_config(args.config)
    strides = [int(s) for s in args.strides.split(",")]
    print("dataset  | stride | objects | mean IoU | min IoU | objects below --below")
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        ious: dict[int, list[tuple[float, str]]] = {stride: [] for stride in strides}
        for s in build_eval_dataset(name, cfg):  # one image in memory at a time
            for stride in strides:
                ious[stride].append((stride_ceiling_iou(s.gt > 0, stride, s.ignore > 0), s.name))
        for stride in strides:
            values = np.array([v for v, _ in ious[stride]])
            low = [f"{n} {v:.3f}" for v, n in sorted(ious[stride]) if v < args.below]
            shown = ", ".join(low[:args.show]) + (f", … ({len(low)} in all)" if len(low) > args.show else "")
            print(f"{name:8} | {stride:6} | {len(values):7} | {values.mean():8.4f} | {values.min():7.4f} | "
                  f"{shown or '-'}")


if __name__ == "__main__":
    main()
