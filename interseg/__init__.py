"""interseg: multi-input interactive image segmentation (clicks, contours, strokes)."""

__version__ = "0.1.0"
