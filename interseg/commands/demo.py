"""``interseg demo [--checkpoint NAME|PATH] [--cpu] [--fixed-h H --fixed-w W] [--output DIR] [IMAGE_OR_FOLDER]``"""

from __future__ import annotations

import argparse
import os

from ..config import load_config
from ..errors import IntersegError
from ..inference.factory import build_predictors


def run(args: argparse.Namespace) -> int:
    if not os.environ.get("DISPLAY") and os.name != "nt":
        raise IntersegError("no display: the demo needs a screen (set DISPLAY, or run it under Xvfb)")
    cfg = load_config(args.config)
    ((_, predictor),) = build_predictors(args, cfg).items()
    from ..demo.app import run_demo
    from ..demo.controller import AnnotationController

    run_demo(AnnotationController(predictor, args.output), args.path)
    return 0
