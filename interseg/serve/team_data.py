"""What the team saved: the annotations Label Studio sends to the webhook, kept on disk as a dataset.

Layout of ``DIR`` (``interseg serve --learn DIR``)::

    DIR/team/images/<task id>.png          the task's image (lossless), fetched once per task
    DIR/team/masks/<annotation id>.png     the annotation's objects as a label map (1..K, 0 = none)
    DIR/team/annotations/<annotation id>.json   {"annotation", "task", "project", "labels", "objects", "updated"}

One annotation id is one record: a repeated delivery or an update replaces it, a delete removes it.
Every file is written to a temporary name and renamed, the JSON last, so a record is complete or
absent after a crash; a restart reads the folder as it is. A task belongs to the held-out slice when
``task id % HOLDOUT_EVERY == 0``: those annotations judge a fine-tuned model and are never trained on.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..data.base import Dataset
from ..data.image_io import load_image, load_label_map
from ..data.sample import Sample
from ..errors import DataError
from ..visualize import save_gray, save_rgb

HOLDOUT_EVERY = 5
MAX_OBJECTS = 255


class TeamStore:
    """The team's annotations on disk (thread-safe: the webhook and the learner share it)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "team"
        for sub in ("images", "masks", "annotations"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _paths(self, annotation_id: int) -> tuple[Path, Path]:
        return self.root / "annotations" / f"{annotation_id}.json", self.root / "masks" / f"{annotation_id}.png"

    def image_path(self, task_id: int) -> Path:
        return self.root / "images" / f"{task_id}.png"

    def has_image(self, task_id: int) -> bool:
        return self.image_path(task_id).is_file()

    def put(self, annotation_id: int, task_id: int, image: np.ndarray | None, masks: list[np.ndarray],
            labels: list[str], project: str | None = None) -> None:
        """Store (or replace) one annotation: its objects' masks at the image's size. ``image`` may be
        ``None`` when the task's image is already stored; ``project`` is the Label Studio project it was
        saved in."""
        if not masks:
            raise DataError(f"annotation {annotation_id}: no object masks to store")
        if len(masks) > MAX_OBJECTS:
            raise DataError(f"annotation {annotation_id}: {len(masks)} objects, at most {MAX_OBJECTS}")
        ids = np.zeros(masks[0].shape, np.uint8)
        for k, m in enumerate(masks, 1):
            if m.shape != ids.shape:
                raise DataError(f"annotation {annotation_id}: masks of different sizes")
            ids[m.astype(bool) & (ids == 0)] = k
        meta_path, mask_path = self._paths(annotation_id)
        with self._lock:
            if image is not None:
                if image.shape[:2] != ids.shape:
                    raise DataError(f"annotation {annotation_id}: the mask is {ids.shape[1]}x{ids.shape[0]} but the "
                                    f"image is {image.shape[1]}x{image.shape[0]}")
                write_atomically(self.image_path(task_id), lambda p: save_rgb(p, image))
            elif not self.has_image(task_id):
                raise DataError(f"annotation {annotation_id}: the image of task {task_id} is not stored")
            write_atomically(mask_path, lambda p: save_gray(p, ids))
            meta = {"annotation": annotation_id, "task": task_id, "project": project, "labels": list(labels),
                    "objects": len(masks), "updated": time.time()}
            write_atomically(meta_path, lambda p: p.write_text(json.dumps(meta)))

    def delete(self, annotation_id: int) -> bool:
        """Remove one annotation; whether it was there. The task's image stays while another annotation
        of the task needs it."""
        meta_path, mask_path = self._paths(annotation_id)
        with self._lock:
            if not meta_path.is_file():
                return False
            task = json.loads(meta_path.read_text()).get("task")
            meta_path.unlink()
            mask_path.unlink(missing_ok=True)
            if task is not None and not any(r["task"] == task for r in self._records()):
                self.image_path(task).unlink(missing_ok=True)
            return True

    def _records(self) -> list[dict]:
        out = []
        for p in sorted(self.root.glob("annotations/*.json"), key=lambda q: int(q.stem) if q.stem.isdigit() else 0):
            try:
                out.append(json.loads(p.read_text()))
            except (OSError, json.JSONDecodeError):
                continue   # a file being replaced
        return out

    def records(self, part: str = "all") -> list[dict]:
        """The stored annotations: ``"all"``, ``"train"`` or ``"heldout"`` (by task id)."""
        with self._lock:
            recs = self._records()
        if part == "all":
            return recs
        held = [r for r in recs if int(r["task"]) % HOLDOUT_EVERY == 0]
        return held if part == "heldout" else [r for r in recs if int(r["task"]) % HOLDOUT_EVERY != 0]

    def __len__(self) -> int:
        return len(list(self.root.glob("annotations/*.json")))

    def dataset(self, part: str) -> TeamDataset:
        return TeamDataset(self, part)


class TeamDataset(Dataset):
    """The stored annotations as a dataset (one sample per annotation, its objects as the masks)."""

    name = "team"

    def __init__(self, store: TeamStore, part: str = "all", **kw) -> None:
        self.store, self.part = store, part
        super().__init__(store.root, **kw)

    def list_items(self) -> list:
        return self.store.records(self.part)

    def item_key(self, item) -> str:
        return str(item["annotation"])

    def sample_name(self, index: int) -> str:
        return f"annotation{self.items[index]['annotation']}"

    def load(self, item) -> Sample:
        image = load_image(self.store.image_path(item["task"]), self.max_pixels)
        _, mask_path = self.store._paths(item["annotation"])
        ids = load_label_map(mask_path)
        masks = [ids == k for k in range(1, int(item["objects"]) + 1) if (ids == k).any()]
        if not masks:
            raise DataError(f"{mask_path}: no object")
        return Sample(image, masks, np.zeros(ids.shape, bool), f"annotation{item['annotation']}")
