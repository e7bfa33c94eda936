"""Dataset names → readers, with paths taken from the config; the bundled quick-start sample."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from .base import Dataset
from .readers.berkeley import BerkeleyDataset
from .readers.ccp import CcpDataset
from .readers.coco import CocoDataset, LvisDataset
from .readers.coco_mval import CocoMValDataset
from .readers.davis import DavisDataset
from .readers.duts import DutsDataset
from .readers.ecssd import EcssdDataset
from .readers.folder import FolderDataset
from .readers.grabcut import GrabCutDataset
from .readers.pascalvoc import PascalVOCDataset
from .readers.saic_is import SaicISDataset
from .readers.sbd import SBDDataset

SAMPLE_DIR = Path(str(resources.files("interseg") / "resources" / "sample"))


class SampleDataset(CocoMValDataset):
    """The 8 COCO MVal objects bundled with the package (see its ATTRIBUTION.md)."""

    name = "sample"

    def __init__(self, **kw) -> None:
        super().__init__(SAMPLE_DIR, **kw)


def _bundled_names() -> frozenset[str]:
    return frozenset(p.stem for p in (SAMPLE_DIR / "img").glob("*.jpg"))


#: Image names bundled as the quick-start sample; excluded from every training set.
BUNDLED_SAMPLE_NAMES = _bundled_names()

#: Evaluation readers (one sample per object).
EVAL_DATASETS: dict[str, type[Dataset]] = {
    "GrabCut": GrabCutDataset,
    "Berkeley": BerkeleyDataset,
    "DAVIS": DavisDataset,
    "COCO_MVal": CocoMValDataset,
    "SBD": SBDDataset,
    "PascalVOC": PascalVOCDataset,
    "SAIC_IS": SaicISDataset,
}

#: Training readers (several objects per sample where the format has them).
TRAIN_DATASETS: dict[str, type[Dataset]] = {
    "COCO_MVal_train": CocoMValDataset,
    "ECSSD": EcssdDataset,
    "COCO": CocoDataset,
    "LVIS": LvisDataset,
    "SBD": SBDDataset,
    "DUTS": DutsDataset,
    "CCP": CcpDataset,
    "PascalVOC2007": PascalVOCDataset,
}


def folder_dataset(spec: str, **kw) -> FolderDataset:
    """``folder:PATH`` or ``folder:PATH?images=DIR&masks=DIR&ignore=V`` (folders relative to PATH)."""
    from urllib.parse import parse_qs

    path, _, query = spec.split(":", 1)[1].partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(opts) - {"images", "masks", "ignore"}
    if unknown:
        raise ConfigError(f"{spec}: unknown folder option {', '.join(sorted(unknown))} (images, masks, ignore)")
    try:
        ignore = int(opts["ignore"]) if "ignore" in opts else None
    except ValueError:
        raise ConfigError(f"{spec}: ignore must be a mask value (0-255)") from None
    ds = FolderDataset(path, opts.get("images"), opts.get("masks"), ignore, **kw)
    ds.name = spec
    return ds


def build_eval_dataset(name: str, cfg: Config, **kw) -> Dataset:
    """An evaluation dataset by name: a benchmark, a training set's reader (one sample per object),
    ``sample``, or ``folder:PATH[?images=DIR&masks=DIR&ignore=V]``."""
    if name == "sample":
        return SampleDataset(**kw)
    if name.startswith("folder:"):
        return folder_dataset(name, **kw)
    cls = EVAL_DATASETS.get(name) or TRAIN_DATASETS.get(name)
    if cls is None:
        known = ", ".join([*EVAL_DATASETS, *(n for n in TRAIN_DATASETS if n not in EVAL_DATASETS), "sample",
                           "folder:PATH"])
        raise ConfigError(f"unknown evaluation dataset {name!r}; known: {known}")
    extra = {"per_instance": True} if cls in (SBDDataset, PascalVOCDataset, SaicISDataset) else {}
    if cls in (CocoDataset, LvisDataset):
        extra = {"per_instance": True, "split": "val"}
    if name == "PascalVOC2007":
        extra = {"per_instance": True, "split": "trainval"}
    ds = cls(cfg.existing_dataset_path(name), **extra, **kw)
    ds.name = name
    return ds


def build_train_dataset(name: str, cfg: Config, raw: bool = False, **kw) -> Dataset:
    """A training dataset by name; the bundled sample images and the near-duplicates of evaluation
    images (``resources/training_exclusions.txt``, from ``benchmarks/overlap_check.py``) are excluded.
    Read from its prepared copy (``PREPARED_PATH/<name>``, data/prepared.py) when there is one made
    from the configured folder, unless ``raw``."""
    from .overlap import excluded_names
    from .prepared import PreparedDataset, read_index

    cls = TRAIN_DATASETS.get(name)
    if cls is None:
        raise ConfigError(f"unknown training dataset {name!r}; known: {', '.join(TRAIN_DATASETS)}")
    exclude = BUNDLED_SAMPLE_NAMES | excluded_names(name)
    if not raw:
        index = read_index(cfg.PREPARED_PATH / name)
        if index is not None and index["source"] == str(cfg.dataset_path(name).resolve()):
            return PreparedDataset(cfg.PREPARED_PATH / name, exclude=exclude, **kw)
    extra = {"split": "train", "per_instance": False} if cls in (SBDDataset, CocoDataset, LvisDataset) else {}
    if name == "PascalVOC2007":
        extra = {"split": "trainval", "per_instance": False}
    elif cls is DutsDataset:
        extra = {"components": True}
    ds = cls(cfg.existing_dataset_path(name), exclude=exclude, **extra, **kw)
    ds.name = name
    return ds


def open_dataset(name: str, root: str | Path | None = None, **kw) -> Dataset:
    """A dataset reader by its format name and folder, without a config file (the Python API's way in).

    Args:
        name: a reader's name: one of :data:`EVAL_DATASETS` or :data:`TRAIN_DATASETS`, ``"folder"``
            (``images/`` + ``masks/``), or ``"sample"``: the 8 objects bundled with the package (no folder).
        root: the dataset's folder, in its native layout.

    Returns:
        The reader: ``len(ds)``, ``ds[i]`` → :class:`~interseg.data.sample.Sample`, ``ds.index_of(name)``.
    """
    if name == "sample":
        return SampleDataset(**kw)
    if root is None:
        raise ConfigError(f"open_dataset({name!r}) needs the dataset's folder")
    if name == "folder":
        return FolderDataset(root, **kw)
    cls = EVAL_DATASETS.get(name) or TRAIN_DATASETS.get(name)
    if cls is None:
        raise ConfigError(f"unknown dataset format {name!r}; known: "
                          f"{', '.join(sorted({*EVAL_DATASETS, *TRAIN_DATASETS, 'folder'}))}")
    ds = cls(root, **kw)
    ds.name = name
    return ds
