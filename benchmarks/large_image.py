"""Large photos: seconds per click and peak memory on a real photo upscaled to 12 MP and to 49 MP,
before (the network on the whole image as it is, ``max_size=0``) and after (the default: the whole
image at 640 px for the network, ZoomIn crops read from the full-resolution image), in one run; and
the quality check: GrabCut upscaled x4 (each side) against the native images, click NoI@90.

    INTERSEG_DATA=../shared/datasets python benchmarks/large_image.py [--skip-quality]

Each configuration runs in its own process (peak RSS is that process's); one whose memory passes
--memory-cap GB is stopped and reported as such rather than left to take the machine down.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

PHOTO = "person7"   # a GrabCut photo (600 x 450)
CHILD = r"""
import json, sys, time
import cv2, numpy as np
import interseg
from interseg.interactions.users import SimulatedUser

root, name, mp, max_size, clicks = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ds = interseg.open_dataset("GrabCut", root)
s = ds[ds.index_of(name)]
h, w = s.shape
k = (mp * 1e6 / (h * w)) ** 0.5
H, W = round(h * k), round(w * k)
image = cv2.resize(s.image, (W, H), interpolation=cv2.INTER_CUBIC)
gt = cv2.resize(s.gt.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).astype(bool)
del s
predictor = interseg.load_predictor(**({} if max_size < 0 else {"max_size": max_size}))
session = interseg.Session(image, predictor)
user = SimulatedUser(0)
times = []
for _ in range(clicks):
    c = user.next("point", gt, session.mask, None, session.interactions)
    t0 = time.perf_counter()
    session.add(c)
    times.append(time.perf_counter() - t0)
print(json.dumps({"size": f"{W}x{H}", "mp": W * H / 1e6, "seconds": times,
                  "iou": interseg.iou(gt, session.mask)}))
"""


def _rss_mb(pid: int, key: str = "VmRSS:") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def run_case(root: Path, mp: float, max_size: int, clicks: int, cap_mb: float) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), PHOTO, str(mp), str(max_size), str(clicks)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, t0 = 0.0, time.monotonic()
    while proc.poll() is None:
        peak = max(peak, _rss_mb(proc.pid), _rss_mb(proc.pid, "VmHWM:"))
        if peak > cap_mb:
            proc.kill()
            proc.wait()
            return {"stopped": True, "peak_mb": peak, "after_s": time.monotonic() - t0}
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}", "peak_mb": peak}
    return {**json.loads(out.strip().splitlines()[-1]), "peak_mb": peak}


def quality(root: Path, workers: int) -> None:
    import interseg
    from interseg.config import load_config
    from interseg.evaluation.benchmark import run_benchmark
    from interseg.evaluation.protocol import EvalSettings

    ds = interseg.open_dataset("GrabCut", root)
    cfg = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {}
        for scale in (1, 4):
            d = Path(tmp) / f"x{scale}"
            (d / "images").mkdir(parents=True)
            (d / "masks").mkdir()
            for i in range(len(ds)):
                s = ds[i]
                h, w = s.shape
                size = (w * scale, h * scale)
                img = cv2.resize(s.image, size, interpolation=cv2.INTER_CUBIC) if scale > 1 else s.image
                lab = np.where(s.ignore, 128, np.where(s.gt, 255, 0)).astype(np.uint8)
                lab = cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST) if scale > 1 else lab
                cv2.imwrite(str(d / "images" / f"{s.name}.png"), img[:, :, ::-1])
                cv2.imwrite(str(d / "masks" / f"{s.name}.png"), lab)
            sets[scale] = f"folder:{d}?ignore=128"
        predictor = interseg.load_predictor()
        res = run_benchmark({predictor.name: predictor}, list(sets.values()), cfg,
                            EvalSettings(mode="noi", input_types=("point",)), Path(tmp) / "eval", workers=workers,
                            log=lambda *_: None)
        rows = res["predictors"][predictor.name]
        n1, n4 = (rows[sets[s]]["noi"]["point"]["NoI@90"] for s in (1, 4))
        print(f"\nquality: GrabCut click NoI@90 native {n1:.2f}, upscaled x4 (e.g. {ds[0].shape[1] * 4}x"
              f"{ds[0].shape[0] * 4}) {n4:.2f}: difference {n4 - n1:+.2f} (target within 0.5)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=3)
    ap.add_argument("--memory-cap", type=float, default=10, help="GB at which a configuration is stopped")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    root = Path(os.environ.get("INTERSEG_DATA", "datasets")) / "GrabCut"
    print(f"GrabCut {PHOTO} upscaled, interseg_lite0, {args.clicks} RITM clicks, {os.cpu_count()} CPU cores")
    print(f"{'image':>16} | {'network input':>28} | {'s per click':>11} | {'first click s':>13} | "
          f"{'peak RSS MB':>11} | IoU")
    for mp in (12, 49):
        for label, max_size in (("before: whole image as is", 0), ("after: 640 + ZoomIn crops", -1)):
            r = run_case(root, mp, max_size, args.clicks, args.memory_cap * 1024)
            if r.get("stopped"):
                print(f"{mp:>13} MP | {label:>28} | stopped: over {args.memory_cap:.0f} GB after {r['after_s']:.0f} s")
                continue
            if "error" in r:
                print(f"{mp:>13} MP | {label:>28} | failed: {r['error']} (peak {r['peak_mb']:.0f} MB)")
                continue
            secs = r["seconds"]
            print(f"{r['size']:>16} | {label:>28} | {np.mean(secs):>11.2f} | {secs[0]:>13.2f} | "
                  f"{r['peak_mb']:>11.0f} | {r['iou']:.3f}", flush=True)
    if not args.skip_quality:
        quality(root, args.workers)


if __name__ == "__main__":
    main()
