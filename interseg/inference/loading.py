"""Loading a network predictor from a checkpoint path or a model name: :func:`load_predictor`.

A name is looked up as ``<models_dir>/<name>.safetensors`` (the config's ``INTERACTIVE_MODELS_PATH``
on the command line) and then among the models shipped in the package (``interseg/resources/models``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, ConfigError
from ..models.checkpoint import load_checkpoint
from .net_predictor import NetPredictor
from .options import resolve_options

SHIPPED_DIR = Path(str(resources.files("interseg") / "resources" / "models"))
DEFAULT_MODEL = "interseg_lite0"


def shipped_models() -> list[str]:
    """Names of the models shipped in the package."""
    return sorted(q.stem for q in SHIPPED_DIR.glob("*.safetensors")) if SHIPPED_DIR.is_dir() else []


def resolve_checkpoint(spec: str | Path, models_dir: str | Path | None = None) -> Path:
    """The checkpoint file of a model name or path.

    Args:
        spec: a path (anything with a suffix or a ``/``, or an existing file) or a model name.
        models_dir: a folder of ``<name>.safetensors`` files searched before the shipped models.

    Raises:
        CheckpointError: no such file or model (the message lists the folders searched and the shipped names).
    """
    text = str(spec)
    p = Path(text)
    if p.suffix or p.exists() or "/" in text:
        if not p.is_file():
            raise CheckpointError(f"{text}: checkpoint file not found")
        return p
    candidates = ([Path(models_dir) / f"{text}.safetensors"] if models_dir else []) + [
        SHIPPED_DIR / f"{text}.safetensors"]
    for c in candidates:
        if c.is_file():
            return c
    raise CheckpointError(f"{text}: no such model (looked in {', '.join(str(c.parent) for c in candidates)}; "
                          f"shipped: {', '.join(shipped_models()) or 'none'})")


def resolve_device(device: str) -> str:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"``, or ``"auto"`` (a GPU when there is one)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: no CUDA device is available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', not {device!r}")
    return device


def load_predictor(name_or_path: str | Path = DEFAULT_MODEL, *, models_dir: str | Path | None = None,
                   device: str = "cpu", **options: Any) -> NetPredictor:
    """Load a trained network as a ready-to-use predictor.

    Args:
        name_or_path: a shipped model's name (``"interseg_lite0"``, the default, or
            ``"interseg_segformer_b0"``), a name in ``models_dir``, or a ``.safetensors`` checkpoint path.
            The checkpoint carries its architecture, so no other setting is needed.
        models_dir: folder searched for ``<name>.safetensors`` before the shipped models.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        **options: predictor options by their flat names (``flip``, ``zoom_in``, ``zoom_in_skip_clicks``,
            ``max_size``, ``fixed_size``, ``refine``, ``refine_radius``, ``refine_eps``, ``backend``,
            ``threshold``; see :data:`interseg.inference.options.OPTION_NAMES`). They override the
            settings the model recommends, which override the defaults.

    Returns:
        A :class:`NetPredictor`: use it with :class:`interseg.Session`, or call its stateless
        :meth:`~NetPredictor.predict` directly.

    Raises:
        CheckpointError: the file is missing, not a safetensors checkpoint of interseg, or damaged.
        ConfigError: an option is unknown or out of range.
    """
    path = resolve_checkpoint(name_or_path, models_dir)
    opts_device = resolve_device(device)
    net, meta = load_checkpoint(path, opts_device)
    return NetPredictor(net, meta.get("name", path.stem), resolve_options(meta, path, **options), opts_device)
