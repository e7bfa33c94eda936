"""Building predictors from command-line options (shipped model names, checkpoint paths, baselines)."""

from __future__ import annotations

import argparse

from ..config import Config
from ..errors import ConfigError
from .grabcut import GrabCutPredictor
from .predictor import Predictor

BASELINES = {"grabcut": GrabCutPredictor}


def build_predictors(args: argparse.Namespace, cfg: Config) -> dict[str, Predictor]:
    """name → predictor for every ``--checkpoint`` and ``--baseline`` given (default: the default model)."""
    predictors: dict[str, Predictor] = {}
    for b in getattr(args, "baseline", []) or []:
        predictors[b] = BASELINES[b]()
    checkpoints = args.checkpoint if isinstance(args.checkpoint, list) else (
        [args.checkpoint] if args.checkpoint else [])
    for spec in checkpoints:
        from .loading import load_predictor

        p = load_predictor(spec, cfg, args)
        if p.name in predictors:
            raise ConfigError(f"two models named {p.name!r} in one run")
        predictors[p.name] = p
    if not predictors:
        from .loading import default_predictor

        p = default_predictor(cfg, args)
        predictors[p.name] = p
    return predictors
