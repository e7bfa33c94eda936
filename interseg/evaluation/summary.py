"""Turning per-sample records into the benchmark's numbers.

NoI mode (per input type): NoI@t for each threshold, the count of objects that never reach t within
the cap (">=N@t"), the mean IoU curve and seconds per interaction. Every mode also counts the
interactions that did harm (:func:`harmful`) and the clicks the model ignored.

IoU mode (the seed's IoU ± std): for each sequence, the mean IoU over objects at each step, averaged
over the first N steps and x100; the result is the mean and the population std over sequences.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .metrics import mean_curve, noi_summary
from .protocol import EvalSettings


def _timing(records: list[dict]) -> dict[str, float]:
    n = sum(r["n"] for r in records)
    if n == 0:
        return {"spc": float("nan"), "simulation": float("nan"), "prediction": float("nan"),
                "metric": float("nan"), "interactions": 0}
    sim, pred, met = (sum(r[k] for r in records) for k in ("t_sim", "t_pred", "t_metric"))
    return {"spc": (sim + pred + met) / n, "simulation": sim / n, "prediction": pred / n, "metric": met / n,
            "interactions": n}


def ignored_share(records: list[dict]) -> float | None:
    """The share of clicks whose pixel ended on the wrong side of the mask they produced (a positive
    click outside it, a negative one inside: the model ignored them); None for records made before
    it was counted."""
    counted = [r for r in records if "clicks" in r]
    clicks = sum(r["clicks"] for r in counted)
    return sum(r["ignored_clicks"] for r in counted) / clicks if clicks else None


#: an interaction is harmful when it lowers the IoU by more than this; an object is wrecked by one
#: interaction that lowers it by more than WRECK
HARM, WRECK = 0.1, 0.2


def harmful(records: list[dict]) -> dict[str, float | int | None]:
    """``harmful``: the share of interactions after the first that lowered the IoU by more than
    :data:`HARM`; ``wrecked``: the objects (records) where one interaction lowered it by more than
    :data:`WRECK`; ``largest_drop``: the largest one-step IoU loss."""
    steps = drops = wrecked = 0
    largest = 0.0
    for r in records:
        d = -np.diff(np.asarray(r["ious"], np.float64))
        steps += len(d)
        drops += int((d > HARM).sum())
        wrecked += bool((d > WRECK).any())
        largest = max(largest, float(d.max()) if len(d) else 0.0)
    return {"harmful": drops / steps if steps else None, "wrecked": wrecked, "largest_drop": largest}


def summarize(records: list[dict], settings: EvalSettings) -> dict:
    ok = [r for r in records if "ious" in r]
    skipped = sorted({(r["index"], r["name"], r["error"]) for r in records if "error" in r})
    key = "bious" if settings.boundary_iou else "ious"
    by_seq: dict[str, list[dict]] = defaultdict(list)
    for r in ok:
        by_seq[r["sequence"]].append(r)
    out: dict = {"objects": len({r["index"] for r in ok}),
                 "skipped": [{"index": i, "name": n, "error": e} for i, n, e in skipped],
                 "timing": _timing(ok), "ignored_clicks": ignored_share(ok), **harmful(ok)}
    if settings.mode == "noi":
        rows = {}
        for seq, recs in by_seq.items():
            curves = [r[key] for r in recs]
            row: dict = {"metric": "biou" if settings.boundary_iou else "iou", "objects": len(recs)}
            for t in settings.noi_thresholds:
                mean, at_cap, failed = noi_summary(curves, t, settings.max_interactions)
                pct = int(round(t * 100))
                row[f"NoI@{pct}"] = mean
                row[f">={settings.max_interactions}@{pct}"] = at_cap     # the reference's column
                row[f"failed@{pct}"] = failed                               # never reached
            row["miou_curve"] = mean_curve([r["ious"] for r in recs], settings.max_interactions).tolist()
            row["timing"] = _timing(recs)
            row["ignored_clicks"] = ignored_share(recs)
            row.update(harmful(recs))
            rows[seq] = row
        out["noi"] = rows
    else:
        n = settings.n_interactions
        per_seq_iou, per_seq_biou, curves = {}, {}, {}
        for seq, recs in by_seq.items():
            c = mean_curve([r["ious"] for r in recs], n)
            curves[seq] = c.tolist()
            per_seq_iou[seq] = float(c.mean() * 100)
            if settings.boundary_iou:
                per_seq_biou[seq] = float(mean_curve([r["bious"] for r in recs], n).mean() * 100)
        vals = np.array(list(per_seq_iou.values()))
        res: dict = {"sequences": len(vals), "iou_mean": float(vals.mean()) if len(vals) else float("nan"),
                     "iou_std": float(vals.std()) if len(vals) else float("nan"),
                     "per_sequence_iou": per_seq_iou, "curves": curves}
        if settings.boundary_iou:
            bvals = np.array(list(per_seq_biou.values()))
            res.update(biou_mean=float(bvals.mean()) if len(bvals) else float("nan"),
                       biou_std=float(bvals.std()) if len(bvals) else float("nan"),
                       per_sequence_biou=per_seq_biou)
        out["iou"] = res
    return out
