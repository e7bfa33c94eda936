"""The self-describing checkpoint: a safetensors file of weights whose metadata carries the
architecture (:class:`ArchConfig`) and training metadata, so loading needs only the path.

safetensors holds tensors and strings only, so loading can never execute code. Pickled ``.pth``
files are accepted only as SAIC-IS/RITM checkpoints, read with an allow-list that runs nothing
(``models/reference``); ``interseg models import`` converts them once into this format (their
architecture as a :class:`ReferenceArch`, metadata ``network: reference``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..atomic import write_atomically
from ..errors import CheckpointError, ConfigError
from ..schema import from_dict, to_dict
from .network import ArchConfig, IntersegNet
from .reference import (
    ReferenceArch,
    ReferenceNet,
    build_reference_net,
    is_pickle_file,
    load_reference_checkpoint,
    read_reference_metadata,
)

#: what a checkpoint's architecture can be: interseg's own, or a reference network's
NetArch = ArchConfig | ReferenceArch
Net = IntersegNet | ReferenceNet

FORMAT = "interseg-checkpoint"
VERSION = "1"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_checkpoint(path: str | Path, net: Net, meta: dict | None = None) -> Path:
    """Write weights + architecture + ``meta`` (JSON-serialisable) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    metadata = {"format": FORMAT, "version": VERSION, "arch": json.dumps(to_dict(net.arch)),
                "meta": json.dumps(meta or {})}
    if isinstance(net.arch, ReferenceArch):
        metadata["network"] = "reference"

    def write(tmp: Path) -> None:
        save_file(state, str(tmp), metadata=metadata)
        os.chmod(tmp, 0o666 & ~_umask())   # safetensors writes 0600; a checkpoint is as readable as other files

    return write_atomically(path, write)


def update_metadata(path: str | Path, changes: dict) -> bool:
    """Rewrite a checkpoint with ``changes`` merged into its metadata (weights unchanged); return
    whether it was rewritten. A file whose metadata already holds ``changes`` is left as it is:
    safetensors may order the header differently on each write, which would change a shipped
    file's bytes for nothing."""
    _, meta = read_metadata(path)
    merged = {**meta, **changes}
    if merged == meta:
        return False
    net, _ = load_checkpoint(path)
    save_checkpoint(path, net, merged)
    return True


def read_metadata(path: str | Path) -> tuple[NetArch, dict]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if is_pickle_file(path):
        return read_reference_metadata(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        with path.open("rb") as fh:
            head = fh.read(4)
        if head[:1] == b"\x08" or path.suffix == ".onnx":  # an ONNX protobuf opens with its IR version
            raise CheckpointError(f"{path}: is an ONNX model, not a checkpoint; give the checkpoint it was exported "
                                  f"from, with --backend onnx to run it on ONNX Runtime") from None
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint (truncated or corrupt: {e})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a safetensors file without interseg metadata (foreign weights?)")
    if metadata.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {metadata.get('version')} is not supported")
    try:
        cls = ReferenceArch if metadata.get("network") == "reference" else ArchConfig
        arch = from_dict(cls, json.loads(metadata["arch"]), f"{path}: arch")
        meta = json.loads(metadata.get("meta", "{}"))
    except (json.JSONDecodeError, KeyError) as e:
        raise CheckpointError(f"{path}: damaged metadata ({e})") from None
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    return arch, meta


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[Net, dict]:
    """(network in eval mode, metadata); any mismatch between weights and architecture is an error.
    A SAIC-IS/RITM ``.pth`` gives its :class:`ReferenceNet`."""
    if Path(path).is_file() and is_pickle_file(path):
        ref, meta = load_reference_checkpoint(path)
        return ref.to(device).eval(), meta
    arch, meta = read_metadata(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read weights ({e})") from None
    if isinstance(arch, ReferenceArch):
        return build_reference_net(arch, state, path).to(device).eval(), meta
    net = IntersegNet(arch)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{path}: weights do not match the {arch.backbone} architecture "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]}, wrong shape {wrong[:3]})")
    net.load_state_dict(state)
    return net.to(device).eval(), meta


def torch_device(cpu: bool = False) -> str:
    return "cuda" if torch.cuda.is_available() and not cpu else "cpu"
