"""Learning from the team, measured: Clothing Co-Parsing's garments as a team's own object definition.

The shipped models were trained on CCP's photos as whole persons; a team that labels garments (tops,
trousers, skirts, shoes… — every pixel label of at least 1 % of the image but skin and hair) wants
other objects. The CCP images are split by image into the team's stream and a held-out set. The
stream's annotations go into a real ``interseg serve --learn`` app (in-process, pinned to a local
stand-in of Label Studio that serves the photos) as Label Studio's webhook sends them: one
``ANNOTATION_CREATED`` per image, every garment a brush region. The server learns as it would for a
team (a round every ``--every`` new training annotations; the benchmark waits for a round before
streaming on, as a team labels slower than a round takes). Then, on the held-out images' garments:
click NoI@85 and @90 (RITM click simulator, at most 20) and the first click's IoU, for the base model
and every version; the CPU minutes of each round; GrabCut and Berkeley click NoI@90 of the model the
team's project is served and of the one every other project is served (a version that forgets what the
model knew is served to the team's project only), and where the team's model needs more clicks
(GrabCut's person photos apart from its other objects; Berkeley objects worse / same / better); and the
click latency of the server while idle and while a round runs.

Usage:  python benchmarks/learn_from_team.py [--ccp DIR] [--stream 100] [--heldout 100] [--every 40]
                                             [--steps 200] [--freeze backbone] [--mix 0.7] [--out DIR] [--workers 2]
Writes OUT/results.json, OUT/table.md and OUT/noi_vs_annotations.png.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np

import interseg
from interseg.config import load_config
from interseg.data.base import Dataset
from interseg.data.image_io import load_image
from interseg.data.readers.ccp import CcpDataset
from interseg.data.registry import build_eval_dataset
from interseg.data.sample import Sample
from interseg.evaluation.protocol import EvalSettings
from interseg.evaluation.runner import evaluate_dataset
from interseg.evaluation.summary import summarize
from interseg.serve.app import ServeSettings, create_app
from interseg.serve.brush_rle import encode_mask
from interseg.serve.learner import FREEZE_CHOICES, Learner, LearnSettings

NOT_GARMENTS = {0, 19, 41}     # background, hair, skin
MIN_AREA = 0.01
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <BrushLabels name="brush" toName="image"><Label value="Garment"/></BrushLabels>
  <KeyPointLabels name="kp" toName="image" smart="true"><Label value="Garment" smart="true"/></KeyPointLabels>
</View>"""


def garments(mat: Path) -> list[np.ndarray]:
    labels = CcpDataset.read_labels(mat)
    return [labels == v for v in np.unique(labels) if v not in NOT_GARMENTS and (labels == v).mean() >= MIN_AREA]


class Garments(Dataset):
    """The held-out images' garments, one sample per garment (at most ``per_image`` largest)."""

    name = "CCP-garments"

    def __init__(self, root: Path, stems: list[str], per_image: int = 3) -> None:
        self.stems, self.per_image = stems, per_image
        super().__init__(root)

    def list_items(self) -> list:
        items = []
        for s in self.stems:
            ms = sorted(garments(self.root / "annotations" / "pixel-level" / f"{s}.mat"), key=lambda m: -m.sum())
            items += [(s, k) for k in range(min(self.per_image, len(ms)))]
        return items

    def item_key(self, item) -> str:
        return f"{item[0]}#{item[1]}"

    def load(self, item) -> Sample:
        s, k = item
        ms = sorted(garments(self.root / "annotations" / "pixel-level" / f"{s}.mat"), key=lambda m: -m.sum())
        image = load_image(self.root / "photos" / f"{s}.jpg")
        return Sample(image, [ms[k]], np.zeros(ms[k].shape, bool), f"{s}#{k}")


def host(root: Path) -> http.server.ThreadingHTTPServer:
    """Label Studio's stand-in: /data/upload/<stem>.jpg from CCP's photos."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            return str(root / "photos" / Path(path).name)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def event(task_id: int, stem: str, masks: list[np.ndarray]) -> dict:
    h, w = masks[0].shape
    regions = [{"id": f"g{k}", "type": "brushlabels", "from_name": "brush", "to_name": "image",
                "original_width": w, "original_height": h, "image_rotation": 0,
                "value": {"format": "rle", "rle": encode_mask(m), "brushlabels": ["Garment"]}}
               for k, m in enumerate(masks)]
    return {"action": "ANNOTATION_CREATED", "project": {"id": 1},
            "task": {"id": task_id, "data": {"image": f"/data/upload/{stem}.jpg"}},
            "annotation": {"id": 1000 + task_id, "task": task_id, "result": regions}}


def click(client, stem: str, root: Path, jitter: int = 0) -> float:
    """Seconds of one click request: a first click near the middle of the largest garment, moved by
    ``jitter`` pixels so that no prediction comes from the server's cache."""
    import cv2

    m = max(garments(root / "annotations" / "pixel-level" / f"{stem}.mat"), key=lambda q: q.sum())
    d = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(d.argmax()), d.shape)
    x = x + (jitter % 9) - 4
    y = y + (jitter // 9 % 9) - 4
    h, w = m.shape
    region = {"type": "keypointlabels", "from_name": "kp", "to_name": "image", "original_width": w,
              "original_height": h, "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 1,
                                               "keypointlabels": ["Garment"]}, "is_positive": True, "id": "k"}
    t0 = time.perf_counter()
    r = client.post("/predict", json={"tasks": [{"id": 1, "data": {"image": f"/data/upload/{stem}.jpg"}}],
                                      "project": "1.1", "label_config": CONFIG,
                                      "params": {"context": {"result": [region]}}})
    assert r.status_code == 200, r.text
    return time.perf_counter() - t0


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def noi_rows(predictor, ds, out: Path, workers: int) -> dict:
    settings = EvalSettings(mode="noi", input_types=("point",), max_interactions=20)
    recs = evaluate_dataset(ds, predictor, settings, out, workers=workers)
    s = summarize(recs, settings)["noi"]["point"]
    first = float(np.mean([r["ious"][0] for r in recs if "ious" in r]))
    return {"objects": s["objects"], "NoI@85": s["NoI@85"], "NoI@90": s["NoI@90"], "first_click_iou": first}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ccp", type=Path, default=Path(os.environ.get("INTERSEG_TRAIN_DATA", "datasets")) / "CCP")
    ap.add_argument("--checkpoint", default="interseg_lite0")
    ap.add_argument("--stream", type=int, default=100, help="annotations (images) the team saves")
    ap.add_argument("--heldout", type=int, default=100, help="held-out images (their garments are measured)")
    ap.add_argument("--every", type=int, default=40, help="new training annotations per round")
    ap.add_argument("--steps", type=int, default=200, help="optimizer steps per round")
    ap.add_argument("--team-weight", type=float, default=LearnSettings.team_weight,
                    help="share of the team's samples in a batch")
    ap.add_argument("--lr", type=float, default=LearnSettings.lr)
    ap.add_argument("--distill", type=float, default=LearnSettings.distill,
                    help="distillation weight towards v0 on the replay samples")
    ap.add_argument("--l2sp", type=float, default=LearnSettings.l2sp,
                    help="weight of the squared distance to the base's weights in the fine-tuning loss (L2-SP)")
    ap.add_argument("--freeze", default=LearnSettings.freeze, choices=FREEZE_CHOICES,
                    help="what fine-tuning leaves as it is")
    ap.add_argument("--mix", type=float, default=LearnSettings.mix,
                    help="share of what fine-tuning changed that a round's model keeps")
    ap.add_argument("--out", type=Path, default=Path("experiments/learn_from_team"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-benchmarks", action="store_true", help="no GrabCut/Berkeley before/after")
    ap.add_argument("--rounds", type=int, default=0, help="stop streaming after this many rounds (0: never)")
    args = ap.parse_args()
    cfg = load_config()
    stems = sorted(p.stem for p in (args.ccp / "annotations" / "pixel-level").glob("*.mat"))
    order = [stems[i] for i in np.random.default_rng(0).permutation(len(stems))]
    stream = [s for s in order if garments(args.ccp / "annotations" / "pixel-level" / f"{s}.mat")][: args.stream]
    heldout = [s for s in order if s not in set(stream)][: args.heldout]
    assert not set(stream) & set(heldout)
    if (args.out / "learn").exists():
        shutil.rmtree(args.out / "learn")
    args.out.mkdir(parents=True, exist_ok=True)
    www = host(args.ccp)
    url = f"http://127.0.0.1:{www.server_port}"
    predictor = interseg.load_predictor(args.checkpoint)
    learner = Learner(args.out / "learn", predictor, cfg, LearnSettings(
        every=args.every, steps=args.steps, team_weight=args.team_weight, lr=args.lr, distill=args.distill,
        freeze=args.freeze, mix=args.mix, l2sp=args.l2sp))
    app = create_app(predictor, ServeSettings(label_studio_url=url), learner)
    from fastapi.testclient import TestClient

    results: dict = {"stream": len(stream), "heldout_images": len(heldout), "every": args.every,
                     "steps": args.steps, "rounds": []}
    with TestClient(app) as client:
        assert client.post("/setup", json={"project": "1.1", "schema": CONFIG, "hostname": url}).status_code == 200
        probe = heldout[:10]          # their images are fetched and cached once: clicks are what is timed
        for s in probe:
            click(client, s, args.ccp)
        idle = [click(client, probe[k % len(probe)], args.ccp, k + 1) for k in range(40)]
        busy: list[float] = []
        for seen, stem in enumerate(stream, 1):
            masks = garments(args.ccp / "annotations" / "pixel-level" / f"{stem}.mat")
            r = client.post("/webhook", json=event(seen, stem, masks)).json()
            assert r["status"] == "stored", r
            if learner.training:
                print(f"{seen} annotations seen: {learner.message}", flush=True)
                while learner.training:       # clicks keep being answered while the round runs
                    busy.append(click(client, probe[len(busy) % len(probe)], args.ccp, 41 + len(busy)))
                    time.sleep(0.5)
                learner.wait()
                v = learner.versions[-1]
                results["rounds"].append({"annotations_seen": seen, **vars(v)})
                print(f"  → {learner.message}", flush=True)
                if args.rounds and len(results["rounds"]) >= args.rounds:
                    break
        results["latency"] = {"idle_p50": float(np.median(idle)), "idle_p95": p95(idle),
                              "training_p50": float(np.median(busy)) if busy else None,
                              "training_p95": p95(busy), "training_clicks": len(busy)}
        # what Label Studio is told: the team's project (1) and another project (2)
        results["served"] = {
            "team project": client.post("/setup", json={"project": "1.2", "schema": CONFIG}).json()["model_version"],
            "other project": client.post("/setup", json={"project": "2.1", "schema": CONFIG})
            .json()["model_version"]}
        print(f"served: {results['served']}", flush=True)
    www.shutdown()
    # the held-out garments, for the base model and every version
    ds = Garments(args.ccp, heldout)
    table = []
    for v in learner.versions:
        p = learner.predictor_of(v)
        row = noi_rows(p, ds, args.out / "records" / f"{v.version}.jsonl", args.workers)
        seen = next((r["annotations_seen"] for r in results["rounds"] if r["version"] == v.version), 0)
        table.append({"version": v.version, "annotations_seen": seen, "accepted": v.accepted, "scope": v.scope,
                      "cpu_min": round(v.cpu_seconds / 60, 1), "train_cpu_min": round(v.train_cpu_seconds / 60, 1),
                      **row})
        print(table[-1], flush=True)
    results["heldout_garments"] = table
    if not args.skip_benchmarks:
        # v0, the team project's model and every other project's model (each once)
        measured = {v.version: v for v in (learner.versions[0], learner.current, learner.general)}
        results["benchmarks"] = {}
        for name in ("GrabCut", "Berkeley"):
            bench = build_eval_dataset(name, cfg)
            results["benchmarks"][name] = {
                v.version: noi_rows(learner.predictor_of(v), bench, args.out / "records" / f"{name}_{v.version}.jsonl",
                                    args.workers)["NoI@90"]
                for v in measured.values()}
            print(name, results["benchmarks"][name], flush=True)
        if learner.current is not learner.versions[0]:
            results["forgetting"] = forgetting(args.out / "records", "v0", learner.current.version)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    write_report(results, args.out)


def forgetting(records: Path, before: str, after: str) -> dict:
    """Where the team's model needs more clicks than ``before`` on GrabCut and Berkeley (NoI@90 per
    object, from the run's records): GrabCut's person photos (``person*``, ``tennis``: the garments'
    wearers) apart from its other objects, and how many Berkeley objects got worse / stayed / got better."""
    from interseg.evaluation.metrics import noi

    def per_object(name: str, version: str) -> dict[str, int]:
        lines = (records / f"{name}_{version}.jsonl").read_text().splitlines()
        return {r["name"]: noi(r["ious"], 0.9, 20) for r in map(json.loads, lines) if "ious" in r}

    g0, g1 = per_object("GrabCut", before), per_object("GrabCut", after)
    persons = {n for n in g0 if n.startswith(("person", "tennis"))}
    out: dict = {"versions": [before, after]}
    for part, names in (("GrabCut persons", persons), ("GrabCut others", set(g0) - persons)):
        out[part] = {"objects": len(names), before: float(np.mean([g0[n] for n in names])),
                     after: float(np.mean([g1[n] for n in names]))}
    b0, b1 = per_object("Berkeley", before), per_object("Berkeley", after)
    d = [b1[n] - b0[n] for n in b0]
    out["Berkeley worse / same / better"] = [sum(x > 0 for x in d), sum(x == 0 for x in d), sum(x < 0 for x in d)]
    return out


def write_report(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["heldout_garments"]
    lines = ["| version | annotations seen | served | held-out garments NoI@85 | NoI@90 | first-click IoU | "
             "CPU-min (training) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        served = ("team's project only" if r.get("scope") == "team" else "all projects") if r["accepted"] else "no"
        lines.append(f"| {r['version']} | {r['annotations_seen']} | {served} | "
                     f"{r['NoI@85']:.2f} | {r['NoI@90']:.2f} | {r['first_click_iou']:.3f} | "
                     f"{r['cpu_min']} ({r['train_cpu_min']}) |")
    if "served" in results:
        lines.append("\nserved at the end: " + ", ".join(f"{k} {v}" for k, v in results["served"].items()))
    if "benchmarks" in results:
        for name, vals in results["benchmarks"].items():
            lines.append(f"\n{name} click NoI@90: " + ", ".join(f"{k} {v:.2f}" for k, v in vals.items()))
    if "forgetting" in results:
        f = results["forgetting"]
        b, a = f["versions"]
        lines.append("\nwhere the team's model forgets (NoI@90 " + f"{b} → {a}): " + ", ".join(
            f"{k} ({f[k]['objects']}) {f[k][b]:.2f} → {f[k][a]:.2f}" for k in ("GrabCut persons", "GrabCut others"))
            + ", Berkeley objects worse / same / better " + " / ".join(map(str, f["Berkeley worse / same / better"])))
    lat = results["latency"]
    lines.append(f"\nclick latency p50 / p95: idle {lat['idle_p50']:.3f} / {lat['idle_p95']:.3f} s, during a round "
                 f"{lat['training_p50'] or float('nan'):.3f} / {lat['training_p95']:.3f} s "
                 f"({lat['training_clicks']} clicks)")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = [r["annotations_seen"] for r in rows]
    for key in ("NoI@85", "NoI@90"):
        ax.plot(xs, [r[key] for r in rows], "o-", label=key)
    for r in rows:
        note = "not served" if not r["accepted"] else "team's project only" if r.get("scope") == "team" else ""
        if note:
            ax.annotate(note, (r["annotations_seen"], r["NoI@85"]), textcoords="offset points", xytext=(-45, 8),
                        fontsize=7)
    ax.set_xlabel("team annotations seen")
    ax.set_ylabel("clicks (held-out garments)")
    ax.set_title("interseg serve --learn on CCP garments")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "noi_vs_annotations.png", dpi=120)


if __name__ == "__main__":
    main()
