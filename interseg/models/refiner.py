"""The boundary refiner: a light head that corrects the decoder's logits at the input's resolution.

Every decoder of the table predicts at stride 4 and its logits are upsampled bilinearly, so a boundary
is placed to within about four input pixels — where NoI@95 is lost. The refiner reads the image, the
upsampled probability and the interaction maps, computes a few features at stride 2 (three 3x3
convolutions, the last dilated), upsamples them, and a last 3x3 convolution at full resolution, which
sees the image and the probability again, adds a correction to the logits. Its last convolution starts
at zero, so a network given a refiner predicts exactly what it did without one until the refiner is
trained (recipe ``MODEL.REFINER_WIDTH``, usually with ``TRAIN.FREEZE: network``: the refiner alone
learns). About 0.25 GFLOP on a 384x384 input at width 16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .inputs import N_MAPS


class BoundaryRefiner(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3 + 1 + N_MAPS, width, 3, 2, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, 1, 2, dilation=2), nn.ReLU(inplace=True))
        self.out = nn.Conv2d(width + 3 + 1, 1, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor, maps: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """``image``: normalised (B, 3, H, W); ``maps``: (B, 7, H, W); ``logits``: (B, 1, H, W), the
        decoder's, upsampled. Returns the corrected logits."""
        prob = torch.sigmoid(logits)
        f = self.down(torch.cat([image, prob, maps], 1))
        f = F.interpolate(f, size=image.shape[2:], mode="bilinear", align_corners=False)
        return logits + self.out(torch.cat([f, image, prob], 1))
