"""Exporting a network to ONNX (image + maps → logits) and checking it against PyTorch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .network import IntersegNet
from .reference import ReferenceNet


class _LogitsOnly(nn.Module):
    def __init__(self, net: IntersegNet | ReferenceNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        return self.net(image, maps)["instances"]


def export_onnx(net: IntersegNet | ReferenceNet, path: str | Path, size: tuple[int, int] = (448, 448),
                dynamic: bool = False) -> float:
    """Write ``path`` and return the largest absolute difference of its logits from PyTorch's on a
    random input with interaction maps, relative to the logits' scale (divided by the largest
    |logit| when that is above 1: an untrained network's logits can reach thousands, where float32
    rounding alone is larger than 1e-3).  ``dynamic``: batch, height and width are free (sides must
    still be multiples of 32)."""
    from ..extras import require_extra

    require_extra("onnx", "ONNX export")
    wrapper = _LogitsOnly(net.cpu().float()).eval()
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, *size, generator=g)
    maps = (torch.rand(1, 7, *size, generator=g) > 0.97).float()
    axes = {"image": {0: "batch", 2: "height", 3: "width"}, "maps": {0: "batch", 2: "height", 3: "width"},
            "logits": {0: "batch", 2: "height", 3: "width"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (image, maps), str(path), input_names=["image", "maps"], output_names=["logits"],
                          dynamo=False, opset_version=17, dynamic_axes=axes)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"image": image.numpy(), "maps": maps.numpy()})[0]
    with torch.no_grad():
        ref = wrapper(image, maps).numpy()
    return float(np.abs(out - ref).max() / max(1.0, float(np.abs(ref).max())))
