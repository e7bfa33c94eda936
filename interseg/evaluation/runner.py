"""Running interaction sequences on samples, with resumable per-sample records.

Records are JSON lines in ``OUTPUT/records/<dataset>.jsonl``, one per (sample, sequence), written
as soon as they are computed; an interrupted run started again with the same settings skips what
is already there.  ``--workers N`` runs samples in N forked processes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..data.base import Dataset
from ..data.sample import Sample
from ..errors import DataError
from ..inference.click_guard import ignored_clicks
from ..inference.predictor import Predictor
from ..inference.session import Session
from ..interactions.schedules import Schedule
from ..interactions.types import Click, interaction_to_dict
from ..interactions.users import SimulatedUser
from ..visualize import overlay, save_rgb
from .metrics import boundary_iou, iou
from .protocol import EvalSettings, user_seed


def run_sequence(sample: Sample, predictor: Predictor, schedule: Schedule, settings: EvalSettings,
                 seed: np.random.SeedSequence, session: Session | None = None) -> tuple[dict, Session]:
    """Run one interaction sequence on one sample; returns its record and the final session."""
    full_gt, full_ignore = sample.gt, sample.ignore
    work = sample.resized(settings.sample_max_size)
    gt, ignore = work.gt, work.ignore
    rescale = work.shape != sample.shape
    if session is None:
        session = Session(work.image, predictor, keep_all=settings.keep_all)
    else:
        session.reset()
    user = SimulatedUser(int(seed.generate_state(1)[0]), settings.clicker, settings.user)
    ious: list[float] = []
    bious: list[float] = []
    clicks = ignored = 0     # clicks whose pixel ends on the wrong side of the mask they produced
    t_sim = t_pred = t_metric = 0.0
    for kind in schedule:
        t0 = time.perf_counter()
        it = user.next(kind, gt, session.mask, ignore, session.interactions)
        t1 = time.perf_counter()
        session.add(it)
        t2 = time.perf_counter()
        pred = session.mask
        if isinstance(it, Click):
            clicks += 1
            ignored += bool(ignored_clicks(session.prob, [it], session.threshold))
        if rescale:
            pred = cv2.resize(pred.astype(np.uint8), (full_gt.shape[1], full_gt.shape[0]),
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        ious.append(iou(full_gt, pred, full_ignore))
        if settings.boundary_iou:
            bious.append(boundary_iou(full_gt, pred, full_ignore, settings.boundary_ratio))
        t3 = time.perf_counter()
        t_sim += t1 - t0
        t_pred += t2 - t1
        t_metric += t3 - t2
        reached = bious[-1] if settings.boundary_iou else ious[-1]
        if settings.stop_at is not None and reached >= settings.stop_at:
            break
    record = {"ious": [round(v, 6) for v in ious], "n": len(ious), "t_sim": t_sim, "t_pred": t_pred,
              "t_metric": t_metric, "clicks": clicks, "ignored_clicks": ignored,
              "interactions": [interaction_to_dict(i) for i in session.interactions]}
    if settings.boundary_iou:
        record["bious"] = [round(v, 6) for v in bious]
    return record, session


# --- parallel execution ---------------------------------------------------------------------------
_WORKER: dict = {}


def _work(task: tuple[int, list[tuple[str, Schedule]]]) -> list[dict]:
    index, sequences = task
    ds: Dataset = _WORKER["dataset"]
    predictor = _WORKER["predictor"]
    settings: EvalSettings = _WORKER["settings"]
    vis_dir: Path | None = _WORKER["vis_dir"]
    name = ds.sample_name(index)
    try:
        sample = ds[index]
    except DataError as e:
        return [{"key": f"{index}|{seq}", "index": index, "sequence": seq, "name": name, "error": str(e)}
                for seq, _ in sequences]
    out = []
    session = None
    for seq, schedule in sequences:
        rec, session = run_sequence(sample, predictor, schedule, settings,
                                    user_seed(settings.seed, ds.name, index, seq), session)
        rec.update({"key": f"{index}|{seq}", "index": index, "sequence": seq, "name": sample.name})
        if vis_dir is not None:
            vis = overlay(session.image, session.mask, session.interactions,
                          gt=sample.resized(settings.sample_max_size).gt)
            save_rgb(vis_dir / f"{index:04d}_{sample.name.replace('#', '_')}_{seq}.png", vis)
        out.append(rec)
    return out


def _init_worker(threads: int) -> None:
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover
        pass


def read_records(path: Path) -> dict[str, dict]:
    records: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
                records[rec["key"]] = rec
            except (json.JSONDecodeError, KeyError):
                continue  # a line cut by an interruption; recomputed
    return records


def evaluate_dataset(ds: Dataset, predictor: Predictor, settings: EvalSettings, records_path: Path,
                     workers: int = 1, vis_dir: Path | None = None,
                     progress: Callable[[dict], None] | None = None) -> list[dict]:
    """All records of ``ds`` (computing the missing ones) in sample order."""
    sequences = settings.sequences()
    indices = settings.indices(len(ds))
    n = len(indices)
    done = read_records(records_path)
    # one task per (object, sequence): the bar moves every few seconds and estimates the time left even
    # when an object has 27 sequences (reading the sample again per sequence costs little)
    tasks = [(i, [(s, sch)]) for i in indices for s, sch in sequences if f"{i}|{s}" not in done]
    total = n * len(sequences)
    _WORKER.update(dataset=ds, predictor=predictor, settings=settings, vis_dir=vis_dir)
    records_path.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=total, initial=total - len(tasks), desc=f"{predictor.name} · {ds.name}",
               unit="seq", dynamic_ncols=True, mininterval=1.0)
    ious_last: list[float] = [r["ious"][-1] for r in done.values() if "ious" in r and r["ious"]]

    def results() -> Iterator[list[dict]]:
        if workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                yield _work(t)
        else:
            ctx = mp.get_context("fork")
            threads = max(1, (os.cpu_count() or 1) // workers)
            with ctx.Pool(workers, initializer=_init_worker, initargs=(threads,)) as pool:
                yield from pool.imap_unordered(_work, tasks)

    try:
        with records_path.open("a") as f:
            for recs in results():
                for r in recs:
                    f.write(json.dumps(r) + "\n")
                    done[r["key"]] = r
                    if "ious" in r:
                        ious_last.append(r["ious"][-1])
                f.flush()
                bar.update(1)
                bar.set_postfix(final_iou=f"{np.mean(ious_last):.3f}" if ious_last else "-")
                if progress is not None:
                    progress(recs[0])
    finally:
        bar.close()
    keys = [f"{i}|{s}" for i in indices for s, _ in sequences]
    return [done[k] for k in keys if k in done]


def settings_record(settings: EvalSettings) -> dict:
    d = asdict(settings)
    d["input_types"] = list(settings.input_types)
    d["noi_thresholds"] = list(settings.noi_thresholds)
    return d
