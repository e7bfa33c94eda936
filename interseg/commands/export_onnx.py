"""``interseg export-onnx --checkpoint NAME|PATH -o model.onnx [--size H W]``"""

from __future__ import annotations

import argparse

from ..config import load_config
from ..inference.loading import resolve_checkpoint
from ..models.checkpoint import load_checkpoint
from ..models.onnx_export import export_onnx

TOLERANCE = 1e-3


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    net, _ = load_checkpoint(resolve_checkpoint(args.checkpoint, cfg.INTERACTIVE_MODELS_PATH))
    size = tuple(args.size) if args.size else (net.arch.spec.input_size,) * 2
    diff = export_onnx(net, args.output, size)
    status = "OK" if diff <= TOLERANCE else "MISMATCH"
    print(f"wrote {args.output} ({net.arch.backbone}, input {size[0]}x{size[1]}); "
          f"max |logit difference| vs PyTorch (relative to max(1, max |logit|)) = {diff:.2e} ({status}, "
          f"tolerance {TOLERANCE})")
    return 0 if diff <= TOLERANCE else 1
