"""The heads of the SAIC-IS/RITM networks, layer for layer: HRNet's OCR head and Segformer's MLP head.

Module and parameter names are those of the reference's state dicts, so their weights load as they
are. Both differ from interseg's own heads (OCR: twice the mid width and a different fuse; Segformer:
linear projections concatenated from the deepest stage, an instance-normalised auxiliary head).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hrnet import HRNet
from ..segformer import MixTransformer


def _cbr(cin: int, cout: int) -> list[nn.Module]:
    """1x1 conv (no bias) + (BN, ReLU) nested as the reference nests them."""
    return [nn.Conv2d(cin, cout, 1, bias=False), nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True))]


class ObjectAttentionBlock(nn.Module):
    """Pixel-region attention: queries from the pixels, keys and values from the object regions."""

    def __init__(self, cin: int, key: int) -> None:
        super().__init__()
        self.key_channels = key
        self.f_pixel = nn.Sequential(*_cbr(cin, key), *_cbr(key, key))
        self.f_object = nn.Sequential(*_cbr(cin, key), *_cbr(key, key))
        self.f_down = nn.Sequential(*_cbr(cin, key))
        self.f_up = nn.Sequential(*_cbr(key, cin))

    def forward(self, x: torch.Tensor, proxy: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        query = self.f_pixel(x).flatten(2).permute(0, 2, 1)          # B, HW, key
        key = self.f_object(proxy).flatten(2)                        # B, key, K
        value = self.f_down(proxy).flatten(2).permute(0, 2, 1)       # B, K, key
        sim = F.softmax((self.key_channels ** -0.5) * torch.matmul(query, key), dim=-1)
        context = torch.matmul(sim, value).permute(0, 2, 1).reshape(b, self.key_channels, h, w)
        return self.f_up(context)


class SpatialOCR(nn.Module):
    def __init__(self, cin: int, key: int) -> None:
        super().__init__()
        self.object_context_block = ObjectAttentionBlock(cin, key)
        self.conv_bn_dropout = nn.Sequential(*_cbr(2 * cin, cin), nn.Dropout2d(0.05))

    def forward(self, feats: torch.Tensor, proxy: torch.Tensor) -> torch.Tensor:
        context = self.object_context_block(feats, proxy)
        return self.conv_bn_dropout(torch.cat([context, feats], 1))


class HRNetOCR(HRNet):
    """HRNetV2 (upsampling with aligned corners) + OCR head with ``ocr_width`` key channels and twice
    that many mid channels; returns (logits, auxiliary logits) at stride 4."""

    def __init__(self, variant: str, ocr_width: int) -> None:
        super().__init__(variant, align_corners=True)
        cin = self.out_channels
        mid = 2 * ocr_width
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(cin, mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.ocr_distri_head = SpatialOCR(mid, ocr_width)
        self.cls_head = nn.Conv2d(mid, 1, 1)
        self.aux_head = nn.Sequential(nn.Conv2d(cin, cin, 1), nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                                      nn.Conv2d(cin, 1, 1))

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        feats = super().forward(x, extra)
        aux = self.aux_head(feats)
        feats = self.conv3x3_ocr(feats)
        b, c = feats.shape[:2]
        probs = F.softmax(aux.flatten(2), dim=2)                                    # B, 1, HW
        context = torch.matmul(probs, feats.flatten(2).permute(0, 2, 1))            # B, 1, C
        context = context.permute(0, 2, 1).unsqueeze(3)                             # B, C, 1, 1
        return self.cls_head(self.ocr_distri_head(feats, context)), aux


class Linear(nn.Module):
    """Tokens of one stage → ``dim`` channels (the reference's ``MLP``)."""

    def __init__(self, cin: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cin, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        return self.proj(x.flatten(2).transpose(1, 2)).permute(0, 2, 1).reshape(b, -1, h, w)


class ConvBNReLU(nn.Module):
    """mmcv's ``ConvModule`` with a batch norm: ``conv`` (no bias) → ``bn`` → ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.conv(x)))


class SegFormerHead(nn.Module):
    def __init__(self, in_channels: list[int], dim: int, with_aux: bool) -> None:
        super().__init__()
        for i, c in enumerate(in_channels, 1):
            setattr(self, f"linear_c{i}", Linear(c, dim))
        self.linear_fuse = ConvBNReLU(4 * dim, dim)
        self.dropout = nn.Dropout2d(0.1)
        self.linear_pred = nn.Conv2d(dim, 1, 1)
        self.aux_head = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.InstanceNorm2d(dim), nn.ReLU(inplace=True),
                                      nn.Conv2d(dim, 1, 1)) if with_aux else None

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        size = feats[0].shape[2:]
        parts = []
        for i in (4, 3, 2, 1):
            y = getattr(self, f"linear_c{i}")(feats[i - 1])
            parts.append(F.interpolate(y, size=size, mode="bilinear", align_corners=False) if i > 1 else y)
        x = self.dropout(self.linear_fuse(torch.cat(parts, 1)))
        aux = self.aux_head(x) if self.aux_head is not None else None
        return self.linear_pred(x), aux


#: SAIC-IS's decoder width per MiT variant
DECODER_DIMS = {"mit_b0": 256, "mit_b1": 256, "mit_b2": 768, "mit_b3": 768, "mit_b4": 768, "mit_b5": 768}


class SegFormerNet(nn.Module):
    """MiT (layer-norm eps 1e-6) + the SAIC-IS Segformer head; ``extra``: stage-1 tokens as a map."""

    def __init__(self, variant: str, with_aux: bool) -> None:
        super().__init__()
        self.backbone = MixTransformer(variant.removeprefix("mit_"), eps=1e-6)
        self.decode_head = SegFormerHead(self.backbone.out_channels, DECODER_DIMS[variant], with_aux)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.decode_head(self.backbone(x, extra))
