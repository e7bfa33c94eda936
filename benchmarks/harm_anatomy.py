"""Where a harmful interaction changes the mask: the anatomy of the steps that lower the IoU by > 0.1.

For every object of --datasets, one sequence of one input type (by default people's contours, the
README's worst "harmful" column), run as the benchmark runs it. For each harmful step the pixels it
got wrong that were right before ("lost") are split by where they lie: inside the new mark (the pixels
it covers as the networks encode it, widened by 5 px), elsewhere in a changed region that
touches the mark, and in changed regions apart from the mark. The last share is what a rule that keeps
the previous mask away from the newest mark (a "progressive merge") could take back; --merge S runs the
sequences with such a rule (a changed region that does not touch the newest mark keeps the previous
probabilities, unless it is smaller than S of the object's area) to measure what it costs and saves.

Prints, per dataset: NoI@85/90/95, the harmful share and wrecked objects (evaluation.summary), and the
split of the lost pixels.

Usage:  python benchmarks/harm_anatomy.py [--checkpoint interseg_lite0] [--datasets Berkeley,DAVIS]
                                          [--type contour] [--user human-like|reference] [--limit N]
                                          [--merge S] [--option KEY=VALUE ...]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch
import yaml
from tqdm import tqdm

from interseg.commands.common import csv
from interseg.config import load_config
from interseg.data.registry import build_eval_dataset
from interseg.evaluation.metrics import noi
from interseg.evaluation.protocol import EvalSettings, user_seed
from interseg.evaluation.runner import run_sequence
from interseg.evaluation.summary import HARM, harmful
from interseg.inference.loading import load_predictor
from interseg.interactions.encoding import EncodingParams, interaction_mask
from interseg.interactions.schedules import single
from interseg.interactions.types import Interaction

PAD = 5


def footprint(it: Interaction, shape: tuple[int, int]) -> np.ndarray:
    """The pixels a mark covers as the networks encode it (a click's disk, a contour's inside, a stroke's
    line or painted mask), widened by PAD px."""
    m = interaction_mask(it, shape, EncodingParams()).astype(np.uint8)
    return cv2.dilate(m, np.ones((2 * PAD + 1, 2 * PAD + 1), np.uint8)) > 0


def apart(prev: np.ndarray, new: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Changed pixels in connected changed regions that do not touch ``mark``, and their labels' areas."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats((prev != new).astype(np.uint8), connectivity=8)
    far = np.ones(n, bool)
    far[0] = False
    far[np.unique(labels[mark])] = False
    return far[labels], stats[:, cv2.CC_STAT_AREA][labels]


class Recorder:
    """Wraps a predictor: keeps (previous mask, new mask, newest mark) of every step; optionally merges."""

    def __init__(self, inner, merge: float | None) -> None:
        self.inner, self.merge, self.steps = inner, merge, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, state, interactions, prev_prob=None):
        out = self.inner.predict(state, interactions, prev_prob)
        t = self.inner.options.threshold
        prev = prev_prob > t if prev_prob is not None else np.zeros(out.shape, bool)
        mark = footprint(interactions[-1], out.shape) if interactions else np.zeros(out.shape, bool)
        if self.merge is not None and prev.any():
            far, area = apart(prev, out > t, mark)
            back = far & (area > self.merge * prev.sum())
            out = np.where(back, prev_prob, out).astype(np.float32)
        self.steps.append((prev, out > t, mark))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="interseg_lite0")
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--datasets", default="Berkeley")
    ap.add_argument("--type", default="contour", choices=["point", "contour", "stroke"])
    ap.add_argument("--user", choices=["reference", "human-like"], default="human-like")
    ap.add_argument("--limit", type=int, help="the first N objects of each dataset")
    ap.add_argument("--merge", type=float, metavar="S", help="run with the merge rule (see above)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a predictor option by its flat name (repeatable), e.g. zoom_in=false")
    args = ap.parse_args()
    torch.set_num_threads(2)
    cfg = load_config(args.config)
    options = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in args.option)}
    predictor = Recorder(load_predictor(args.checkpoint, models_dir=cfg.INTERACTIVE_MODELS_PATH, **options),
                         args.merge)
    settings = EvalSettings(mode="noi", max_interactions=20, user=args.user)
    for name in csv(args.datasets):
        ds = build_eval_dataset(name, cfg)
        n = min(len(ds), args.limit or len(ds))
        recs, nois, split = [], [], np.zeros(3)
        for i in tqdm(range(n), desc=name, leave=False):
            s = ds[i]
            predictor.steps = []
            rec, _ = run_sequence(s, predictor, single(args.type, 20), settings, user_seed(0, name, i, args.type))
            recs.append(rec)
            nois.append([noi(rec["ious"], t, 20) for t in (0.85, 0.9, 0.95)])
            for j in range(1, len(rec["ious"])):
                if rec["ious"][j - 1] - rec["ious"][j] <= HARM:
                    continue
                prev, new, mark = predictor.steps[j]
                lost = (prev == s.gt) & (new != s.gt) & ~s.ignore
                far, _ = apart(prev, new, mark)
                inside = lost & mark
                split += [inside.sum(), (lost & ~mark & ~far).sum(), (lost & far).sum()]
        harm = harmful(recs)
        n85, n90, n95 = np.mean(nois, axis=0)
        share = split / max(split.sum(), 1) * 100
        rule = "" if args.merge is None else f", merge {args.merge:g}"
        print(f"{name} ({n} objects, {args.user} {args.type}{rule}): "
              f"NoI@85/90/95 {n85:.2f} / {n90:.2f} / {n95:.2f}, harmful {100 * harm['harmful']:.2f} %, wrecked "
              f"{harm['wrecked']}; pixels the harmful steps lost: inside the mark {share[0]:.0f} %, in changed "
              f"regions touching it {share[1]:.0f} %, in changed regions apart from it {share[2]:.0f} %", flush=True)


if __name__ == "__main__":
    main()
