"""HRNetV2 (W18, W18-small, W32, W48) with an OCR head (Wang et al. 2020; Yuan et al. 2020).

Parameter names follow the official HRNet-Image-Classification release (``conv1``, ``layer1``,
``transition1``, ``stage2`` …) so ImageNet weights load by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BN_MOMENTUM = 0.1


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, c: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = _bn(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = _bn(c)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + res)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, c: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 1, bias=False)
        self.bn1 = _bn(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.bn2 = _bn(c)
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = _bn(c * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + res)


def _make_layer(block, cin: int, c: int, blocks: int, stride: int = 1) -> nn.Sequential:
    down = None
    if stride != 1 or cin != c * block.expansion:
        down = nn.Sequential(nn.Conv2d(cin, c * block.expansion, 1, stride, bias=False), _bn(c * block.expansion))
    layers = [block(cin, c, stride, down)]
    layers += [block(c * block.expansion, c) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    def __init__(self, channels: list[int], blocks: int, align_corners: bool = False) -> None:
        super().__init__()
        n = len(channels)
        self.align_corners = align_corners
        self.branches = nn.ModuleList(_make_layer(BasicBlock, c, c, blocks) for c in channels)
        fuse = []
        for i in range(n):
            row = []
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False), _bn(channels[i])))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    convs = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = channels[i] if last else channels[j]
                        convs.append(nn.Sequential(nn.Conv2d(channels[j], cout, 3, 2, 1, bias=False), _bn(cout),
                                                   *([] if last else [nn.ReLU(inplace=True)])))
                    row.append(nn.Sequential(*convs))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [b(x) for b, x in zip(self.branches, xs, strict=True)]
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = 0
            for j, layer in enumerate(row):
                z = layer(xs[j])
                if j > i:
                    z = F.interpolate(z, size=xs[i].shape[2:], mode="bilinear", align_corners=self.align_corners)
                y = y + z
            out.append(self.relu(y))
        return out


# width → (layer1 blocks, blocks per branch, modules of stages 2, 3, 4)
HRNET_VARIANTS = {
    "w18": (18, 4, 4, (1, 4, 3)),
    "w18s": (18, 2, 2, (1, 3, 2)),
    "w32": (32, 4, 4, (1, 4, 3)),
    "w48": (48, 4, 4, (1, 4, 3)),
}


class HRNet(nn.Module):
    """HRNetV2 backbone: returns the concatenation of all branches at stride 4 (15 x width channels).

    ``align_corners``: how the lower branches are upsampled (the SAIC-IS/RITM networks use ``True``).
    """

    def __init__(self, variant: str = "w18", align_corners: bool = False) -> None:
        super().__init__()
        self.align_corners = align_corners
        w, l1_blocks, blocks, modules = HRNET_VARIANTS[variant]
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = _bn(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = _bn(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_layer(Bottleneck, 64, 64, l1_blocks)
        prev = [256]
        for s, nmod in zip((2, 3, 4), modules, strict=True):
            chans = [w * 2**i for i in range(s)]
            trans = []
            for i, c in enumerate(chans):
                if i < len(prev):
                    trans.append(nn.Identity() if prev[i] == c else nn.Sequential(
                        nn.Conv2d(prev[i], c, 3, 1, 1, bias=False), _bn(c), nn.ReLU(inplace=True)))
                else:
                    trans.append(nn.Sequential(nn.Conv2d(prev[-1], c, 3, 2, 1, bias=False), _bn(c),
                                               nn.ReLU(inplace=True)))
            setattr(self, f"transition{s - 1}", nn.ModuleList(trans))
            setattr(self, f"stage{s}", nn.Sequential(*[HighResolutionModule(chans, blocks, align_corners)
                                                               for _ in range(nmod)]))
            prev = chans
        self.out_channels = sum(prev)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if extra is not None:
            x = x + extra
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for s in (2, 3, 4):
            trans = getattr(self, f"transition{s - 1}")
            xs = [t(xs[i] if i < len(xs) else xs[-1]) for i, t in enumerate(trans)]
            xs = getattr(self, f"stage{s}")(xs)
        size = xs[0].shape[2:]
        return torch.cat([xs[0]] + [F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)
                                    for x in xs[1:]], 1)


class OCRHead(nn.Module):
    """Object-contextual representations: soft object regions (aux output) → region context →
    pixel-region attention → refined logits."""

    def __init__(self, cin: int, mid: int = 64, out: int = 1) -> None:
        super().__init__()
        key = max(mid // 2, 8)
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(cin, mid, 3, 1, 1), _bn(mid), nn.ReLU(inplace=True))
        self.aux_head = nn.Sequential(nn.Conv2d(cin, cin, 1), _bn(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, out, 1))

        def cbr(a: int, b: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(a, b, 1, bias=False), _bn(b), nn.ReLU(inplace=True))

        self.f_pixel = nn.Sequential(cbr(mid, key), cbr(key, key))
        self.f_object = nn.Sequential(cbr(mid, key), cbr(key, key))
        self.f_down = cbr(mid, key)
        self.f_up = cbr(key, mid)
        self.fuse = cbr(2 * mid, mid)
        self.cls_head = nn.Conv2d(mid, out, 1)
        self.key = key

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        aux = self.aux_head(feats)
        x = self.conv3x3_ocr(feats)
        b, c, h, w = x.shape
        probs = aux.flatten(2).softmax(-1)                                   # B, K, HW
        context = torch.bmm(probs, x.flatten(2).transpose(1, 2))             # B, K, C
        context = context.transpose(1, 2).unsqueeze(-1)                      # B, C, K, 1
        q = self.f_pixel(x).flatten(2).transpose(1, 2)                       # B, HW, key
        k = self.f_object(context).flatten(2)                                # B, key, K
        v = self.f_down(context).flatten(2).transpose(1, 2)                  # B, K, key
        sim = (torch.bmm(q, k) * self.key**-0.5).softmax(-1)                 # B, HW, K
        ctx = torch.bmm(sim, v).transpose(1, 2).reshape(b, self.key, h, w)
        x = self.fuse(torch.cat([self.f_up(ctx), x], 1))
        return self.cls_head(x), aux
