"""Regenerate the README's results table: every shipped model and the GrabCut baseline, measured in one run.

1. NoI@85/90/95 (RITM click simulator, at most 20 interactions) on GrabCut, Berkeley and DAVIS, for clicks,
   contours and strokes, on every object.
   With each row, the share of clicks the model ignored (a positive click left outside the mask it
   produced, a negative one inside) per dataset, and the interactions that did harm: the share that
   lowered the IoU by more than 0.1, and in brackets the objects that lost more than 0.2 in one step.
2. IoU ± std and Boundary IoU ± std under the 27-sequence protocol (every order of the three input types
   over the first three interactions, then clicks; mean over the first 10 interactions; the ± is the std
   over the 27 sequences) on the first --iou-limit objects of each dataset.
3. NoI@85/90/95 with contours and strokes drawn as people draw them (``--user human-like``: short
   scribbles, loose or partial outlines), on every object (skip with --no-human-like).

Writes OUTPUT/noi/, OUTPUT/iou27/ and OUTPUT/noi_human/ (results.json, results.csv, table.md,
miou_curves.png, resumable records), docs/results.md, docs/miou_noi.png, docs/miou_27seq.png; with
--update-readme it replaces the block between the README's ``results:begin``/``results:end`` markers,
and with --update-metadata it writes the headline numbers into the shipped checkpoints (shown by
``interseg models list``).

Usage:  python benchmarks/shipped_results.py [--config config.yml] [--iou-limit 6] [--update-readme]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from interseg.commands.common import csv
from interseg.config import load_config
from interseg.evaluation.benchmark import run_benchmark
from interseg.evaluation.protocol import EvalSettings
from interseg.inference.grabcut import GrabCutPredictor
from interseg.inference.loading import SHIPPED_DIR, load_predictor, shipped_models
from interseg.inference.predictor import Predictor
from interseg.models.checkpoint import update_metadata

DATASETS = ["GrabCut", "Berkeley", "DAVIS"]
TYPES = ("point", "contour", "stroke")
HUMAN_TYPES = ("contour", "stroke")
ROOT = Path(__file__).resolve().parent.parent


def _spc(per_ds: dict, rows_of) -> float:
    n = t = 0.0
    for res in per_ds.values():
        for timing in rows_of(res):
            n += timing["interactions"]
            t += timing["spc"] * timing["interactions"]
    return t / n if n else float("nan")


def _ignored(per_ds: dict, t: str) -> str:
    """The click rows' share of ignored clicks per dataset (other rows hold only the odd fallback click)."""
    if t != "point":
        return "–"
    shares = [per_ds[d]["noi"][t].get("ignored_clicks") for d in DATASETS]
    if all(v is None for v in shares):
        return "–"
    return " / ".join("–" if v is None else f"{100 * v:.1f}" for v in shares) + " %"


def _harmful(per_ds: dict, t: str) -> str:
    """Per dataset: the share of interactions that lowered the IoU by more than 0.1, and the objects that
    lost more than 0.2 in one step."""
    rows = [per_ds[d]["noi"][t] for d in DATASETS]
    if any(r.get("harmful") is None for r in rows):
        return "–"
    return " / ".join(f"{100 * r['harmful']:.1f} % ({r['wrecked']})" for r in rows)


def _headline(per_ds: dict, types: tuple[str, ...], label: str = "") -> dict[str, str]:
    """The NoI@90 figures written into a shipped model's metadata."""
    return {f"NoI@90 {d} {label}{t}": f"{per_ds[d]['noi'][t]['NoI@90']:.2f}"
            for d in ("GrabCut", "DAVIS") for t in types}


def noi_table(results: dict, types: tuple[str, ...] = TYPES, label: str = "", clicks: bool = True) -> str:
    """One row per model and input type; ``clicks`` adds the ignored clicks' share per dataset."""
    head = (["model", "input"] + [f"{d} NoI@85 / 90 / 95 (≥20@90)" for d in DATASETS]
            + (["ignored clicks (G / B / D)"] if clicks else [])
            + ["harmful > 0.1 (objects > 0.2) G / B / D", "SPC (s)"])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for pname, per_ds in results["predictors"].items():
        for t in types:
            cells = [pname, label + t]
            for d in DATASETS:
                row = per_ds[d]["noi"][t]
                cells.append(f"{row['NoI@85']:.2f} / **{row['NoI@90']:.2f}** / {row['NoI@95']:.2f} "
                             f"({row['>=20@90']})")
            if clicks:
                cells.append(_ignored(per_ds, t))
            cells.append(_harmful(per_ds, t))
            cells.append(f"{_spc(per_ds, lambda r, t=t: [r['noi'][t]['timing']]):.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def iou_table(results: dict) -> str:
    head = ["model"] + [f"{d} IoU / bIoU" for d in DATASETS] + ["SPC (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for pname, per_ds in results["predictors"].items():
        cells = [pname]
        for d in DATASETS:
            r = per_ds[d]["iou"]
            cells.append(f"{r['iou_mean']:.2f} ± {r['iou_std']:.2f} / {r['biou_mean']:.2f} ± {r['biou_std']:.2f}")
        cells.append(f"{_spc(per_ds, lambda r: [r['timing']]):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


CARRIED = "†"


def carry_rows(block: str, old_block: str, measured: set[str]) -> str:
    """``block`` with the rows of the models this run did not measure (the GrabCut baseline included)
    copied from ``old_block`` (the README's previous tables), table by table, marked with
    :data:`CARRIED`; a row with fewer columns than its new table (a column added since) gets "–" before
    its last cell."""
    old_tables = {_kind(t): t for t in _tables(old_block)}
    paras = block.split("\n\n")
    for i, para in enumerate(paras):
        if not para.strip().startswith("|"):
            continue
        kind = _kind(_table_rows(para))
        if kind in old_tables:
            width = para.strip().splitlines()[0].count("|")
            present = set(para.splitlines())
            extra = []
            for row in old_tables[kind][2:]:
                name = _model(row)
                if name in measured or any(ln.startswith(f"| {name} {CARRIED} |") for ln in present):
                    continue
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                while len(cells) + 1 < width:
                    cells.insert(len(cells) - 1, "–")
                cells[0] = f"{name} {CARRIED}"
                extra.append("| " + " | ".join(cells) + " |")
            lines = para.rstrip("\n").split("\n")
            at = next(j for j, ln in enumerate(lines) if ln.startswith("|---")) + 1
            first = [r for r in extra if r.startswith("| grabcut ")]       # the baseline stays on top
            lines[at:at] = first
            paras[i] = "\n".join(lines + [r for r in extra if r not in first])
    return "\n\n".join(paras)


def _table_rows(para: str) -> list[str]:
    """The table lines of one paragraph of the README's block (header and rule first)."""
    return [ln for ln in para.strip().splitlines() if ln.startswith("|")]


def _tables(text: str) -> list[list[str]]:
    """Every table of ``text``, as its lines."""
    return [rows for rows in map(_table_rows, text.split("\n\n")) if rows]


def _model(row: str) -> str:
    """A table row's model name, without the :data:`CARRIED` mark."""
    return row.split("|")[1].strip().rstrip(CARRIED).strip()


def _kind(rows: list[str]) -> str:
    """Which of the README's tables ``rows`` (header first) is: "iou", "human" or "noi"."""
    if "IoU / bIoU" in rows[0]:
        return "iou"
    return "human" if any("| human-like" in r for r in rows[2:]) else "noi"


def old_table(old_block: str, kind: str, leave_out: set[str]) -> str:
    """The README's previous table of ``kind`` without the rows of ``leave_out``, every row marked
    :data:`CARRIED` (for a table this run did not measure)."""
    for rows in _tables(old_block):
        if _kind(rows) == kind:
            keep = [r for r in rows[2:] if _model(r) not in leave_out]
            keep = ["|" + r.split("|", 2)[1].rstrip().rstrip(CARRIED).rstrip() + f" {CARRIED} |" + r.split("|", 2)[2]
                    for r in keep]
            return "\n".join(rows[:2] + keep)
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    ap.add_argument("--models", help="comma-separated model names or paths (default: every shipped model)")
    ap.add_argument("--output", type=Path, default=Path("experiments/shipped_results"))
    ap.add_argument("--iou-limit", type=int, default=6, help="objects per dataset for the 27-sequence protocol")
    ap.add_argument("--noi-limit", type=int, help="objects per dataset for NoI (default: all; for a quick check)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    ap.add_argument("--no-human-like", dest="human_like", action="store_false",
                    help="leave out the table with human-like contours and strokes")
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--update-metadata", action="store_true")
    ap.add_argument("--no-iou27", dest="iou27", action="store_false",
                    help="leave out the 27-sequence IoU table (with --carry the previous one is kept, less the "
                         "measured models' rows)")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="leave out the GrabCut baseline (with --carry its rows are kept from the README)")
    ap.add_argument("--carry", action="store_true",
                    help="with --models: keep the README rows of the shipped models not measured in this run "
                         "(marked †; their own predictor settings are unchanged since)")
    args = ap.parse_args()

    cfg = load_config(args.config)
    models = csv(args.models) or shipped_models()
    predictors: dict[str, Predictor] = {"grabcut": GrabCutPredictor()} if args.baseline else {}
    for spec in models:
        p = load_predictor(spec, models_dir=cfg.INTERACTIVE_MODELS_PATH, backend=args.backend)
        predictors[p.name] = p
    noi = run_benchmark(predictors, DATASETS, cfg, EvalSettings(mode="noi", input_types=TYPES, limit=args.noi_limit),
                        args.output / "noi", workers=args.workers)
    iou = (run_benchmark(predictors, DATASETS, cfg,
                         EvalSettings(mode="iou", schedule="product", boundary_iou=True, limit=args.iou_limit),
                         args.output / "iou27", workers=args.workers) if args.iou27 else None)
    human = (run_benchmark(predictors, DATASETS, cfg,
                           EvalSettings(mode="noi", input_types=HUMAN_TYPES, user="human-like", limit=args.noi_limit),
                           args.output / "noi_human", workers=args.workers) if args.human_like else None)

    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copy(args.output / "noi" / "miou_curves.png", docs / "miou_noi.png")
    old = (ROOT / "README.md").read_text().split("<!-- results:begin -->", 1)[1].split("<!-- results:end -->")[0]
    not_remeasured = (", ".join(sorted(noi["predictors"])) + ": not remeasured with this protocol since its last "
                      "change; its held-out figures are in docs/experiments.md")
    if iou is not None:
        shutil.copy(args.output / "iou27" / "miou_curves.png", docs / "miou_27seq.png")
        n_iou = {d: next(iter(iou["predictors"].values()))[d]["objects"] for d in DATASETS}
        iou_part = ["IoU ± std and Boundary IoU ± std (×100, boundary width 0.5 % of the diagonal) under the "
                    "27-sequence protocol, mean over the first 10 interactions, on the first "
                    + ", ".join(f"{n} {d}" for d, n in n_iou.items()) + " objects:", "", iou_table(iou), ""]
    elif args.carry:
        iou_part = ["IoU ± std and Boundary IoU ± std under the 27-sequence protocol from the previous run ("
                    + not_remeasured + "):", "", old_table(old, "iou", set(noi["predictors"])), ""]
    else:
        iou_part = []
    if human is None and args.carry:
        human_part = [
            "With contours and strokes drawn as people draw them (`--user human-like`), NoI@85/90/95 from "
            "the previous run (" + not_remeasured + "):",
            "", old_table(old, "human", set(noi["predictors"])), ""]
    human_part = human_part if human is None and args.carry else [] if human is None else [
        "With contours and strokes drawn as people draw them (`--user human-like`: one to three short "
        "scribbles 3–15 px wide; loose, partial or box outlines), NoI@85/90/95 on the same objects:",
        "", noi_table(human, HUMAN_TYPES, label="human-like ", clicks=False), ""]
    block = "\n".join([
        "NoI@85/90/95 (mean number of interactions to reach the IoU; RITM click simulator, at most 20; "
        "in brackets the objects whose NoI@90 is 20, as the reference counts ≥20@90) on "
        + " + ".join(str(next(iter(noi["predictors"].values()))[d]["noi"]["point"]["objects"]) for d in DATASETS)
        + " objects; ignored clicks: the share of clicks left on the wrong side of the mask they produced "
        "(GrabCut / Berkeley / DAVIS); harmful: the share of interactions that lowered the IoU by more "
        "than 0.1, in brackets the objects that lost more than 0.2 in one step:",
        "", noi_table(noi), "",
        *human_part,
        *iou_part,
        "SPC: seconds per interaction (simulation + prediction + metric) on one CPU thread per worker.",
        "", "![mIoU vs interactions](docs/miou_noi.png)", ""])
    if args.update_readme and args.carry:
        block = carry_rows(block, old, set(noi["predictors"])) + (
            f"\n{CARRIED} not measured in this run: the rows of the previous tables, measured with the "
            "predictor settings these models ship with (their checkpoints record them), columns added "
            "since shown as –.\n")
    (docs / "results.md").write_text("# Results of the shipped models\n\n"
                                     "Regenerate: `python benchmarks/shipped_results.py --update-readme`\n\n"
                                     + block.replace("docs/", ""))
    print(block)
    if args.update_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        begin, end = "<!-- results:begin -->", "<!-- results:end -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{readme}: markers {begin} / {end} not found")
        head, rest = text.split(begin, 1)
        readme.write_text(head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1])
        print(f"updated {readme}")
    if args.update_metadata:
        for name in models:
            path = SHIPPED_DIR / f"{name}.safetensors"
            if not path.is_file() or name not in noi["predictors"]:
                continue
            values = _headline(noi["predictors"][name], TYPES)
            if human is not None:
                values |= _headline(human["predictors"][name], HUMAN_TYPES, "human-like ")
            written = update_metadata(path, {"results": values})
            print(f"results {'written into' if written else 'unchanged in'} {path}")


if __name__ == "__main__":
    main()
