"""Losses: normalized focal loss (NFL), auxiliary BCE, force-points BCE at interaction locations."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.inputs import channel


def normalized_focal_loss(logits: torch.Tensor, gt: torch.Tensor, ignore: torch.Tensor, alpha: float = 0.5,
                          gamma: float = 2.0, eps: float = 1e-8) -> torch.Tensor:
    """Focal loss whose per-image focal weights are rescaled to sum to the number of valid pixels
    (the weights' normaliser is not differentiated), averaged over valid pixels, then over images."""
    p = torch.sigmoid(logits)
    gt = gt.float()
    valid = (~ignore).float()
    pt = torch.where(gt > 0.5, p, 1 - p)
    alpha_t = torch.where(gt > 0.5, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
    beta = (1 - pt) ** gamma
    dims = tuple(range(1, logits.ndim))
    n_valid = valid.sum(dims, keepdim=True)
    mult = (n_valid / ((beta * valid).sum(dims, keepdim=True) + eps)).detach()
    loss = -alpha_t * beta * mult * torch.log(pt.clamp_min(eps)) * valid
    return (loss.sum(dims) / (n_valid.squeeze() + eps).view(-1)).mean()


def masked_bce(logits: torch.Tensor, gt: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
    valid = (~ignore).float()
    loss = F.binary_cross_entropy_with_logits(logits, gt.float(), reduction="none") * valid
    return loss.sum() / valid.sum().clamp_min(1)


def force_points_loss(logits: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """BCE at pixels marked by clicks and strokes: 1 under positive ones, 0 under negative ones."""
    pp, sp = channel("point", True), channel("stroke", True)
    pn, sn = channel("point", False), channel("stroke", False)
    pos = torch.maximum(maps[:, pp:pp + 1], maps[:, sp:sp + 1]) > 0.5
    neg = torch.maximum(maps[:, pn:pn + 1], maps[:, sn:sn + 1]) > 0.5
    marked = pos | neg
    if not marked.any():
        return logits.sum() * 0
    target = pos.float()
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return loss[marked].mean()
