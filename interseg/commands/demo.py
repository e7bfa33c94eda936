"""``interseg demo [--checkpoint NAME|PATH] [--cpu] [--fixed-h H --fixed-w W] [--output DIR] [IMAGE_OR_FOLDER]``"""

from __future__ import annotations

import argparse
import os

from ..config import load_config
from ..errors import ConfigError, IntersegError
from .common import single_predictor


def run(args: argparse.Namespace) -> int:
    if not os.environ.get("DISPLAY") and os.name != "nt":
        raise IntersegError("no display: the demo needs a screen (set DISPLAY, or run it under Xvfb)")
    if args.path is not None and not args.path.exists():
        raise ConfigError(f"{args.path}: no such image or folder")
    cfg = load_config(args.config)
    predictor = single_predictor(args, cfg)
    from ..demo.app import run_demo
    from ..demo.controller import AnnotationController

    run_demo(AnnotationController(predictor, args.output), args.path)
    return 0
