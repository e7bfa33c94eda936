"""The architecture of a SAIC-IS or RITM checkpoint, read from the file's own ``config``.

The reference's ``save_checkpoint`` stores ``{'class': 'isegm.model.<module>.<Class>', 'params':
{name: {'type', 'value', 'specified'}}}``: the constructor's arguments, defaults included. This
module turns that into a typed :class:`ReferenceArch` and says clearly what it does not support.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ...errors import CheckpointError
from ...interactions.encoding import EncodingParams
from ..backbones import BackboneSpec, backbone_spec

#: the reference classes we rebuild: config class name → backbone family
SUPPORTED_CLASSES = {
    "isegm.model.is_hrnet_model.HRNetModel": "hrnet",
    "isegm.model.is_segformer_model.SegFormerModel": "mit",
}
MIT_NAMES = ("mit_b0", "mit_b1", "mit_b2", "mit_b3", "mit_b4", "mit_b5")
HRNET_WIDTHS = (18, 32, 48)

#: parameters that do not change the network's function (training-only or bookkeeping)
_IGNORED = {"backbone_lr_mult", "is_training", "cpu_dist_maps", "img_size"}
_KNOWN = {
    "hrnet": {"width", "ocr_width", "small", "norm_layer", "use_rgb_conv", "with_aux_output", "norm_radius",
              "use_disks", "with_prev_mask", "use_leaky_relu", "binary_prev_mask", "norm_mean_std",
              "is_strided_maps_transform", "input_type", "accumulate_multi_input", "clicks_groups", "conv_extend"},
    "mit": {"backbone_type", "norm_layer", "align_corners", "use_rgb_conv", "with_aux_output", "norm_radius",
            "use_disks", "with_prev_mask", "use_leaky_relu", "binary_prev_mask", "norm_mean_std",
            "is_strided_maps_transform", "input_type", "accumulate_multi_input"},
}


@dataclass
class ReferenceArch:
    """Everything needed to rebuild a reference network; stored in imported checkpoints.

    ``input_types`` are in the reference's channel order (its config's ``input_type``); ``multi_input``:
    the config held a list of types (SAIC-IS) rather than one type (RITM, single-type SAIC-IS).
    """

    source: str = "saic-is"                  # "saic-is" or "ritm"
    model_class: str = "isegm.model.is_hrnet_model.HRNetModel"
    backbone: str = "hrnet18"                # hrnet18, hrnet18s, hrnet32, hrnet48, mit_b0 … mit_b5
    ocr_width: int = 64
    use_rgb_conv: bool = False
    strided_maps_transform: bool = True
    conv_extend: bool = False
    use_leaky_relu: bool = True
    use_disks: bool = True
    norm_radius: float = 5.0
    with_prev_mask: bool = True
    binary_prev_mask: bool = False
    input_types: tuple[str, ...] = ("point",)
    multi_input: bool = False
    accumulate_multi_input: bool = False
    with_aux_output: bool = True
    align_corners: bool = False              # the Segformer head's (HRNet: always True)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @property
    def family(self) -> str:
        return "mit" if self.backbone.startswith("mit_") else "hrnet"

    @property
    def spec(self) -> BackboneSpec:
        return backbone_spec(self.backbone)

    @property
    def n_coord_channels(self) -> int:
        return (2 * len(self.input_types) if self.multi_input else 2) + int(self.with_prev_mask)

    @property
    def encoding(self) -> EncodingParams:
        """Clicks as the reference's ``DistMaps`` computes them; contours filled and strokes 10 px wide,
        as its predictor rasterises them."""
        return EncodingParams(click_radius=float(self.norm_radius), line_width=10, contour_filled=True,
                              point_maps="reference_disk" if self.use_disks else "reference_distance")

    def validate(self) -> None:
        if self.family == "hrnet":
            backbone_spec(self.backbone)
        elif self.backbone not in MIT_NAMES:
            raise ValueError(f"unknown MiT variant {self.backbone!r}")
        if not self.input_types or any(t not in ("point", "contour", "stroke") for t in self.input_types):
            raise ValueError(f"input types must be point/contour/stroke, got {self.input_types}")


def _value(params: dict, name: str, default: Any = None) -> Any:
    p = params.get(name)
    if p is None:
        return default
    return p.get("value", default) if isinstance(p, dict) else default


def _type_name(v: Any) -> str:
    if isinstance(v, enum.Enum):
        return str(v.value)
    if isinstance(v, str):
        return v.split(".")[-1]
    raise ValueError(f"not an interaction type: {v!r}")


def parse_reference_config(config: Any, source: str) -> ReferenceArch:
    """The :class:`ReferenceArch` of a reference checkpoint's ``config``.

    Raises:
        CheckpointError: an unknown class, an unsupported parameter value or a malformed config; the
            message names ``source`` and lists what is supported.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class"), str) \
            or not isinstance(config.get("params"), dict):
        raise CheckpointError(f"{source}: no reference model config (expected 'config' with 'class' and 'params')")
    cls = config["class"]
    family = SUPPORTED_CLASSES.get(cls)
    if family is None:
        raise CheckpointError(f"{source}: model class {cls!r} is not supported; supported: "
                              f"{', '.join(SUPPORTED_CLASSES)}")
    params = config["params"]
    unknown = sorted(set(params) - _KNOWN[family] - _IGNORED)
    if unknown:
        raise CheckpointError(f"{source}: unsupported parameter(s) {', '.join(unknown)} for {cls.split('.')[-1]}; "
                              f"supported: {', '.join(sorted(_KNOWN[family]))}")
    try:
        norm = _value(params, "norm_layer", "torch.nn.modules.batchnorm.BatchNorm2d")
        if not str(norm).endswith("BatchNorm2d"):
            raise ValueError(f"norm_layer {norm!r} (only BatchNorm2d)")
        if _value(params, "clicks_groups") is not None:
            raise ValueError("clicks_groups (RITM's click-order groups)")
        itype = _value(params, "input_type", "point")
        multi = isinstance(itype, list | tuple)
        types = tuple(_type_name(t) for t in itype) if multi else (_type_name(itype),)
        mean, std = _value(params, "norm_mean_std", ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
        if family == "hrnet":
            width = int(_value(params, "width", 48))
            small = bool(_value(params, "small", False))
            if width not in HRNET_WIDTHS or (small and width != 18):
                raise ValueError(f"HRNet width {width}{' small' if small else ''} (supported: 18, 18 small, 32, 48)")
            backbone = f"hrnet{width}{'s' if small else ''}"
            ocr = int(_value(params, "ocr_width", 256))
            if ocr <= 0:
                raise ValueError("ocr_width 0 (HRNet without OCR)")
        else:
            backbone = str(_value(params, "backbone_type", "mit_b1"))
            if backbone not in MIT_NAMES:
                raise ValueError(f"backbone_type {backbone!r} (supported: {', '.join(MIT_NAMES)})")
            ocr = 0
        arch = ReferenceArch(
            source="saic-is" if "input_type" in params else "ritm", model_class=cls, backbone=backbone,
            ocr_width=ocr, use_rgb_conv=bool(_value(params, "use_rgb_conv", True)),
            strided_maps_transform=True if "input_type" not in params else bool(
                _value(params, "is_strided_maps_transform", False)),
            conv_extend=bool(_value(params, "conv_extend", False)),
            use_leaky_relu=bool(_value(params, "use_leaky_relu", False)),
            use_disks=bool(_value(params, "use_disks", False)), norm_radius=float(_value(params, "norm_radius", 260)),
            with_prev_mask=bool(_value(params, "with_prev_mask", False)),
            binary_prev_mask=bool(_value(params, "binary_prev_mask", False)), input_types=types, multi_input=multi,
            accumulate_multi_input=bool(_value(params, "accumulate_multi_input", False)),
            with_aux_output=bool(_value(params, "with_aux_output", False)),
            align_corners=bool(_value(params, "align_corners", False)),
            mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std))
        arch.validate()
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: unsupported reference model: {e}") from None
    return arch
