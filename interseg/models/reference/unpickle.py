"""Safe loading of the reference projects' pickled ``.pth`` checkpoints (SAIC-IS, RITM).

Their ``save_checkpoint`` writes ``{'state_dict': ..., 'config': {'class', 'params'}}`` with
``torch.save``. Unpickling normally can run any code the file names; here the file is read by
PyTorch's restricted (``weights_only``) unpickler, which rebuilds tensors and plain containers only,
plus exactly one extra name: SAIC-IS's interaction-type enum (``isegm.data.interaction_type.IType``),
which the SAIC-IS configs hold. It is replaced by a plain enum of ours with the same values, so
nothing from the reference project is imported and nothing in the file runs. Anything else the
file names is refused with a one-line :class:`CheckpointError` naming the file and the global.
"""

from __future__ import annotations

import enum
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError


class IType(enum.Enum):
    """Stand-in for SAIC-IS's ``IType`` (same member values; a plain enum, no behaviour)."""

    contour = "contour"
    point = "point"
    stroke = "stroke"


# the unpickler matches globals by "module.qualname": present ours under the reference's name
IType.__module__ = "isegm.data.interaction_type"

#: the names a reference checkpoint may use beyond PyTorch's own tensor-rebuild allow-list
EXTRA_GLOBALS = (IType,)

_GLOBAL = re.compile(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL|Unsupported class) ([\w.]+)", re.IGNORECASE)


def is_pickle_file(path: str | Path) -> bool:
    """Whether ``path`` starts like a PyTorch zip archive or a legacy pickle."""
    with Path(path).open("rb") as fh:
        head = fh.read(2)
    return head == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def load_reference_pth(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict (``state_dict`` and ``config``), read without running anything.

    Raises:
        CheckpointError: missing, truncated or corrupt file; a global outside the allow-list (the
            message names it); not a dict with a ``state_dict``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file")
    try:
        with torch.serialization.safe_globals(list(EXTRA_GLOBALS)), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the error says what matters
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m, op = _GLOBAL.search(str(e)), re.search(r"Unsupported operand (\d+)", str(e))
        what = f"the global {m.group(1)!r}" if m else f"pickle opcode {op.group(1)}" if op else "a construct"
        raise CheckpointError(f"{path}: refused: the pickle names {what}, which a weights checkpoint does not "
                              f"need (loading it could run code); nothing in the file was run") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt PyTorch file ({e.__class__.__name__})") from None
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise CheckpointError(f"{path}: truncated or corrupt PyTorch file ({first})") from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({e.__class__.__name__}: {e})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        kind = type(obj).__name__ if not isinstance(obj, dict) else f"dict with keys {sorted(map(str, obj))[:5]}"
        raise CheckpointError(f"{path}: not a SAIC-IS/RITM checkpoint (expected a dict with 'state_dict' and "
                              f"'config', found a {kind})")
    return obj
