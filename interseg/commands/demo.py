"""``interseg demo [--checkpoint NAME|PATH] [--cpu] [--fixed-h H --fixed-w W] [--output DIR] [IMAGE_OR_FOLDER]``"""

from __future__ import annotations

import argparse
import os

from ..config import load_config
from ..data.image_io import MAX_PIXELS
from ..errors import ConfigError, IntersegError
from .common import csv, single_predictor


def run(args: argparse.Namespace) -> int:
    if not os.environ.get("DISPLAY") and os.name != "nt":
        raise IntersegError("no display: the demo needs a screen (set DISPLAY, or run it under Xvfb)")
    if args.path is not None and not args.path.exists():
        raise ConfigError(f"{args.path}: no such image or folder")
    cfg = load_config(args.config)
    predictor = single_predictor(args, cfg)
    from ..demo.app import run_demo
    from ..demo.controller import AnnotationController

    controller = AnnotationController(predictor, args.output, max_pixels=args.max_pixels or MAX_PIXELS,
                                      labels=csv(args.labels) or None)
    run_demo(controller, args.path)
    return 0
