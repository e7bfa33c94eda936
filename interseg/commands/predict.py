"""``interseg predict IMAGE --click X,Y[,neg] --contour F.json --stroke F.json -o mask.png``"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..config import load_config
from ..data.image_io import MAX_PIXELS, load_image
from ..errors import InteractionError
from ..inference.session import Session
from ..interactions.types import Click, Contour, Interaction, Stroke
from ..visualize import overlay, save_gray, save_rgb
from .common import single_predictor, writable_path


def parse_click(text: str) -> Click:
    parts = [p.strip() for p in text.split(",")]
    try:
        x, y = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise InteractionError(f"--click {text!r}: expected X,Y or X,Y,neg") from None
    if len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("neg", "pos")):
        raise InteractionError(f"--click {text!r}: the third part must be 'neg' or 'pos'")
    return Click(x, y, not (len(parts) == 3 and parts[2] == "neg"))


def read_polyline(path: Path, cls: type[Contour] | type[Stroke]) -> Interaction:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InteractionError(f"{path}: file not found") from None
    except json.JSONDecodeError as e:
        raise InteractionError(f"{path}: not valid JSON ({e})") from None
    pts, positive = (data.get("points"), data.get("positive", True)) if isinstance(data, dict) else (data, True)
    try:
        return cls.from_points(np.asarray(pts, np.float64), bool(positive))
    except (ValueError, TypeError) as e:
        raise InteractionError(f"{path}: expected [[x, y], ...] points ({e})") from None


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    image = load_image(args.image, args.max_pixels or MAX_PIXELS)
    its: list[Interaction] = [parse_click(c) for c in args.click]
    its += [read_polyline(p, Contour) for p in args.contour]
    its += [read_polyline(p, Stroke) for p in args.stroke]
    if not its:
        raise InteractionError("give at least one --click, --contour or --stroke")
    for path in (args.output, args.prob):
        if path is not None and path.suffix.lower() != ".png":
            raise InteractionError(f"{path}: masks and probability maps are written as 1-channel PNG "
                                   f"(lossless); use a .png name")
    for path in (args.output, args.overlay, args.prob):
        if path is not None:
            writable_path(path)
    predictor = single_predictor(args, cfg)
    name = predictor.name
    session = Session(image, predictor)
    for it in its:
        try:
            session.add(it)
        except InteractionError as e:
            raise InteractionError(f"{args.image}: {e}") from None
    mask = session.mask
    save_gray(args.output, (mask * 255).astype(np.uint8))
    if args.overlay:
        save_rgb(args.overlay, overlay(image, mask, session.interactions))
    if args.prob:
        save_gray(args.prob, (session.prob * 255).round().astype(np.uint8))
    print(f"{name}: {mask.sum()} object pixels of {mask.size} ({session.last_seconds * 1000:.0f} ms last step) "
          f"→ {args.output}")
    return 0
