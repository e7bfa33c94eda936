"""SAIC-IS's and RITM's interactive networks, numerically as the reference computes them.

The network takes what every interseg network takes — the normalised image and the (7, H, W) maps
``[prev, point+, point-, contour+, contour-, stroke+, stroke-]`` built with the architecture's
encoding (clicks as the reference's ``DistMaps``) — and picks the channels the reference model
reads, in its order: the previous mask first, then each of its input types' positive and negative
maps (RITM: clicks only). From there on it is the reference: the maps go through ``maps_transform``
(1x1 → 16, (leaky) ReLU, 3x3 → 64, learnable scale) and are added after HRNet's first stem conv, or
embedded as stage-1 tokens of the MiT; or, with ``use_rgb_conv``, mixed into the image by 1x1 convs.
Logits are upsampled to the input size with aligned corners.

:meth:`ReferenceNet.forward_reference` takes the reference's own inputs (image in [0, 1] with the
previous mask, click coordinates, contour and stroke maps) for the equivalence checks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...interactions.encoding import reference_point_map
from ..inputs import PREV_CHANNEL, channel
from ..segformer import OverlapPatchEmbed
from .arch import ReferenceArch
from .heads import HRNetOCR, SegFormerNet


class ScaleLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), 0.05))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.abs(self.scale)


class ClickFeaturesEmbed(nn.Module):
    """The Segformer's embedding of the transformed maps as stage-1 tokens (returned as a map)."""

    def __init__(self, cin: int, dim: int) -> None:
        super().__init__()
        self.patch_embed1 = OverlapPatchEmbed(cin, dim, 7, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, h, w = self.patch_embed1(x)
        return tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)


class ReferenceNet(nn.Module):
    def __init__(self, arch: ReferenceArch) -> None:
        super().__init__()
        arch.validate()
        self.arch = arch
        self.family = arch.family
        n = arch.n_coord_channels
        types = arch.input_types if arch.multi_input else arch.input_types[:1]
        picks = ([PREV_CHANNEL] if arch.with_prev_mask else []) + [
            channel(t, s) for t in types for s in (True, False)]
        self.picks = tuple(picks)
        act = nn.LeakyReLU(0.2) if arch.use_leaky_relu else nn.ReLU(inplace=True)
        self.rgb_conv: nn.Module | None = None
        self.maps_transform: nn.Module | None = None
        if arch.use_rgb_conv:
            self.rgb_conv = nn.Sequential(nn.Conv2d(3 + n, 6 + n, 1), nn.BatchNorm2d(6 + n), act,
                                          nn.Conv2d(6 + n, 3, 1))
        elif arch.conv_extend:
            self.maps_transform = nn.Conv2d(n, 64, 3, 2, 1)
        else:
            stride = 2 if arch.strided_maps_transform else 1
            self.maps_transform = nn.Sequential(nn.Conv2d(n, 16, 1), act, nn.Conv2d(16, 64, 3, stride, 1),
                                                ScaleLayer())
        if arch.family == "hrnet":
            self.feature_extractor: nn.Module = HRNetOCR(f"w{arch.backbone.removeprefix('hrnet')}", arch.ocr_width)
        else:
            self.feature_extractor = SegFormerNet(arch.backbone, arch.with_aux_output)
            if self.maps_transform is not None:
                self.click_features_embed = ClickFeaturesEmbed(64, self.feature_extractor.backbone.out_channels[0])
        self.register_buffer("mean", torch.tensor(arch.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(arch.std).view(1, 3, 1, 1), persistent=False)

    @property
    def backbone(self) -> nn.Module:
        """The part ImageNet weights load into, as :attr:`IntersegNet.backbone` (the reference's HRNet
        carries its OCR head beside the branches: those keys are simply not in an ImageNet file)."""
        fe = self.feature_extractor
        return fe if self.family == "hrnet" else fe.backbone

    def normalize(self, image01: torch.Tensor) -> torch.Tensor:
        return (image01 - self.mean) / self.std

    def _coord_features(self, maps: torch.Tensor) -> torch.Tensor:
        if self.picks == tuple(range(len(self.picks))):
            coord = maps[:, :len(self.picks)]
        else:
            coord = torch.cat([maps[:, i:i + 1] for i in self.picks], 1)
        if self.arch.with_prev_mask and self.arch.binary_prev_mask:
            coord = torch.cat([(coord[:, :1] > 0.5).to(coord.dtype), coord[:, 1:]], 1)
        return coord

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        """``image``: normalised (B, 3, H, W); ``maps``: (B, 7, H, W). Logits at input size."""
        coord = self._coord_features(maps)
        if self.rgb_conv is not None:
            logits, aux = self.feature_extractor(self.rgb_conv(torch.cat([image, coord], 1)))
        else:
            extra = self.maps_transform(coord)
            if self.family == "mit":
                extra = self.click_features_embed(extra)
            logits, aux = self.feature_extractor(image, extra)
        size = image.shape[2:]
        out = {"instances": F.interpolate(logits, size=size, mode="bilinear", align_corners=True)}
        if aux is not None and self.arch.with_aux_output:
            out["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=True)
        return out

    def forward_reference(self, image_and_prev: torch.Tensor, points: torch.Tensor | None = None,
                          contour_maps: torch.Tensor | None = None,
                          stroke_maps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The reference's call: ``image_and_prev`` (B, 3 [+1], H, W) in [0, 1]; ``points`` (B, 2N, 3) rows
        ``(y, x, order)``, the first N positive, ``-1`` rows padding; contour/stroke maps (B, 2, H, W)."""
        b, _, h, w = image_and_prev.shape
        maps = torch.zeros(b, 7, h, w, dtype=image_and_prev.dtype)
        if self.arch.with_prev_mask:
            maps[:, PREV_CHANNEL] = image_and_prev[:, 3]
        if points is not None:
            n = points.shape[1] // 2
            enc = self.arch.encoding
            for i in range(b):
                for k, positive in enumerate((True, False)):
                    rows = points[i, k * n:(k + 1) * n].numpy()
                    rows = rows[rows[:, :2].max(1) >= 0]
                    m = reference_point_map(rows[:, [1, 0]], (h, w), enc.click_radius,
                                            enc.point_maps == "reference_disk")
                    maps[i, channel("point", positive)] = torch.from_numpy(m).to(maps.dtype)
        for kind, m in (("contour", contour_maps), ("stroke", stroke_maps)):
            if m is not None:
                maps[:, channel(kind, True)] = m[:, 0]
                maps[:, channel(kind, False)] = m[:, 1]
        return self(self.normalize(image_and_prev[:, :3]), maps)
