"""``interseg models create``"""

from __future__ import annotations

import argparse

import torch

from ..errors import ConfigError
from ..models.checkpoint import save_checkpoint
from ..models.network import ArchConfig, IntersegNet, load_imagenet_weights
from ..schema import from_dict


def run(args: argparse.Namespace) -> int:
    if args.models_command == "create":
        torch.manual_seed(args.seed)
        types = [t.strip() for t in args.input_types.split(",") if t.strip()]
        arch = from_dict(ArchConfig, {"backbone": args.backbone, "input_types": types}, "arguments:")
        net = IntersegNet(arch)
        meta = {"name": args.output.stem, "trained": False}
        if args.imagenet:
            report = load_imagenet_weights(net)
            meta["imagenet"] = True
            print(f"ImageNet weights: {len(report['missing'])} missing, {len(report['unexpected'])} unused keys")
        save_checkpoint(args.output, net, meta)
        print(f"wrote {args.output} ({arch.backbone}, inputs: {', '.join(arch.input_types)})")
        return 0
    raise ConfigError(f"unknown models command {args.models_command}")
