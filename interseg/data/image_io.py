"""Reading images and masks from disk with checks that name the file and the problem."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import DataError

#: Default pixel limit for one image (SAIC-IS images are up to ~40 MP; anything bigger is suspicious).
MAX_PIXELS = 80_000_000

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit, with a message naming the file


def image_size(path: str | Path | io.BytesIO, source: str | Path | None = None) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels."""
    source = source or path
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DataError(f"{source}: file not found") from None
    except Exception as e:  # PIL raises many types for broken headers
        detail = "unknown or damaged format" if isinstance(path, io.BytesIO) else f"{e.__class__.__name__}: {e}"
        raise DataError(f"{source}: not a readable image ({detail})") from None


def _check_size(path: str | Path | io.BytesIO, max_pixels: int | None, source: str | Path | None = None) -> None:
    w, h = image_size(path, source)
    if max_pixels is not None and w * h > max_pixels:
        raise DataError(f"{source or path}: image is {w}x{h} = {w * h / 1e6:.1f} MP, above the limit of "
                        f"{max_pixels / 1e6:.1f} MP (raise --max-pixels to allow it)")


def _decode_bytes(data: np.ndarray, source: str | Path, flags: int) -> np.ndarray:
    head = data[:2].tobytes()
    if head == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:].tobytes():
        # OpenCV decodes a cut-off JPEG without complaint (grey below the cut): refuse it instead
        raise DataError(f"{source}: truncated JPEG (no end-of-image marker; incomplete download or copy?)")
    arr = cv2.imdecode(data, flags) if data.size else None
    if arr is None:
        # OpenCV cannot decode some valid files (e.g. palette PNG variants); let PIL try.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(data.tobytes())) as im:
                    im.load()
                    arr = np.asarray(im)
        except Exception as e:
            raise DataError(f"{source}: corrupt or unsupported image ({e.__class__.__name__}: {e})") from None
    return arr


def _decode(path: Path, flags: int) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    return _decode_bytes(data, path, flags)


def load_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """An RGB ``uint8`` array of shape (H, W, 3).

    Raises:
        DataError: missing, unreadable, corrupt or truncated file, or more than ``max_pixels`` pixels.
    """
    path = Path(path)
    _check_size(path, max_pixels)
    return _to_rgb(_decode(path, cv2.IMREAD_COLOR), path)


def load_image_bytes(data: bytes, source: str, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """:func:`load_image` for an encoded image in memory (an upload, a download); ``source`` names it
    in error messages."""
    _check_size(io.BytesIO(data), max_pixels, source)
    return _to_rgb(_decode_bytes(np.frombuffer(data, np.uint8), source, cv2.IMREAD_COLOR), source)


def _to_rgb(arr: np.ndarray, path: str | Path) -> np.ndarray:
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
