"""Label Studio's brush masks: the run-length format of its ``brushlabels`` results.

A brush mask travels as the RGBA image of the mask, row by row, each pixel's four bytes equal
(0 or 255), packed with the ``rle-pack`` bit format that Label Studio's front end uses:

* a header: the number of words (32 bits), the word size minus one (5 bits), and four run-length
  field sizes minus one (4 bits each);
* then chunks: one bit (1 = a repeated run, 0 = literal words), two bits choosing one of the four
  field sizes, the run length minus one in that many bits, and then one word (repeated run) or
  that many words (literal run).

Bits are most significant first. Our encoder writes only repeated runs of 8-bit words (a mask has
long runs), which every decoder of the format reads; the decoder reads both kinds.
"""

from __future__ import annotations

import numpy as np

from ..errors import InteractionError

_SIZES = (4, 8, 12, 16)          # run-length field sizes our encoder uses
_MAX_RUN = 1 << _SIZES[-1]


def _fields_to_bytes(values: np.ndarray, widths: np.ndarray) -> list[int]:
    """Concatenate ``values[i]`` written in ``widths[i]`` bits (MSB first) and pad to whole bytes."""
    shifts = np.arange(31, -1, -1, dtype=np.int64)
    bits = (values[:, None].astype(np.int64) >> shifts[None, :]) & 1          # (n, 32), MSB first
    keep = shifts[None, :] < widths[:, None]                                   # the low `width` bits
    stream = bits[keep].astype(np.uint8)
    return np.packbits(stream).tolist()


def encode_mask(mask: np.ndarray) -> list[int]:
    """A (H, W) mask as Label Studio's brush RLE (a list of byte values)."""
    m = np.asarray(mask).astype(bool).ravel()
    n_words = m.size * 4
    change = np.flatnonzero(m[1:] != m[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [m.size]])) * 4                  # in words (RGBA bytes)
    values = np.where(m[starts], 255, 0)
    # split runs longer than the largest field into pieces
    reps = -(-lengths // _MAX_RUN)
    run_vals = np.repeat(values, reps)
    run_lens = np.full(int(reps.sum()), _MAX_RUN, np.int64)
    last = np.cumsum(reps) - 1
    run_lens[last] = lengths - (reps - 1) * _MAX_RUN
    cls = np.searchsorted(np.array([1 << s for s in _SIZES]), run_lens, side="left")
    sizes = np.array(_SIZES)[cls]
    n = len(run_lens)
    # per run: flag bit (1), class (2 bits), length - 1 (sizes[cls] bits), value (8 bits)
    vals = np.stack([np.ones(n, np.int64), cls, run_lens - 1, run_vals], 1).ravel()
    widths = np.stack([np.ones(n, np.int64), np.full(n, 2), sizes, np.full(n, 8)], 1).ravel()
    header_vals = np.array([n_words, 7, *(s - 1 for s in _SIZES)], np.int64)
    header_widths = np.array([32, 5, 4, 4, 4, 4], np.int64)
    return _fields_to_bytes(np.concatenate([header_vals, vals]), np.concatenate([header_widths, widths]))


class _Bits:
    def __init__(self, data: list[int] | bytes) -> None:
        try:
            raw = np.asarray(data, dtype=np.int64)
        except (TypeError, ValueError):
            raise InteractionError("brush rle must be a list of byte values") from None
        if raw.ndim != 1 or (raw.size and (raw.min() < 0 or raw.max() > 255)):
            raise InteractionError("brush rle must be a list of byte values (0-255)")
        self.bits = np.unpackbits(raw.astype(np.uint8))
        self.pos = 0

    def read(self, n: int) -> int:
        if self.pos + n > self.bits.size:
            raise InteractionError("brush rle is truncated")
        chunk = self.bits[self.pos:self.pos + n]
        self.pos += n
        return int(chunk.dot(1 << np.arange(n - 1, -1, -1, dtype=np.int64))) if n else 0

    def read_words(self, count: int, size: int) -> np.ndarray:
        if self.pos + count * size > self.bits.size:
            raise InteractionError("brush rle is truncated")
        chunk = self.bits[self.pos:self.pos + count * size].reshape(count, size).astype(np.int64)
        self.pos += count * size
        return chunk.dot(1 << np.arange(size - 1, -1, -1, dtype=np.int64))


def decode_mask(rle: list[int] | bytes, height: int, width: int) -> np.ndarray:
    """Label Studio's brush RLE → (H, W) bool mask (the alpha channel of the RGBA image).

    Raises:
        InteractionError: the data is not brush RLE, is truncated, or does not hold H x W pixels.
    """
    bits = _Bits(rle)
    num = bits.read(32)
    if num != height * width * 4:
        raise InteractionError(f"brush rle holds {num} values, not the {height}x{width}x4 of the image")
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    out = np.zeros(num, np.int64)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > num:
            raise InteractionError("brush rle runs past the image")
        if repeat:
            out[i:j] = bits.read(word)
        else:
            out[i:j] = bits.read_words(j - i, word)
        i = j
    return out.reshape(height, width, 4)[:, :, 3] > 0
