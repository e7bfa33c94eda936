"""Loading a SAIC-IS or RITM ``.pth`` checkpoint as it is: safe unpickling, the architecture from the
file's config, the weights checked against it, and the reference's own predictor settings."""

from __future__ import annotations

from pathlib import Path

import torch

from ...errors import CheckpointError
from ..official_keys import to_interseg_keys
from .arch import ReferenceArch, parse_reference_config
from .network import ReferenceNet
from .unpickle import load_reference_pth

#: the predictor settings each reference evaluates its models with (overridable like any checkpoint's):
#: RITM's evaluation ("cvpr" mode): ZoomIn after the first click onto a 400-px crop, flip averaging;
#: SAIC-IS's README: the input stretched to 448 x 448 after limiting the longest side to 1000, ZoomIn
#: with the same defaults, flip averaging. Neither has a click guard or an edge refinement.
REFERENCE_INFERENCE = {
    "ritm": {"zoom_in": True, "zoom_in_skip_clicks": 1, "zoom_in_target_size": 400, "max_size": 0,
             "flip": True, "click_guard": False},
    "saic-is": {"fixed_size": [448, 448], "max_size": 1000, "zoom_in": True, "zoom_in_skip_clicks": 1,
                "zoom_in_target_size": 400, "flip": True, "click_guard": False},
}


def build_reference_net(arch: ReferenceArch, state: dict[str, torch.Tensor], source: str | Path) -> ReferenceNet:
    """The network of ``arch`` with ``state`` (official or interseg parameter names) loaded; any
    missing, unexpected or wrongly shaped tensor is an error naming ``source``."""
    net = ReferenceNet(arch)
    state = to_interseg_keys(state)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own
             if k in state and (not isinstance(state[k], torch.Tensor) or own[k].shape != state[k].shape)]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{source}: the weights do not match the model its config describes "
                              f"({arch.model_class.split('.')[-1]}, {arch.backbone}): missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}, wrong shape {wrong[:3]}")
    net.load_state_dict(state)
    return net.eval()


def load_reference_checkpoint(path: str | Path) -> tuple[ReferenceNet, dict]:
    """(network in eval mode, interseg metadata) of a reference ``.pth``.

    Raises:
        CheckpointError: unreadable or crafted file, unsupported architecture, weights that do not fit.
    """
    path = Path(path)
    obj = load_reference_pth(path)
    arch = parse_reference_config(obj.get("config"), str(path))
    return build_reference_net(arch, obj["state_dict"], path), reference_meta(path, arch)


def read_reference_metadata(path: str | Path) -> tuple[ReferenceArch, dict]:
    """(architecture, interseg metadata) of a reference ``.pth``, without building the network."""
    path = Path(path)
    arch = parse_reference_config(load_reference_pth(path).get("config"), str(path))
    return arch, reference_meta(path, arch)


def reference_meta(path: Path, arch: ReferenceArch) -> dict:
    """The metadata interseg keeps for a reference model: its name, source and predictor settings."""
    return {"name": path.stem, "imported_from": path.name,
            "source_project": {"saic-is": "SAIC-IS", "ritm": "RITM"}[arch.source],
            "inference": dict(REFERENCE_INFERENCE[arch.source])}
