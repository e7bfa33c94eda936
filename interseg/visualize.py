"""Drawing masks and interactions over images (evaluation, prediction, training and the demo)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .interactions.types import Click, Contour, Interaction, MaskStroke

PALETTE = np.array([
    [255, 80, 80], [80, 160, 255], [255, 200, 40], [160, 90, 255], [40, 210, 120], [255, 120, 200],
    [0, 200, 200], [200, 120, 40], [140, 200, 40], [120, 120, 255],
], np.uint8)

POSITIVE_RGB = (40, 220, 40)
NEGATIVE_RGB = (230, 40, 40)


def object_color(index: int) -> np.ndarray:
    return PALETTE[index % len(PALETTE)]


def blend_masks(image: np.ndarray, masks: Sequence[np.ndarray], alpha: float = 0.5,
                colors: Sequence[np.ndarray] | None = None, outline: bool = True,
                highlight: int | None = None) -> np.ndarray:
    """RGB image with each mask tinted in its colour and outlined black-white-colour, so that the edge
    shows on any background (a red object under a red tint included); mask ``highlight`` is outlined
    in thick yellow."""
    out = np.ascontiguousarray(image).astype(np.float32)
    for i, m in enumerate(masks):
        m = m.astype(bool)
        if not m.any():
            continue
        c = (colors[i] if colors is not None else object_color(i)).astype(np.float32)
        out[m] = out[m] * (1 - alpha) + c * alpha
    out = out.clip(0, 255).astype(np.uint8)
    if outline:
        for i, m in enumerate(masks):
            c = colors[i] if colors is not None else object_color(i)
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            if i == highlight:
                cv2.drawContours(out, contours, -1, (0, 0, 0), 5)
                cv2.drawContours(out, contours, -1, (255, 230, 0), 3)
                continue
            cv2.drawContours(out, contours, -1, (0, 0, 0), 3)
            cv2.drawContours(out, contours, -1, (255, 255, 255), 2)
            cv2.drawContours(out, contours, -1, tuple(int(v) for v in c), 1)
    return out


def draw_interactions(image: np.ndarray, interactions: Sequence[Interaction], radius: int = 5,
                      line_width: int = 2) -> np.ndarray:
    """Green (positive) / red (negative) dots, closed contours and open strokes."""
    out = np.ascontiguousarray(image.copy())
    for it in interactions:
        color = POSITIVE_RGB if it.positive else NEGATIVE_RGB
        pts = np.round(it.points).astype(np.int32)
        if isinstance(it, MaskStroke):
            out[it.render(out.shape[:2])] = color
        elif isinstance(it, Click):
            cv2.circle(out, (int(pts[0, 0]), int(pts[0, 1])), radius, color, -1, cv2.LINE_AA)
            cv2.circle(out, (int(pts[0, 0]), int(pts[0, 1])), radius, (255, 255, 255), 1, cv2.LINE_AA)
        else:
            cv2.polylines(out, [pts.reshape(-1, 1, 2)], isinstance(it, Contour), color, line_width, cv2.LINE_AA)
    return out


def overlay(image: np.ndarray, mask: np.ndarray, interactions: Sequence[Interaction] = (),
            gt: np.ndarray | None = None, alpha: float = 0.5) -> np.ndarray:
    """Prediction tinted over the image, the ground-truth outline in white, and the interactions."""
    out = blend_masks(image, [mask], alpha)
    if gt is not None:
        contours, _ = cv2.findContours(gt.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    return draw_interactions(out, interactions)


def save_rgb(path, image: np.ndarray) -> None:
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[:, :, ::-1])):
        raise OSError(f"{path}: could not write image")


def save_gray(path, image: np.ndarray) -> None:
    """A single-channel 8-bit image (a mask: 0/255, or probabilities × 255), lossless PNG."""
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image)):
        raise OSError(f"{path}: could not write image")
