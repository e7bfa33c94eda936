"""Segformer: the Mix Transformer (MiT-B0…B5) encoder and the all-MLP decoder (Xie et al., 2021).

Parameter names follow the official MiT release (``patch_embed1.proj``, ``block1.0.attn.q``,
``norm1`` …) so its ImageNet weights load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import DepthwiseConv2d

# embed dims, depths, heads, sr ratios, mlp ratio
MIT_VARIANTS = {
    "b0": ((32, 64, 160, 256), (2, 2, 2, 2)),
    "b1": ((64, 128, 320, 512), (2, 2, 2, 2)),
    "b2": ((64, 128, 320, 512), (3, 4, 6, 3)),
    "b3": ((64, 128, 320, 512), (3, 4, 18, 3)),
    "b4": ((64, 128, 320, 512), (3, 8, 27, 3)),
    "b5": ((64, 128, 320, 512), (3, 6, 40, 3)),
}
HEADS = (1, 2, 5, 8)
SR = (8, 4, 2, 1)


class OverlapPatchEmbed(nn.Module):
    def __init__(self, cin: int, dim: int, patch: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, patch, stride, patch // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        h, w = x.shape[2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        if self.sr_ratio > 1:
            x = self.norm(self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2))
        k, v = self.kv(x).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class MixFFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DepthwiseConv2d(hidden, 3)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = self.fc1(x)
        b, n, c = x.shape
        x = self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(x))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int, mlp_ratio: int = 4, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MixFFN(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.mlp(self.norm2(x), h, w)


class MixTransformer(nn.Module):
    """MiT encoder; ``extra`` (same shape as stage-1 tokens) is added after the first patch embedding.

    ``eps``: of the blocks' and stages' layer norms (the official MiT and SAIC-IS use 1e-6; the patch
    embeddings' and attention reductions' norms keep PyTorch's 1e-5 in both).
    """

    def __init__(self, variant: str = "b0", eps: float = 1e-5) -> None:
        super().__init__()
        dims, depths = MIT_VARIANTS[variant]
        self.out_channels = list(dims)
        cin = 3
        for i in range(4):
            embed = OverlapPatchEmbed(cin, dims[i], 7 if i == 0 else 3, 4 if i == 0 else 2)
            setattr(self, f"patch_embed{i + 1}", embed)
            blocks = nn.ModuleList(Block(dims[i], HEADS[i], SR[i], eps=eps) for _ in range(depths[i]))
            setattr(self, f"block{i + 1}", blocks)
            setattr(self, f"norm{i + 1}", nn.LayerNorm(dims[i], eps=eps))
            cin = dims[i]

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        feats = []
        b = x.shape[0]
        for i in range(4):
            x, h, w = getattr(self, f"patch_embed{i + 1}")(x)
            if i == 0 and extra is not None:
                x = x + extra.flatten(2).transpose(1, 2)
            for blk in getattr(self, f"block{i + 1}"):
                x = blk(x, h, w)
            x = getattr(self, f"norm{i + 1}")(x)
            x = x.transpose(1, 2).reshape(b, -1, h, w)
            feats.append(x)
        return feats


class MLPDecoder(nn.Module):
    """All-MLP head: project every stage to ``width``, upsample to stride 4, fuse, classify.

    ``forward`` computes the published formulation (``forward_concat``: project, upsample, concatenate
    4 x ``width`` channels at stride 4, 1x1 fuse) without the concatenation: the projection and the fuse
    are both 1x1 convolutions, so each stage's slice of the fuse is composed with its projection, and
    bilinear upsampling (a convex combination of neighbours) commutes with a per-pixel affine map. Each
    stage is mapped to ``width`` channels at its own resolution, upsampled and summed: the same function
    and gradients (up to float rounding), without the 4 x ``width``-channel tensor and its convolution
    at stride 4 (a quarter of the MiT-B0's inference time before). Parameter names are unchanged.
    """

    def __init__(self, in_channels: list[int], width: int = 256, out: int = 1) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.fuse = nn.Sequential(nn.Conv2d(width * len(in_channels), width, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.cls = nn.Conv2d(width, out, 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        size = feats[0].shape[2:]
        fuse = self.fuse[0].weight.flatten(1)  # (width, n_stages * width)
        width = fuse.shape[0]
        x = None
        for i, (p, f) in enumerate(zip(self.proj, feats, strict=True)):
            part = fuse[:, i * width:(i + 1) * width]
            y = F.conv2d(f, (part @ p.weight.flatten(1))[:, :, None, None], part @ p.bias)
            if i:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
            x = y if x is None else x + y
        return self.cls(self.fuse[2](self.fuse[1](x)))

    def forward_concat(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """The published formulation, the reference ``forward`` is tested and benchmarked against."""
        size = feats[0].shape[2:]
        ups = [F.interpolate(p(f), size=size, mode="bilinear", align_corners=False) if i else p(f)
               for i, (p, f) in enumerate(zip(self.proj, feats, strict=True))]
        return self.cls(self.fuse(torch.cat(ups, 1)))
