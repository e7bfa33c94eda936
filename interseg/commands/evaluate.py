"""``interseg evaluate``"""

from __future__ import annotations

import argparse

from ..config import load_config
from ..errors import ConfigError
from ..evaluation.benchmark import run_benchmark
from ..evaluation.protocol import EvalSettings
from ..inference.factory import build_predictors


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    types = tuple(t.strip() for t in args.input_types.split(",") if t.strip())
    try:
        settings = EvalSettings(
            mode="noi" if args.noi else "iou", input_types=types, schedule=args.schedule,  # type: ignore[arg-type]
            n_interactions=args.n_interactions, max_interactions=args.max_interactions,
            boundary_iou=args.boundary_iou, boundary_ratio=args.boundary_ratio, prob_threshold=args.thresh,
            max_size=args.max_size, seed=args.seed, clicker=args.clicker, keep_all=args.keep_all,
            limit=args.limit)
        settings.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    predictors = build_predictors(args, cfg)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    output = args.output
    if output is None:
        tag = "noi" if args.noi else "iou"
        output = cfg.EXPS_PATH / "evaluation" / f"{'+'.join(predictors)}_{'+'.join(datasets)}_{tag}".replace(
            ":", "_").replace("/", "_")
    run_benchmark(predictors, datasets, cfg, settings, output, workers=args.workers, vis_preds=args.vis_preds)
    return 0
