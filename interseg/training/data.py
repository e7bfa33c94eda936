"""The training stream: weighted datasets → one object per sample → augmentation → the first
interaction of a randomly drawn type.  Deterministic per (seed, rank, epoch, index), so a resumed or
re-run epoch sees the same samples whatever the number of loader workers."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import torch

from ..data.base import Dataset
from ..errors import DataError
from ..interactions.human import HumanStrokeUser
from ..interactions.types import INTERACTION_TYPES, Click, interaction_to_dict
from ..interactions.users import SimulatedUser
from .augment import color_jitter, copy_paste, duplicate_distractor, fit_and_crop, flip
from .recipe import RecipeTrain


def split_indices(ds: Dataset, fraction: float, part: str) -> list[int]:
    """A fixed train/val partition by hashing each sample's name."""
    out = []
    for i in range(len(ds)):
        is_val = (zlib.crc32(ds.sample_name(i).encode()) % 10_000) < fraction * 10_000
        if (part == "val") == is_val:
            out.append(i)
    return out


class TrainStream(torch.utils.data.Dataset):
    def __init__(self, datasets: Sequence[Dataset], weights: Sequence[float], train: RecipeTrain, size: int,
                 input_types: Sequence[str], rank: int = 0) -> None:
        self.datasets = list(datasets)
        self.indices = [split_indices(d, train.VAL_FRACTION, "train") for d in self.datasets]
        w = np.array(weights, np.float64)
        self.weights = w / w.sum()
        self.train = train
        self.size = size
        self.rank = rank
        self.epoch = 0
        types = [t for t in INTERACTION_TYPES if t in input_types]
        probs = np.array([p for t, p in zip(INTERACTION_TYPES, train.TYPE_PROBS, strict=True) if t in input_types])
        self.types = types
        self.type_probs = probs / probs.sum()

    def __len__(self) -> int:
        return self.train.EPOCH_LEN

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _load(self, rng: np.random.Generator):
        for _ in range(20):
            d = int(rng.choice(len(self.datasets), p=self.weights))
            idx = self.indices[d][int(rng.integers(len(self.indices[d])))]
            try:
                return d, self.datasets[d][idx]
            except DataError:
                continue  # unreadable training image: take another
        raise DataError("20 unreadable training samples in a row; check the training datasets")

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.train.SEED, self.rank, self.epoch, index])
        source, s = self._load(rng)
        k = int(rng.integers(len(s.masks)))
        gt = s.masks[k].copy()
        if len(s.masks) > 1 and rng.random() < self.train.MERGE_OBJECTS_PROB:
            gt |= s.masks[(k + 1 + int(rng.integers(len(s.masks) - 1))) % len(s.masks)]
        image, ignore = s.image, s.ignore.copy()
        image, gt, ignore = fit_and_crop(image, gt, ignore, self.size, rng, self.train.SCALE_RANGE)
        if rng.random() < self.train.COPY_PASTE_PROB:
            donor = self._load(rng)[1]
            image, gt, ignore = copy_paste(image, gt, ignore, donor.image, donor.masks[0], rng,
                                           as_target=bool(rng.random() < 0.5))
        if self.train.DUPLICATE_PROB and gt.any() and rng.random() < self.train.DUPLICATE_PROB:
            image, gt, ignore = duplicate_distractor(image, gt, ignore, rng)
        image, gt, ignore = flip(image, gt, ignore, rng)
        image = color_jitter(image, rng)
        kind = str(rng.choice(self.types, p=self.type_probs))
        human = self.train.HUMAN_LIKE_PROB > 0 and rng.random() < self.train.HUMAN_LIKE_PROB
        user = SimulatedUser(int(rng.integers(2**31)), "saic", "human-like" if human else "reference")
        short = self.train.SHORT_STROKE_PROB > 0 and kind == "stroke" and rng.random() < self.train.SHORT_STROKE_PROB
        anywhere = (self.train.FIRST_CLICK_ANYWHERE_PROB > 0 and kind == "point"
                    and rng.random() < self.train.FIRST_CLICK_ANYWHERE_PROB)
        if short and gt.any():
            first = HumanStrokeUser(int(rng.integers(2**31)), marks=(1, 1), length=(0.1, 0.2))
            its = [first.next_stroke(gt, np.zeros_like(gt), ignore)]
        elif anywhere and (gt & ~ignore).any():
            ys, xs = np.nonzero(gt & ~ignore)
            j = int(rng.integers(len(ys)))
            its = [Click(float(xs[j]), float(ys[j]), True)]
        else:
            its = [user.next(kind, gt, np.zeros_like(gt), ignore)] if gt.any() else []
        if kind == "point" and gt.any():
            for _ in range(int(rng.integers(0, self.train.MAX_INITIAL_CLICKS))):
                ys, xs = np.nonzero(gt if rng.random() < 0.6 else ~gt & ~ignore)
                if len(ys):
                    j = int(rng.integers(len(ys)))
                    its.append(Click(float(xs[j]), float(ys[j]), bool(gt[ys[j], xs[j]])))
        return {"image": torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1),
                "gt": torch.from_numpy(gt), "ignore": torch.from_numpy(ignore),
                "interactions": [interaction_to_dict(i) for i in its], "seed": int(rng.integers(2**31)),
                "source": source}


def collate(items: list[dict]) -> dict:
    return {"image": torch.stack([i["image"] for i in items]), "gt": torch.stack([i["gt"] for i in items]),
            "ignore": torch.stack([i["ignore"] for i in items]),
            "interactions": [i["interactions"] for i in items], "seed": [i["seed"] for i in items],
            "source": torch.tensor([i["source"] for i in items])}
