"""Loading a network predictor from a checkpoint path or a model name.

A name is looked up as ``INTERACTIVE_MODELS_PATH/<name>.safetensors`` and then among the models
shipped in the package (``interseg/resources/models``).
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from ..config import Config
from ..errors import CheckpointError
from ..models.checkpoint import load_checkpoint, torch_device
from .grabcut import GrabCutPredictor
from .net_predictor import NetPredictor, PredictorOptions
from .predictor import Predictor
from .refine import RefineParams
from .zoom_in import ZoomInParams

SHIPPED_DIR = Path(str(resources.files("interseg") / "resources" / "models"))
DEFAULT_MODEL = "interseg_lite0"


def resolve_checkpoint(spec: str, cfg: Config | None) -> Path:
    p = Path(spec)
    if p.suffix or p.exists() or "/" in spec:
        if not p.is_file():
            raise CheckpointError(f"{spec}: checkpoint file not found")
        return p
    candidates = ([cfg.INTERACTIVE_MODELS_PATH / f"{spec}.safetensors"] if cfg else []) + [
        SHIPPED_DIR / f"{spec}.safetensors"]
    for c in candidates:
        if c.is_file():
            return c
    names = sorted(q.stem for q in SHIPPED_DIR.glob("*.safetensors")) if SHIPPED_DIR.is_dir() else []
    raise CheckpointError(f"{spec}: no such model (looked in {', '.join(str(c.parent) for c in candidates)}; "
                          f"shipped: {', '.join(names) or 'none'})")


def recommended_skip_clicks(meta: dict, source: str | Path) -> int | None:
    """The ZoomIn start a model's publisher recommends (``meta["inference"]["zoom_in_skip_clicks"]``)."""
    value = meta.get("inference", {}).get("zoom_in_skip_clicks")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise CheckpointError(f"{source}: metadata inference.zoom_in_skip_clicks must be an integer >= 0, "
                              f"not {value!r}")
    return value


def recommended_refine(meta: dict, source: str | Path) -> RefineParams | None:
    """The refinement a model's publisher recommends (``meta["inference"]["refine"]``: mode, radius, eps)."""
    value = meta.get("inference", {}).get("refine")
    if value is None:
        return None
    try:
        if not isinstance(value, dict) or set(value) - {"mode", "radius", "eps"}:
            raise ValueError("expected a mapping with mode, radius and eps")
        return RefineParams(**value)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{source}: metadata inference.refine {value!r}: {e}") from None


def refine_from_args(args: argparse.Namespace, model_refine: RefineParams | None = None) -> RefineParams:
    """``--refine`` / ``--refine-radius`` / ``--refine-eps`` over the model's recommendation."""
    base = model_refine or RefineParams()
    mode = getattr(args, "refine", None) or base.mode
    radius = getattr(args, "refine_radius", None)
    eps = getattr(args, "refine_eps", None)
    try:
        return RefineParams(mode, base.radius if radius is None else radius, base.eps if eps is None else eps)
    except ValueError as e:
        raise CheckpointError(f"--refine: {e}") from None


def options_from_args(args: argparse.Namespace, model_skip_clicks: int | None = None,
                      model_refine: RefineParams | None = None) -> PredictorOptions:
    """Predictor options from the command line; ``model_skip_clicks`` (the model's own ZoomIn start)
    and ``model_refine`` are used unless ``--zoom-in-skip-clicks`` / ``--refine…`` say otherwise."""
    fh, fw = getattr(args, "fixed_h", None), getattr(args, "fixed_w", None)
    if (fh is None) != (fw is None):
        raise CheckpointError("--fixed-h and --fixed-w must be given together")
    skip = getattr(args, "zoom_in_skip_clicks", None)
    if skip is not None and skip < 0:
        raise CheckpointError(f"--zoom-in-skip-clicks must be >= 0, not {skip}")
    skip = skip if skip is not None else model_skip_clicks if model_skip_clicks is not None else 1
    zoom = ZoomInParams(enabled=not getattr(args, "no_zoom_in", False), skip_clicks=skip)
    # evaluate downscales the samples itself (--max-size); predict limits the network input with it
    max_size = getattr(args, "max_size", None) if getattr(args, "command", "") != "evaluate" else None
    return PredictorOptions(fixed_size=(fh, fw) if fh else None, max_size=max_size, zoom_in=zoom,
                            flip=not getattr(args, "no_flip", False), backend=getattr(args, "backend", "torch"),
                            refine=refine_from_args(args, model_refine))


def load_predictor(spec: str, cfg: Config | None, args: argparse.Namespace | None = None) -> NetPredictor:
    path = resolve_checkpoint(spec, cfg)
    device = torch_device(getattr(args, "cpu", False) if args else True)
    net, meta = load_checkpoint(path, device)
    skip, ref = recommended_skip_clicks(meta, path), recommended_refine(meta, path)
    opts = options_from_args(args if args is not None else argparse.Namespace(), skip, ref)
    return NetPredictor(net, meta.get("name", path.stem), opts, device)


def default_predictor(cfg: Config, args: argparse.Namespace) -> Predictor:
    """The default shipped model; the GrabCut baseline while none is shipped."""
    if (SHIPPED_DIR / f"{DEFAULT_MODEL}.safetensors").is_file():
        return load_predictor(DEFAULT_MODEL, cfg, args)
    return GrabCutPredictor()
