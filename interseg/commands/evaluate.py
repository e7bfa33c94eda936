"""``interseg evaluate``"""

from __future__ import annotations

import argparse

from ..config import load_config
from ..errors import ConfigError
from ..evaluation.benchmark import run_benchmark
from ..evaluation.protocol import EvalSettings
from ..inference.options import DEFAULT_THRESHOLD
from .common import build_predictors, csv, writable_path


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    thresh = DEFAULT_THRESHOLD if args.thresh is None else args.thresh
    types = tuple(csv(args.input_types))
    try:
        settings = EvalSettings(
            mode="noi" if args.noi else "iou", input_types=types, schedule=args.schedule,  # type: ignore[arg-type]
            n_interactions=args.n_interactions, max_interactions=args.max_interactions,
            boundary_iou=args.boundary_iou, boundary_ratio=args.boundary_ratio, prob_threshold=thresh,
            max_size=args.max_size, seed=args.seed, clicker=args.clicker, user=args.user, keep_all=args.keep_all,
            limit=args.limit, subset=args.subset)
        settings.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    # evaluate downscales the samples itself (--max-size), so the predictor does not
    predictors = build_predictors(args, cfg, with_max_size=False)
    datasets = csv(args.datasets)
    output = args.output
    if output is None:
        tag = "noi" if args.noi else "iou"
        output = cfg.EXPS_PATH / "evaluation" / f"{'+'.join(predictors)}_{'+'.join(datasets)}_{tag}".replace(
            ":", "_").replace("/", "_")
    writable_path(output / "run.json")
    run_benchmark(predictors, datasets, cfg, settings, output, workers=args.workers, vis_preds=args.vis_preds)
    return 0
