"""Optimizers (sgd, adam, adamw; backbone learning-rate multiplier) and LR schedules
(step: x0.1 at 85 % and 95 %; linear: poly 0.9 decay; cosine; both with linear warm-up)."""

from __future__ import annotations

import math

import torch
from torch import nn


def make_optimizer(net: nn.Module, kind: str, lr: float, weight_decay: float, backbone_mult: float):
    backbone = set(map(id, net.backbone.parameters())) if hasattr(net, "backbone") else set()
    groups = [{"params": [p for p in net.parameters() if id(p) in backbone], "lr": lr * backbone_mult},
              {"params": [p for p in net.parameters() if id(p) not in backbone], "lr": lr}]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def freeze(net: nn.Module, kind: str) -> int:
    """Freeze part of ``net`` for fine-tuning (recipe TRAIN.FREEZE): ``"bn"`` its batch-norm layers (eval
    mode, no gradient for their scale and shift), ``"backbone"`` also every backbone weight, ``"network"``
    every weight but the boundary refiner's. Call after every ``net.train()``; returns the number of
    frozen parameters."""
    if kind == "none":
        return 0
    frozen = 0
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            for p in m.parameters(recurse=False):
                p.requires_grad_(False)
                frozen += p.numel()
    if kind in ("backbone", "network"):
        keep = (p for n, p in net.named_parameters() if not n.startswith("refiner.")) if kind == "network" \
            else net.backbone.parameters()
        for p in keep:
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def lr_factor(kind: str, it: int, total: int, warmup: int) -> float:
    if warmup and it < warmup:
        return (it + 1) / warmup
    t = min(1.0, (it - warmup) / max(1, total - warmup))
    if kind == "step":
        return 1.0 if it < 0.85 * total else (0.1 if it < 0.95 * total else 0.01)
    if kind == "linear":
        return (1 - t) ** 0.9
    return 0.5 * (1 + math.cos(math.pi * t))


def make_scheduler(opt, kind: str, total: int, warmup: int):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda it: lr_factor(kind, it, total, warmup))
