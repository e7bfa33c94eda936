"""Side by side: simulated clicks on one benchmark object, predicted without and with the guided-filter
edge refinement (``--refine guided``). Writes an image (masks over the image, ground-truth outline,
clicks, IoU in each panel) and prints the IoU after every click.

The two runs share nothing but the first click: each follows its own errors, as the benchmark does.

Usage:  python benchmarks/refine_example.py [--checkpoint interseg_segformer_b0] [--dataset GrabCut]
                                            [--object 153093] [--clicks 8] [--output docs/refine_example.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from interseg.config import load_config
from interseg.data.registry import build_eval_dataset
from interseg.evaluation.protocol import EvalSettings, user_seed
from interseg.evaluation.runner import run_sequence
from interseg.inference.loading import load_predictor
from interseg.interactions.schedules import single
from interseg.visualize import overlay, save_rgb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--checkpoint", default="interseg_segformer_b0")
    ap.add_argument("--dataset", default="GrabCut")
    ap.add_argument("--object", default="153093", help="the sample's name in the dataset")
    ap.add_argument("--clicks", type=int, default=8)
    ap.add_argument("--output", type=Path, default=Path("docs/refine_example.jpg"))
    args = ap.parse_args()
    cfg = load_config(args.config)
    ds = build_eval_dataset(args.dataset, cfg)
    try:
        index = ds.index_of(args.object)
    except KeyError as e:
        raise SystemExit(e.args[0]) from None
    sample = ds[index]
    settings = EvalSettings(mode="iou", n_interactions=args.clicks)
    panels = []
    for mode in ("none", "guided"):
        predictor = load_predictor(args.checkpoint, models_dir=cfg.INTERACTIVE_MODELS_PATH, refine=mode)
        rec, session = run_sequence(sample, predictor, single("point", args.clicks), settings,
                                    user_seed(0, args.dataset, index, "point"))
        print(f"{args.checkpoint} --refine {mode}: IoU after each click "
              + " ".join(f"{v:.3f}" for v in rec["ious"]))
        panel = overlay(sample.image, session.mask, session.interactions, gt=sample.gt > 0)
        label = f"--refine {mode}: IoU {rec['ious'][-1]:.3f} after {len(rec['ious'])} clicks"
        cv2.putText(panel, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(panel, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_rgb(args.output, np.concatenate(panels, axis=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
