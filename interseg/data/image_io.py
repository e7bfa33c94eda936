"""Reading images and masks from disk with checks that name the file and the problem."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import DataError

#: Default pixel limit for one image (SAIC-IS images are up to ~40 MP; anything bigger is suspicious).
MAX_PIXELS = 80_000_000

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit, with a message naming the file


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as e:  # PIL raises many types for broken headers
        raise DataError(f"{path}: not a readable image ({e.__class__.__name__}: {e})") from None


def _check_size(path: str | Path, max_pixels: int | None) -> None:
    w, h = image_size(path)
    if max_pixels is not None and w * h > max_pixels:
        raise DataError(f"{path}: image is {w}x{h} = {w * h / 1e6:.1f} MP, above the limit of "
                        f"{max_pixels / 1e6:.1f} MP (raise --max-pixels to allow it)")


def _decode(path: Path, flags: int) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    arr = cv2.imdecode(data, flags) if data.size else None
    if arr is None:
        # OpenCV cannot decode some valid files (e.g. palette PNG variants); let PIL try.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path) as im:
                    im.load()
                    arr = np.asarray(im)
        except Exception as e:
            raise DataError(f"{path}: corrupt or unsupported image ({e.__class__.__name__}: {e})") from None
    return arr


def load_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """An RGB ``uint8`` array of shape (H, W, 3)."""
    path = Path(path)
    _check_size(path, max_pixels)
    arr = _decode(path, cv2.IMREAD_COLOR)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit image, got {arr.dtype}")
    # cv2.imdecode gives BGR; the PIL fallback already gives RGB only for paletted/gray, which we expand.
    return np.ascontiguousarray(arr[:, :, ::-1])


def load_label_map(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """A single-channel label/mask array exactly as stored (palette indices are kept as indices)."""
    path = Path(path)
    _check_size(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                im.load()
                arr = np.asarray(im)  # palette images keep their indices = instance ids (VOC, SAIC-IS)
    except Exception as e:
        raise DataError(f"{path}: corrupt or unsupported mask ({e.__class__.__name__}: {e})") from None
    if arr.ndim == 3:
        arr = arr[:, :, :3].max(axis=2) if arr.shape[2] >= 3 else arr[:, :, 0]
    return np.ascontiguousarray(arr)


def check_mask(path: str | Path, mask: np.ndarray, image: np.ndarray, what: str = "mask") -> None:
    """Raise :class:`DataError` if ``mask`` does not fit ``image`` or is empty."""
    if mask.shape[:2] != image.shape[:2]:
        raise DataError(f"{path}: {what} is {mask.shape[1]}x{mask.shape[0]} but its image is "
                        f"{image.shape[1]}x{image.shape[0]}")
    if not mask.any():
        raise DataError(f"{path}: {what} is empty (no object pixels)")
