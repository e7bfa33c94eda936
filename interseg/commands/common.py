"""What several commands share: turning command-line arguments into the library's typed objects.

This is where argparse stops: below ``interseg/commands`` the code takes
:class:`~interseg.inference.options.PredictorOptions` keywords, :class:`~interseg.config.Config` and
plain values, never a namespace.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..inference.grabcut import GrabCutPredictor
from ..inference.loading import DEFAULT_MODEL, load_predictor
from ..inference.predictor import Predictor
from ..models.bf16_probe import bf16_warning

BASELINES = {"grabcut": GrabCutPredictor}


def csv(text: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (every comma-separated option is read with this)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def predictor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The predictor options the command line gives (flat keywords; ``None`` = not given, so the
    model's recommendation or the default applies)."""
    fh, fw = getattr(args, "fixed_h", None), getattr(args, "fixed_w", None)
    if (fh is None) != (fw is None):
        raise ConfigError("--fixed-h and --fixed-w must be given together")
    return {"fixed_size": (fh, fw) if fh is not None else None,
            "max_size": getattr(args, "max_size", None),
            "zoom_in": False if getattr(args, "no_zoom_in", False) else None,
            "zoom_in_skip_clicks": getattr(args, "zoom_in_skip_clicks", None),
            "flip": False if getattr(args, "no_flip", False) else None,
            "refine": getattr(args, "refine", None), "refine_radius": getattr(args, "refine_radius", None),
            "refine_eps": getattr(args, "refine_eps", None), "backend": getattr(args, "backend", None),
            "threshold": getattr(args, "thresh", None),
            "click_guard": getattr(args, "click_guard", None),
            "precision": "bf16" if getattr(args, "bf16", False) else None}


def device_of(args: argparse.Namespace) -> str:
    return "cpu" if getattr(args, "cpu", False) else "auto"


def build_predictors(args: argparse.Namespace, cfg: Config) -> dict[str, Predictor]:
    """name → predictor for every ``--checkpoint`` and ``--baseline`` given (default: the default model)."""
    predictors: dict[str, Predictor] = {}
    opts = predictor_options(args)
    for b in getattr(args, "baseline", []) or []:
        predictors[b] = BASELINES[b](threshold=opts["threshold"])   # the one option every predictor has
    checkpoints = args.checkpoint if isinstance(args.checkpoint, list) else (
        [args.checkpoint] if args.checkpoint else [])
    for spec in checkpoints or ([] if predictors else [DEFAULT_MODEL]):
        p = load_predictor(spec, models_dir=cfg.INTERACTIVE_MODELS_PATH, device=device_of(args), **opts)
        if p.name in predictors:
            raise ConfigError(f"two models named {p.name!r} in one run")
        if opts["precision"] == "bf16" and str(getattr(p, "device", "")) == "cpu":
            warning = bf16_warning("--bf16")
            if warning:
                print(f"warning: {warning}", file=sys.stderr)
        predictors[p.name] = p
    return predictors


def single_predictor(args: argparse.Namespace, cfg: Config) -> Predictor:
    """The one predictor of ``predict`` / ``demo``: ``--baseline`` or ``--checkpoint``, not both."""
    if getattr(args, "baseline", None) and getattr(args, "checkpoint", None):
        raise ConfigError(f"give either --baseline {args.baseline[0]} or --checkpoint {args.checkpoint}, not both")
    ((_, predictor),) = build_predictors(args, cfg).items()
    return predictor


def check_can_create(folder: Path) -> Path:
    """``folder``, if it exists and is writable or could be created (nothing is created: a run that then
    fails to start leaves no empty folder behind); else a clear error."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{folder}: cannot create its folder ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{folder}: cannot write in {probe} (permission denied)")
    return folder


def writable_path(path: Path) -> Path:
    """``path``, if a file can be written there (its folder is created); else a clear error."""
    folder = path.parent if path.parent != Path("") else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{path}: cannot create its folder ({e.strerror})") from None
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ConfigError(f"{path}: cannot write in {folder} ({e.strerror})") from None
    return path
