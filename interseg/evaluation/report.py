"""Writing benchmark results: the printed table, ``results.json``, ``results.csv`` and the plot."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..atomic import write_atomically
from .protocol import EvalSettings


def _f(v: float, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _share(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _harm(row: dict) -> list[str]:
    """The harmful-interaction share (IoU lowered by > 0.1) and the wrecked objects (> 0.2 in one step)."""
    if row.get("harmful") is None:
        return ["-", "-"]
    return [f"{100 * row['harmful']:.2f} %", str(row["wrecked"])]


def table_rows(results: dict, settings: EvalSettings) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the summary table (one row per predictor x dataset x input type)."""
    rows: list[list[str]] = []
    if settings.mode == "noi":
        cap = settings.max_interactions
        pcts = [int(round(t * 100)) for t in settings.noi_thresholds]
        header = ["predictor", "dataset", "input", *[f"NoI@{p}" for p in pcts],
                  *[f">={cap}@{p}" for p in pcts], "ignored clicks", "harmful", "wrecked", "SPC (s)", "objects",
                  "skipped"]
        for pred_name, per_ds in results["predictors"].items():
            for ds, res in per_ds.items():
                for seq, row in res.get("noi", {}).items():
                    rows.append([pred_name, ds, seq, *[_f(row[f"NoI@{p}"]) for p in pcts],
                                 *[str(row[f">={cap}@{p}"]) for p in pcts], _share(row.get("ignored_clicks")),
                                 *_harm(row), _f(row["timing"]["spc"], 3),
                                 str(row["objects"]), str(len(res["skipped"]))])
    else:
        header = ["predictor", "dataset", "sequences", "IoU", *(["bIoU"] if settings.boundary_iou else []),
                  "ignored clicks", "harmful", "wrecked", "SPC (s)", "objects", "skipped"]
        for pred_name, per_ds in results["predictors"].items():
            for ds, res in per_ds.items():
                r = res["iou"]
                row = [pred_name, ds, str(r["sequences"]), f"{_f(r['iou_mean'])} ± {_f(r['iou_std'])}"]
                if settings.boundary_iou:
                    row.append(f"{_f(r['biou_mean'])} ± {_f(r['biou_std'])}")
                rows += [row + [_share(res.get("ignored_clicks")), *_harm(res), _f(res["timing"]["spc"], 3),
                                str(res["objects"]), str(len(res["skipped"]))]]
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             "-|-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def format_markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_json(path: Path, results: dict) -> None:
    write_atomically(path, lambda p: p.write_text(json.dumps(results, indent=2, allow_nan=True)))


def plot_curves(path: Path, results: dict, settings: EvalSettings) -> None:
    """mIoU vs number of interactions: one panel per dataset, a line per predictor and input type — a
    colour per predictor, a line style per input type, so that a dozen lines stay apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(ds for per in results["predictors"].values() for ds in per))
    if not datasets:
        return
    colours = plt.get_cmap("tab10").colors
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for i, (pred_name, per) in enumerate(results["predictors"].items()):
            res = per.get(ds)
            if res is None:
                continue
            if settings.mode == "noi":
                curves = {seq: row["miou_curve"] for seq, row in res["noi"].items()}
            else:
                grouped: dict[str, list[list[float]]] = {}
                for seq, c in res["iou"]["curves"].items():
                    grouped.setdefault({"p": "point", "c": "contour", "s": "stroke"}.get(seq[0], seq), []).append(c)
                curves = {k: [sum(v) / len(v) for v in zip(*cs, strict=True)] for k, cs in grouped.items()}
                if settings.schedule == "product":
                    curves = {f"{k} first": v for k, v in curves.items()}
            for j, (label, c) in enumerate(curves.items()):
                line, marker = styles[j % len(styles)]
                ax.plot(range(1, len(c) + 1), c, linestyle=line, marker=marker, markersize=3,
                        color=colours[i % len(colours)], label=f"{pred_name}: {label}")
        ax.set_title(ds)
        ax.set_xlabel("number of interactions")
        ax.set_ylabel("mIoU")
        ax.grid(alpha=0.3)
        ax.set_ylim(top=1.0)
    entries: dict[str, object] = {}     # label -> line, over every panel (a predictor may lack a dataset)
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(lab, h)
    ncol = len(results["predictors"])     # a column per predictor
    fig.legend(list(entries.values()), list(entries), fontsize=7, loc="lower center", ncol=ncol, frameon=False)
    legend_rows = math.ceil(len(entries) / ncol)
    fig.tight_layout(rect=(0, 0.06 * legend_rows, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
