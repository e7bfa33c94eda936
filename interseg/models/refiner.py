"""The boundary refiner: a light head that corrects the decoder's logits at the input's resolution.

Every decoder of the table predicts at stride 4 and its logits are upsampled bilinearly, so a boundary
is placed to within about four input pixels — where NoI@95 is lost. The refiner reads the image, the
upsampled probability and the interaction maps, computes a few features at stride 2 (three 3x3
convolutions, the last dilated), upsamples them, and a last 3x3 convolution at full resolution, which
sees the image and the probability again, adds a correction to the logits (``stride`` 2: that last
convolution runs at stride 2 too, on the image and probability resized there, and its one-channel
correction is upsampled — about a quarter of the cost, boundaries at stride 2). ``maps`` "clicks": it reads
the previous mask and the click maps only, not the contours' and strokes'. Its last convolution starts
at zero, so a network given a refiner predicts exactly what it did without one until the refiner is
trained (recipe ``MODEL.REFINER_WIDTH``, usually with ``TRAIN.FREEZE: network``: the refiner alone
learns). About 0.25 GFLOP on a 384x384 input at width 16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .inputs import N_MAPS, channel

#: the maps a refiner reads: every one, or the previous mask and the clicks' (the first channels, inputs.py)
REFINER_MAPS = {"all": N_MAPS, "clicks": channel("point", False) + 1}
#: where its last convolution runs: at the input's resolution, or at stride 2 with the correction upsampled
REFINER_STRIDES = (1, 2)


def check_refiner(stride: int, maps: str) -> None:
    """The refiner's settings as ArchConfig and the module accept them (ValueError naming the field)."""
    if stride not in REFINER_STRIDES:
        raise ValueError(f"refiner_stride must be {' or '.join(map(str, REFINER_STRIDES))}, got {stride}")
    if maps not in REFINER_MAPS:
        raise ValueError(f"refiner_maps must be one of {', '.join(REFINER_MAPS)}, got {maps!r}")


class BoundaryRefiner(nn.Module):
    def __init__(self, width: int = 16, stride: int = 1, maps: str = "all") -> None:
        super().__init__()
        check_refiner(stride, maps)
        self.stride = stride
        self.n_maps = REFINER_MAPS[maps]
        self.down = nn.Sequential(nn.Conv2d(3 + 1 + self.n_maps, width, 3, 2, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, 1, 2, dilation=2), nn.ReLU(inplace=True))
        self.out = nn.Conv2d(width + 3 + 1, 1, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor, maps: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """``image``: normalised (B, 3, H, W); ``maps``: (B, 7, H, W); ``logits``: (B, 1, H, W), the
        decoder's, upsampled. Returns the corrected logits."""
        prob = torch.sigmoid(logits)
        f = self.down(torch.cat([image, prob, maps[:, :self.n_maps]], 1))
        if self.stride == 1:
            f = F.interpolate(f, size=image.shape[2:], mode="bilinear", align_corners=False)
            return logits + self.out(torch.cat([f, image, prob], 1))
        small = f.shape[2:]
        image2 = F.interpolate(image, size=small, mode="bilinear", align_corners=False)
        prob2 = F.interpolate(prob, size=small, mode="bilinear", align_corners=False)
        correction = self.out(torch.cat([f, image2, prob2], 1))
        return logits + F.interpolate(correction, size=image.shape[2:], mode="bilinear", align_corners=False)
