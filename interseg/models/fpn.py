"""The light FPN decoder of the EfficientNet-Lite networks: stride 4-32 features → logits at stride 4."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FPNDecoder(nn.Module):
    """Lateral 1x1 convolutions, top-down upsampling and sums, two 3x3 conv-BN-ReLU, a 1x1 classifier."""

    def __init__(self, in_channels: list[int], width: int = 128) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.smooth = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                    nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                    nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.cls = nn.Conv2d(width, 1, 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1]), strict=True):
            x = lat(f) + F.interpolate(x, size=f.shape[2:], mode="bilinear", align_corners=False)
        return self.cls(self.smooth(x))
