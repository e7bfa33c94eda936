"""``interseg evaluate``: benchmark predictors on datasets and write the reports.

Output folder layout::

    OUTPUT/run.json                      settings of the run (a resumed run must match them)
    OUTPUT/records/<predictor>/<dataset>.jsonl   one JSON line per (object, sequence)
    OUTPUT/records/<predictor>/predictor.json   the predictor's fingerprint (weights + options): records
                                         of another predictor with the same name are never mixed in
    OUTPUT/results.json  results.csv  miou_curves.png  table.md
    OUTPUT/vis/<predictor>/<dataset>/*.png       with --vis-preds
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

from ..config import Config
from ..data.registry import build_eval_dataset
from ..errors import ConfigError
from ..inference.predictor import Predictor
from ..version import __version__
from .protocol import EvalSettings
from .report import format_markdown, format_table, plot_curves, table_rows, write_csv, write_json
from .runner import evaluate_dataset, settings_record
from .summary import summarize


def safe_name(name: str) -> str:
    """A dataset or model name as a file name (``folder:/data/x`` → ``folder_data_x``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "dataset"


def _check_run_file(output: Path, settings: EvalSettings) -> None:
    run_file = output / "run.json"
    current = settings_record(settings)
    if run_file.exists():
        try:
            previous = json.loads(run_file.read_text())["settings"]
        except (json.JSONDecodeError, KeyError):
            previous = None
        # records are per object: another limit or subset extends or narrows the same run
        free = ("limit", "subset")
        if previous is not None and "max_size" in previous:   # its name until the threshold moved to
            previous["sample_max_size"] = previous.pop("max_size")   # the predictor (its fingerprint)
        defaults = settings_record(EvalSettings())      # keys added since a run was made: their defaults
        diff = [k for k in current if k not in free and previous is not None
                and previous.get(k, defaults.get(k)) != current[k]]
        if diff:
            raise ConfigError(f"{output}: holds results of a run with other settings ({', '.join(diff)} "
                              f"differ); choose another --output folder or delete it")
    output.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"settings": current, "interseg": __version__}, indent=2))


def _check_predictor(folder: Path, predictor: Predictor) -> None:
    """Refuse to resume records that another predictor of the same name (retrained weights, other
    options) wrote; folders from before fingerprints existed are adopted."""
    fingerprint = predictor.fingerprint
    info = folder / "predictor.json"
    if info.exists():
        try:
            previous = json.loads(info.read_text()).get("fingerprint")
        except (json.JSONDecodeError, AttributeError):
            previous = None
        if previous is not None and previous != fingerprint:
            raise ConfigError(f"{folder}: holds records of another predictor named {predictor.name!r} (other "
                              f"weights or options: {previous} vs {fingerprint}); delete that folder to "
                              f"measure it anew, or choose another --output folder")
    folder.mkdir(parents=True, exist_ok=True)
    info.write_text(json.dumps({"name": predictor.name, "fingerprint": fingerprint}, indent=2))


def run_benchmark(predictors: dict[str, Predictor], datasets: list[str], cfg: Config, settings: EvalSettings,
                  output: Path, workers: int = 1, vis_preds: bool = False, log=print) -> dict:
    _check_run_file(output, settings)
    results: dict = {"interseg": __version__, "created": _dt.datetime.now().isoformat(timespec="seconds"),
                     "settings": settings_record(settings), "predictors": {}}
    built = {}
    for name in datasets:
        built[name] = build_eval_dataset(name, cfg)
        unmatched = getattr(built[name], "unmatched", [])
        if unmatched:
            log(f"{name}: {len(unmatched)} image(s) without a mask left out, e.g. {unmatched[0].name}")
    for pname, predictor in predictors.items():
        _check_predictor(output / "records" / pname, predictor)
    for pname, predictor in predictors.items():
        per_ds: dict = {}
        for dname, ds in built.items():
            vis = output / "vis" / pname / safe_name(dname) if vis_preds else None
            path = output / "records" / pname / f"{safe_name(dname)}.jsonl"
            records = evaluate_dataset(ds, predictor, settings, path, workers=workers, vis_dir=vis)
            summary = summarize(records, settings)
            if summary["skipped"]:
                log(f"{dname}: {len(summary['skipped'])} of {summary['objects'] + len(summary['skipped'])} "
                    f"samples skipped:")
                for s in summary["skipped"]:
                    log(f"  {s['error']}")
            per_ds[dname] = summary
        results["predictors"][pname] = per_ds
    header, rows = table_rows(results, settings)
    log(format_table(header, rows))
    write_json(output / "results.json", results)
    write_csv(output / "results.csv", header, rows)
    (output / "table.md").write_text(format_markdown(header, rows) + "\n")
    plot_curves(output / "miou_curves.png", results, settings)
    log(f"results written to {output}/ (results.json, results.csv, table.md, miou_curves.png)")
    return results
