"""Layers shared by the backbones."""

from __future__ import annotations

import torch
from torch import nn


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise convolution (``groups == channels``) that stays in float32 under CPU autocast.

    On CPUs, oneDNN's bfloat16 kernels for depthwise convolutions are slower than the float32 ones —
    their backward pass 3–15x (benchmarks/train_speed.py) — while dense convolutions gain about 2x
    from bfloat16; so when gradients are recorded, a bfloat16 run computes these in float32 (the
    forward pass alone is faster in bfloat16 and stays so). The parameters and the state-dict
    keys are those of ``nn.Conv2d``; without autocast, or on GPUs, it *is* an ``nn.Conv2d``.
    """

    def __init__(self, channels: int, kernel: int, stride: int = 1, bias: bool = True) -> None:
        super().__init__(channels, channels, kernel, stride, kernel // 2, groups=channels, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and torch.is_grad_enabled() and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)
