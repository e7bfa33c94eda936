"""Does bfloat16 pay on this CPU? A short measurement of a dense convolution in both precisions.

bfloat16 autocast (``TRAIN.PRECISION: bf16``, the predictor's ``precision: bf16``) is fast only where
oneDNN has fast bfloat16 kernels for the CPU: on the CPU the recipes were tuned on, dense convolutions
ran about 2x faster than in float32; on another that reports ``avx512_bf16`` but no AMX tiles, 1.6x
*slower* (docs/training.md, "Speed on CPUs"). The recipe's setting stays what it says — a run must
not change precision with the machine it resumes on — but the trainer and the predicting commands
measure the ratio once and warn when the setting costs time.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ..timing import median_ms


@functools.cache
def bf16_conv_speedup(repeats: int = 5) -> float:
    """float32 time / bfloat16 time of a 3x3 convolution shaped like a decoder's (batch 8, 96
    channels, 64x64, channels-last) on this CPU, forward pass, median of ``repeats``: above 1 means
    bfloat16 autocast is faster here. About half a second on two cores; measured once per process."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 96, 64, 64, generator=gen).contiguous(memory_format=torch.channels_last)
    w = torch.randn(96, 96, 3, 3, generator=gen) * 0.05
    with torch.no_grad():
        fp32 = median_ms(lambda: F.conv2d(x, w, padding=1), repeats, warmup=1)
        xb, wb = x.bfloat16(), w.bfloat16()
        bf16 = median_ms(lambda: F.conv2d(xb, wb, padding=1), repeats, warmup=1)
    return fp32 / bf16


def bf16_warning(setting: str) -> str | None:
    """A warning when bfloat16 is slower than float32 on this CPU, naming ``setting`` (how the user
    asked for bfloat16) and the measured ratio; None where it pays."""
    ratio = bf16_conv_speedup()
    if ratio >= 1.0:
        return None
    return (f"{setting}: bfloat16 convolutions are {1 / ratio:.1f}x slower than float32 on this CPU; float32 "
            f"would run faster here")
