"""Load on `interseg serve`: N simulated annotators (1, 4, 16) clicking on real GrabCut objects through
the JSON API on 127.0.0.1, each for a bounded time; prints requests/s, p50/p95 latency, errors (503 =
the bounded queue said "busy"; the annotator waits 0.2 s and resends), the server's peak memory, and
the cost of a request with one more click against a full replay of all its clicks.

    INTERSEG_DATA=../shared/datasets python benchmarks/serve_load.py [--seconds 20] [--workers 2]

Each annotator takes the next object, clicks near where the RITM simulated user would (from the mask
the server returned; each annotator's clicks jittered by up to 3 px with its own seed, so that no two
requests are alike and every request costs a network pass), up to 8 clicks or 90 % IoU, then moves on,
sending every click so far each time, as Label Studio does.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

import interseg
from interseg.interactions.users import SimulatedUser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Annotator(threading.Thread):
    def __init__(self, base: str, objects: list, start_index: int, stop_at: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.base, self.objects, self.i, self.stop_at = base, objects, start_index, stop_at
        self.user = SimulatedUser(seed)
        self.rng = np.random.default_rng(seed)
        self.latencies: list[float] = []
        self.errors: dict[int, int] = {}

    def post(self, client: httpx.Client, body: dict) -> np.ndarray | None:
        while time.monotonic() < self.stop_at:
            t0 = time.perf_counter()
            r = client.post(f"{self.base}/v1/segment", json=body)
            if r.status_code == 200:
                self.latencies.append(time.perf_counter() - t0)
                return np.asarray(Image.open(io.BytesIO(r.content))) > 0
            self.errors[r.status_code] = self.errors.get(r.status_code, 0) + 1
            if r.status_code != 503:
                return None
            time.sleep(0.2)
        return None

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while time.monotonic() < self.stop_at:
                image_id, sample = self.objects[self.i % len(self.objects)]
                self.i += 1
                mask = np.zeros(sample.shape, bool)
                clicks: list = []
                for _ in range(8):
                    c = self.user.next("point", sample.gt, mask, sample.ignore, clicks)
                    h, w = sample.shape
                    dx, dy = self.rng.uniform(-3, 3, 2)
                    c = type(c)(float(np.clip(c.x + dx, 0, w - 1)), float(np.clip(c.y + dy, 0, h - 1)), c.positive)
                    clicks.append(c)
                    body = {"image_id": image_id, "interactions": [{"type": "point", "positive": c.positive,
                                                                    "points": [[c.x, c.y]]} for c in clicks]}
                    got = self.post(client, body)
                    if got is None:
                        break
                    mask = got
                    if interseg.iou(sample.gt, mask, sample.ignore) >= 0.9:
                        break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20, help="duration of each load level")
    ap.add_argument("--levels", default="1,4,16", help="numbers of simultaneous annotators")
    ap.add_argument("--workers", type=int, default=2, help="the server's --workers")
    ap.add_argument("--max-queue", type=int, default=8, help="the server's --max-queue")
    ap.add_argument("--checkpoint", default="interseg_lite0")
    ap.add_argument("--objects", type=int, default=12, help="GrabCut objects the annotators work on")
    args = ap.parse_args()

    root = Path(os.environ.get("INTERSEG_DATA", "datasets")) / "GrabCut"
    ds = interseg.open_dataset("GrabCut", root)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "interseg", "serve", "--cpu", "--port", str(port),
                               "--checkpoint", args.checkpoint, "--workers", str(args.workers),
                               "--max-queue", str(args.max_queue), "--log-level", "warning"])
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        objects = []
        for i in range(min(args.objects + 1, len(ds))):   # the last one: the replay measurement below
            data = ds.image_path(ds.items[i]).read_bytes()
            up = httpx.post(f"{base}/v1/images", content=data, timeout=60).json()
            objects.append((up["image_id"], ds[i]))
        print(f"interseg serve --workers {args.workers} --max-queue {args.max_queue}, {args.checkpoint}, "
              f"{len(objects) - 1} GrabCut objects, {args.seconds:.0f} s per level, {os.cpu_count()} CPU cores")
        print(f"{'annotators':>10} | {'requests/s':>10} | {'p50 ms':>7} | {'p95 ms':>7} | {'503 busy':>8} | "
              f"{'other errors':>12} | {'server peak RSS MB':>18}")
        for n in [int(v) for v in args.levels.split(",") if v.strip()]:
            stop_at = time.monotonic() + args.seconds
            team = [Annotator(base, objects[:-1], k * 3, stop_at, seed=1000 * n + k) for k in range(n)]
            t0 = time.monotonic()
            for a in team:
                a.start()
            for a in team:
                a.join()
            elapsed = time.monotonic() - t0
            lat = sorted(x for a in team for x in a.latencies)
            busy = sum(a.errors.get(503, 0) for a in team)
            other = sum(v for a in team for k, v in a.errors.items() if k != 503)
            p50 = statistics.median(lat) * 1000 if lat else float("nan")
            p95 = lat[int(0.95 * (len(lat) - 1))] * 1000 if lat else float("nan")
            print(f"{n:>10} | {len(lat) / elapsed:>10.2f} | {p50:>7.0f} | {p95:>7.0f} | {busy:>8} | {other:>12} | "
                  f"{_peak_rss_mb(server.pid):>18.0f}", flush=True)

        # one more click against a full replay, same clicks, on the idle server
        image_id, sample = objects[-1]
        user = SimulatedUser(99)
        mask, clicks = np.zeros(sample.shape, bool), []
        inc, full = [], []
        with httpx.Client(timeout=120) as client:
            for _ in range(8):
                c = user.next("point", sample.gt, mask, sample.ignore, clicks)
                clicks.append(c)
                body = {"image_id": image_id, "format": "rle",
                        "interactions": [{"type": "point", "positive": c.positive, "points": [[c.x, c.y]]}
                                         for c in clicks]}
                t0 = time.perf_counter()     # the clicks before this one are cached: one pass
                r = client.post(f"{base}/v1/segment", json=body)
                inc.append(time.perf_counter() - t0)
                assert r.json()["passes"] == 1, r.json()
                t0 = time.perf_counter()
                r = client.post(f"{base}/v1/segment", json={**body, "cache": False})
                full.append(time.perf_counter() - t0)
                assert r.json()["passes"] == len(clicks)
                png = client.post(f"{base}/v1/segment", json={**body, "format": "png"})
                mask = np.asarray(Image.open(io.BytesIO(png.content))) > 0
        print("\nclicks in the request:        " + " ".join(f"{k:>6}" for k in range(1, len(clicks) + 1)))
        print("full replay (cache off), ms:  " + " ".join(f"{t * 1000:>6.0f}" for t in full))
        print("served from the cache, ms:    " + " ".join(f"{t * 1000:>6.0f}" for t in inc))
        print(f"one more click costs one pass: request with {len(clicks)} clicks {inc[-1] * 1000:.0f} ms from the "
              f"cache vs {full[-1] * 1000:.0f} ms replayed (x{full[-1] / max(inc[-1], 1e-9):.1f})")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
