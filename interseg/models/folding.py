"""A network's forward pass without gradients, with batch norm folded into the convolution before it.

Training spends a third of its step in forward passes that need no gradient — the iterative
correction steps, and a distillation teacher's pass — and runs them on the training network in eval
mode: every batch norm there is a separate, memory-bound pass over a feature map, and under bfloat16
autocast every weight is cast anew on each call. :class:`FoldedForward` is a traced copy of the
network in which each ``BatchNorm2d`` that follows a ``Conv2d`` (whose output nothing else reads) is
folded into that convolution's weight and bias, with the weights held in the dtype the passes
compute in. :meth:`FoldedForward.sync` refreshes it from the live network after an optimizer step.
In float32 it gives the eval-mode network's outputs up to rounding.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import fx, nn

from .layers import DepthwiseConv2d

log = logging.getLogger(__name__)


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, DepthwiseConv2d) or super().is_leaf_module(m, qualname)


def _set_module(root: nn.Module, qualname: str, module: nn.Module) -> None:
    *parents, name = qualname.split(".")
    for p in parents:
        root = getattr(root, p)
    setattr(root, name, module)


def _plain_conv(conv: nn.Conv2d) -> nn.Conv2d:
    return nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,  # type: ignore[arg-type]
                     conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)


class FoldedForward:
    """Call it like the network (``folded(image, maps)``) inside ``torch.no_grad()``.

    ``dtype`` is what the weights are kept in: ``torch.bfloat16`` for passes under bfloat16 autocast
    (autocast then has nothing left to cast), ``torch.float32`` otherwise. A network that cannot be
    traced, or has no batch norm to fold, is run as it is, in eval mode (``folded`` is then 0).
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype = torch.float32) -> None:
        self.net = net
        self.pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d, nn.Conv2d]] = []
        self.copies: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.module: nn.Module | None = None
        twin = copy.deepcopy(net).eval()
        try:
            graph = _Tracer().trace(twin)
        except Exception as e:  # noqa: BLE001 - any untraceable construct: fall back to the network itself
            log.info("batch norm folding unavailable for %s (%s): eval-mode passes run the network as is",
                     type(net).__name__, e)
            return
        gm = fx.GraphModule(twin, graph)
        modules = dict(gm.named_modules())
        live = dict(net.named_modules())
        calls: dict[str, int] = {}
        for node in graph.nodes:
            if node.op == "call_module":
                calls[node.target] = calls.get(node.target, 0) + 1
        for node in list(graph.nodes):
            if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
                continue
            prev = node.args[0] if node.args else None
            if not (isinstance(prev, fx.Node) and prev.op == "call_module"
                    and isinstance(modules[prev.target], nn.Conv2d) and len(prev.users) == 1
                    and calls[prev.target] == 1 and calls[node.target] == 1
                    and modules[node.target].track_running_stats):
                continue
            fused = _plain_conv(modules[prev.target])
            _set_module(gm, prev.target, fused)
            node.replace_all_uses_with(prev)
            graph.erase_node(node)
            self.pairs.append((live[prev.target], live[node.target], fused))
        if not self.pairs:  # nothing to fold (Segformers: layer norms): no second copy of the weights
            return
        gm.graph.lint()
        gm.recompile()
        gm.delete_all_unused_submodules()
        gm.requires_grad_(False)
        gm.to(dtype=dtype, memory_format=torch.channels_last)  # (replaces buffers: collect them after)
        fused_names = {n for n, m in gm.named_modules() if any(m is f for *_, f in self.pairs)}
        src = dict(net.named_parameters()) | dict(net.named_buffers())
        for name, t in list(gm.named_parameters()) + list(gm.named_buffers()):
            owner = name.rsplit(".", 1)[0] if "." in name else ""
            if owner not in fused_names and name in src:
                self.copies.append((t, src[name]))
        self.module = gm
        self.sync()

    @property
    def folded(self) -> int:
        """How many batch norms were folded."""
        return len(self.pairs)

    @torch.no_grad()
    def sync(self) -> None:
        """Take the live network's current weights and running statistics."""
        if self.module is None:
            return
        if self.copies:
            torch._foreach_copy_([d for d, _ in self.copies], [s for _, s in self.copies])
        for conv, bn, fused in self.pairs:
            scale = torch.rsqrt(bn.running_var.float() + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight.float()
            bias = -bn.running_mean.float() * scale
            if conv.bias is not None:
                bias = bias + conv.bias.float() * scale
            if bn.bias is not None:
                bias = bias + bn.bias.float()
            fused.weight.copy_(conv.weight.float() * scale.view(-1, 1, 1, 1))
            fused.bias.copy_(bias)

    def __call__(self, *args, **kwargs):
        if self.module is None:
            was = self.net.training
            self.net.eval()
            try:
                return self.net(*args, **kwargs)
            finally:
                self.net.train(was)
        return self.module(*args, **kwargs)
