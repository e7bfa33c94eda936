"""Predictors (networks, the GrabCut baseline) and the interactive session that drives them."""

from .session import Session, StepResult

__all__ = ["Session", "StepResult"]
