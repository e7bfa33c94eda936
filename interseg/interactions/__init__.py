"""Interactions (plain data), their rasterisation, and simulated users that produce them."""

from .types import Click, Contour, Interaction, MaskStroke, Stroke, interaction_from_dict, interaction_to_dict

__all__ = ["Click", "Contour", "Interaction", "MaskStroke", "Stroke", "interaction_from_dict",
           "interaction_to_dict"]
