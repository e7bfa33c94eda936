"""``interseg evaluate``"""

from __future__ import annotations

import argparse

from ..config import load_config
from ..errors import ConfigError
from ..evaluation.benchmark import run_benchmark
from ..evaluation.protocol import EvalSettings
from .common import build_predictors, csv, writable_path


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    types = tuple(csv(args.input_types))
    datasets = csv(args.datasets)
    schedule = args.schedule or quick_schedule(datasets, args)
    try:
        settings = EvalSettings(
            mode="noi" if args.noi else "iou", input_types=types, schedule=schedule,  # type: ignore[arg-type]
            n_interactions=args.n_interactions, max_interactions=args.max_interactions,
            boundary_iou=args.boundary_iou, boundary_ratio=args.boundary_ratio,
            sample_max_size=args.sample_max_size, seed=args.seed, clicker=args.clicker, user=args.user,
            keep_all=args.keep_all, limit=args.limit, subset=args.subset)
        settings.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    predictors = build_predictors(args, cfg)
    output = args.output
    if output is None:
        tag = "noi" if args.noi else "iou"
        output = cfg.EXPS_PATH / "evaluation" / f"{'+'.join(predictors)}_{'+'.join(datasets)}_{tag}".replace(
            ":", "_").replace("/", "_")
    writable_path(output / "run.json")
    quick = args.schedule is None and schedule != "product"
    print(f"protocol: {describe(settings)}"
          + ("; the full protocol (27 interaction-type sequences): add --schedule product" if quick else ""),
          flush=True)
    run_benchmark(predictors, datasets, cfg, settings, output, workers=args.workers, vis_preds=args.vis_preds)
    if quick:
        print("this was the quick protocol on the bundled sample; the full protocol: interseg evaluate "
              "--schedule product (9x as many sequences)")
    return 0


def quick_schedule(datasets: list[str], args: argparse.Namespace) -> str:
    """The schedule when none is given: the full protocol's 27 sequences, except for a first look at the
    bundled sample (one sequence per input type: 9x fewer predictions)."""
    return "single" if datasets == ["sample"] and not args.noi else "product"


def describe(settings: EvalSettings) -> str:
    """One line naming the protocol a run follows."""
    if settings.mode == "noi":
        return (f"NoI@{'/'.join(str(round(t * 100)) for t in settings.noi_thresholds)}, at most "
                f"{settings.max_interactions} interactions of each type ({', '.join(settings.input_types)})")
    n = len(settings.sequences())
    kind = {"product": "interaction-type sequences", "single": "single-type sequences",
            "csp": "contour-stroke-click sequences"}[settings.schedule]
    return f"IoU over {n} {kind} of {settings.n_interactions} interactions"
