"""Loading a network predictor from a shipped model name or a checkpoint path."""

from __future__ import annotations

import argparse

from ..config import Config
from .grabcut import GrabCutPredictor
from .predictor import Predictor


def default_predictor(cfg: Config, args: argparse.Namespace) -> Predictor:
    """The default model; the GrabCut baseline while no trained model is shipped."""
    return GrabCutPredictor()


def load_predictor(spec: str, cfg: Config, args: argparse.Namespace) -> Predictor:
    from ..errors import CheckpointError

    raise CheckpointError(f"{spec}: network checkpoints are not supported yet")
