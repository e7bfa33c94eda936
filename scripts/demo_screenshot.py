"""Take the README's screenshot of the annotation demo on a virtual screen (Xvfb + xdotool + ImageMagick).

Opens a bundled sample image, draws a contour a little outside the object, adds a positive click,
and captures the window: docs/demo.png.
Usage: python scripts/demo_screenshot.py [--checkpoint NAME|PATH] [--image IMG --gt MASK] [-o docs/demo.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from interseg.data.image_io import load_label_map
from interseg.interactions.errors import distance_transform

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "interseg" / "resources" / "sample"


def xdo(env: dict, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="model (default: the default shipped model)")
    ap.add_argument("--image", type=Path, default=SAMPLE / "img" / "horse00_000000281447.jpg")
    ap.add_argument("--gt", type=Path, default=SAMPLE / "gt" / "horse00_000000281447.png")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "demo.png")
    args = ap.parse_args()
    for tool in ("Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install xvfb xdotool imagemagick)")

    gt = load_label_map(args.gt) > 0
    ring = cv2.dilate(gt.astype(np.uint8), np.ones((25, 25), np.uint8))
    contours, _ = cv2.findContours(ring, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)[:, 0, :]
    outline = outline[np.linspace(0, len(outline) - 1, 40).astype(int)]
    y, x = np.unravel_index(int(distance_transform(gt).argmax()), gt.shape)

    display = next(f":{i}" for i in range(80, 99) if not Path(f"/tmp/.X11-unix/X{i}").exists())
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": display}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "interseg", "demo", str(args.image), "--output", tmp]
        if args.checkpoint:
            cmd += ["--checkpoint", args.checkpoint]
        demo = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(1)
            win = xdo(env, "search", "--sync", "--name", "^interseg").splitlines()[0]
            time.sleep(4)
            xdo(env, "key", "--window", win, "2")  # contour
            xdo(env, "mousemove", "--window", win, str(outline[0][0]), str(outline[0][1]), "mousedown", "1")
            for px, py in outline[1:]:
                xdo(env, "mousemove", "--window", win, str(px), str(py))
                time.sleep(0.03)
            xdo(env, "mouseup", "1")
            time.sleep(4)
            xdo(env, "key", "--window", win, "1")  # click
            xdo(env, "mousemove", "--window", win, str(x), str(y), "click", "1")
            time.sleep(4)
            args.output.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["import", "-window", win, str(args.output)], env=env, check=True, timeout=60)
        finally:
            demo.terminate()
            log = demo.communicate(timeout=30)[0]
            xvfb.terminate()
    if log.strip():
        print(log)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
