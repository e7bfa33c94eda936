"""The ``config.yml`` file: dataset locations, output folders, model and training defaults.

Loaded into typed, validated dataclasses (:class:`Config`).  Lookup order when no ``--config`` is
given: ``./config.yml``, then the packaged ``config.yml.default``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from .errors import ConfigError, DataError
from .schema import from_dict, load_yaml

DATASET_KEYS = {
    "GrabCut": "GRABCUT_PATH",
    "Berkeley": "BERKELEY_PATH",
    "DAVIS": "DAVIS_PATH",
    "COCO_MVal": "COCO_MVAL_PATH",
    "SBD": "SBD_PATH",
    "PascalVOC": "PASCALVOC_PATH",
    "SAIC_IS": "SAIC_IS_PATH",
    "COCO": "COCO_PATH",
    "LVIS": "LVIS_v1_PATH",
    "COCO_MVal_train": "COCO_MVAL_TRAIN_PATH",
    "ECSSD": "ECSSD_PATH",
    "DUTS": "DUTS_TR_PATH",
    "CCP": "CCP_PATH",
    "PascalVOC2007": "PASCALVOC2007_PATH",
}


@dataclass
class PretrainedModels:
    HRNETV2_W18: str = ""
    HRNETV2_W18_SMALL: str = ""
    HRNETV2_W32: str = ""
    HRNETV2_W48: str = ""
    MIT_B0: str = ""
    MIT_B1: str = ""
    MIT_B2: str = ""
    MIT_B3: str = ""
    MIT_B4: str = ""
    MIT_B5: str = ""


def check_train_sizes(batch_size: int | None, train_size: int | None) -> None:
    """The rules for MODEL.BATCH_SIZE and MODEL.TRAIN_SIZE (config.yml, recipes, command line)."""
    if batch_size is not None and batch_size < 1:
        raise ValueError("MODEL.BATCH_SIZE must be >= 1")
    if train_size is not None and (train_size < 32 or train_size % 32):
        raise ValueError("MODEL.TRAIN_SIZE must be a multiple of 32, at least 32")


@dataclass
class ModelSection:
    """The seed's training keys. Each one set here (not ``null``) overrides the training recipe's value
    for every run with this config; the command line's ``--set`` overrides both (see docs/training.md)."""

    WITH_FORCE_POINTS_LOSS: bool | None = None
    OPTIMIZER_TYPE: Literal["sgd", "adam", "adamw"] | None = None
    BATCH_SIZE: int | None = None
    TRAIN_SIZE: int | None = None
    INPUT_TYPE: Literal["multi", "point", "contour", "stroke"] | None = None
    ACCUMULATE_MULTI_INPUT: bool | None = None
    PRETRAINED_PATH: str | None = None
    CONTOUR_FILLED: bool | None = None

    def validate(self) -> None:
        check_train_sizes(self.BATCH_SIZE, self.TRAIN_SIZE)


@dataclass
class SegformerSection:
    """The seed's Segformer training keys (``null`` = the recipe's value)."""

    WITH_AUX_HEAD: bool | None = None
    LR_TYPE: Literal["linear", "cosine", "step"] | None = None


@dataclass
class Config:
    INTERACTIVE_MODELS_PATH: Path
    EXPS_PATH: Path
    GRABCUT_PATH: Path
    BERKELEY_PATH: Path
    DAVIS_PATH: Path
    COCO_MVAL_PATH: Path
    SBD_PATH: Path
    PASCALVOC_PATH: Path
    SAIC_IS_PATH: Path
    COCO_PATH: Path
    LVIS_v1_PATH: Path
    COCO_MVAL_TRAIN_PATH: Path
    ECSSD_PATH: Path
    DUTS_TR_PATH: Path = Path("datasets/DUTS-TR")
    CCP_PATH: Path = Path("datasets/CCP")
    PASCALVOC2007_PATH: Path = Path("datasets/VOCdevkit/VOC2007")
    #: training sets decoded once by ``interseg datasets prepare`` (data/prepared.py)
    PREPARED_PATH: Path = Path("datasets/prepared")
    IMAGENET_PRETRAINED_MODELS: PretrainedModels = field(default_factory=PretrainedModels)
    MODEL: ModelSection = field(default_factory=ModelSection)
    SEGFORMER: SegformerSection = field(default_factory=SegformerSection)
    source: Path | None = None

    def dataset_path(self, name: str) -> Path:
        key = DATASET_KEYS.get(name)
        if key is None:
            raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(DATASET_KEYS)}")
        return getattr(self, key)

    def existing_dataset_path(self, name: str) -> Path:
        """:meth:`dataset_path`, or a DataError saying how to point interseg at the dataset."""
        path = self.dataset_path(name)
        if not path.exists():
            key = DATASET_KEYS[name]
            m = re.fullmatch(r"\$\{(\w+):-[^}]*\}/(.+)", str(load_yaml(_packaged_default())[key]))
            var, folder = m.groups() if m else ("INTERSEG_DATA", path.name)
            raise DataError(f"{path}: {name} not found. Set {var} to the folder that holds the datasets (the "
                            f"default config reads {name} from ${var}/{folder}), or set {key} in a config.yml in "
                            f"the current folder or given with --config (this run's config: {self.source})")
        return path


def _packaged_default() -> Path:
    return Path(str(resources.files("interseg") / "resources" / "config.yml.default"))


def default_config_path() -> Path:
    local = Path("config.yml")
    if local.is_file():
        return local
    return _packaged_default()


def _merged(base: dict, over: dict) -> dict:
    """``over``'s keys over ``base``'s, section by section."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a config file; relative paths are resolved against its folder. A user's file
    needs only the keys it changes: the others keep the packaged default's values."""
    path = Path(path) if path is not None else default_config_path()
    data = load_yaml(path)
    if "source" in data:
        raise ConfigError(f"{path}: source: unknown key")
    packaged = Path(str(resources.files("interseg") / "resources")).resolve()
    default = packaged / "config.yml.default"
    if path.resolve() != default.resolve():
        data = _merged(load_yaml(default), data)
    cfg = from_dict(Config, data, f"{path}:")
    # The packaged default's relative paths mean "the current folder"; a user's file, its own folder.
    base = Path.cwd() if path.resolve().parent == packaged else path.absolute().parent
    for key in ["INTERACTIVE_MODELS_PATH", "EXPS_PATH", "PREPARED_PATH", *DATASET_KEYS.values()]:
        value: Path = getattr(cfg, key)
        if not value.is_absolute():
            setattr(cfg, key, base / value)
    cfg.source = path
    return cfg
