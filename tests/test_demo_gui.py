"""The real Tk demo on a virtual screen: click on a GrabCut object, finish it, save, check the file.

Needs Xvfb and xdotool (Debian packages; scripts/test.sh installs them). Skipped locally without
them, an error in CI.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from interseg.data.image_io import load_label_map
from interseg.evaluation.metrics import iou
from interseg.interactions.errors import distance_transform

from .conftest import require_data


@contextlib.contextmanager
def _xvfb(size: str):
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI"):
            raise RuntimeError(f"{', '.join(missing)} not installed (scripts/test.sh installs them)")
        pytest.skip(f"{', '.join(missing)} not installed")
    n = next(i for i in range(71, 99) if not Path(f"/tmp/.X11-unix/X{i}").exists())
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def display():
    with _xvfb("1280x900") as d:
        yield d


def _xdo(env, *args, timeout=30):
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=timeout,
                          check=True).stdout.strip()


def _wait_for(path: Path, timeout: float = 60) -> None:
    t0 = time.time()
    while not path.exists():
        if time.time() - t0 > timeout:
            raise TimeoutError(f"{path} was not written")
        time.sleep(0.2)


def test_demo_click_finish_save_under_xvfb(display, tmp_path):
    src = require_data("GrabCut")
    img = tmp_path / "106024.jpg"
    shutil.copy(src / "data_GT" / "106024.jpg", img)
    shutil.copy(src / "data_GT" / "124080.jpg", tmp_path / "124080.jpg")   # the next image
    gt = load_label_map(src / "boundary_GT" / "106024.bmp") > 128
    out = tmp_path / "annotations"
    env = {**os.environ, "DISPLAY": display}
    demo = subprocess.Popen([sys.executable, "-m", "interseg", "demo", str(img), "--output", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        win = _xdo(env, "search", "--sync", "--name", "^interseg", timeout=120).splitlines()[0]
        time.sleep(3)  # the image is loaded and fitted after the window maps
        dt = distance_transform(gt)
        y, x = np.unravel_index(int(dt.argmax()), dt.shape)
        # the image is fitted to the canvas and centred: find the canvas (its #202020 background shows
        # around the image) on a screenshot of the window, then map the image pixel to the window
        geo = dict(line.split("=") for line in _xdo(env, "getwindowgeometry", "--shell", win).split())
        wx, wy, ww, wh = (int(geo[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
        from PIL import ImageGrab

        shot = np.asarray(ImageGrab.grab(bbox=(wx, wy, wx + ww, wy + wh), xdisplay=display).convert("RGB"))
        # the canvas's background: the large #202020 areas (a checked box in the panel is as dark, but small)
        import cv2

        dark = (shot == (32, 32, 32)).all(axis=2).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(dark)
        big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 0.01 * dark.size]
        ys, xs = np.nonzero(np.isin(labels, big))
        cx0, cy0, cx1, cy1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        h, w = gt.shape
        scale = min((cx1 - cx0) / w, (cy1 - cy0) / h)
        ox, oy = cx0 + ((cx1 - cx0) - w * scale) / 2, cy0 + ((cy1 - cy0) - h * scale) / 2
        _xdo(env, "mousemove", "--window", win, str(round(ox + (x + 0.5) * scale)),
             str(round(oy + (y + 0.5) * scale)), "click", "1")
        time.sleep(4)
        _xdo(env, "key", "--window", win, "space")
        _wait_for(out / "106024.ids.png")
        # the data-loss sequence: a second object in progress, Ctrl+S, then the next image (→)
        _xdo(env, "mousemove", "--window", win, str(round(ox + 20 * scale)), str(round(oy + 20 * scale)),
             "click", "1")
        time.sleep(4)
        _xdo(env, "key", "--window", win, "ctrl+s")
        time.sleep(1)
        _xdo(env, "key", "--window", win, "Right")
        time.sleep(2)
    finally:
        demo.terminate()
        log = demo.communicate(timeout=20)[0]
    ids = load_label_map(out / "106024.ids.png")
    mask = ids == 1
    assert mask.any(), log
    assert iou(gt, mask) > 0.5, log
    assert (out / "106024.coco.json").is_file()
    assert ids.max() == 2, log          # the object in progress saved with Ctrl+S survived the next image


# builds the demo's window at the screen's size, shows an image, and reports every button and the
# status bar (mapped? where?) with a screenshot of the window; with a height, the window is made that
# short and the panel scrolled to its end
PANEL_PROBE = """
import json, sys, tkinter as tk
from PIL import ImageGrab
from interseg.demo.app import DemoApp
from interseg.demo.controller import AnnotationController
from interseg.inference.grabcut import GrabCutPredictor
root = tk.Tk()
c = AnnotationController(GrabCutPredictor())
app = DemoApp(root, c)
if len(sys.argv) > 3:
    root.geometry(f"{root.winfo_screenwidth()}x{sys.argv[3]}")
c.open(sys.argv[1])
for _ in range(3):
    root.update()
if len(sys.argv) > 3:
    app._panel_view.yview_moveto(1.0)
    root.update()
def walk(w):
    for ch in w.winfo_children():
        yield ch
        yield from walk(ch)
found = [{"text": w.cget("text"), "mapped": bool(w.winfo_ismapped()), "x": w.winfo_rootx(), "y": w.winfo_rooty(),
          "w": w.winfo_width(), "h": w.winfo_height()}
         for w in [*(b for b in walk(root) if b.winfo_class() == "TButton"), app.status]]
win = {"x": root.winfo_rootx(), "y": root.winfo_rooty(), "w": root.winfo_width(), "h": root.winfo_height()}
ImageGrab.grab(bbox=(0, 0, root.winfo_screenwidth(), root.winfo_screenheight()), xdisplay=sys.argv[2]).save(
    sys.argv[1] + ".shot.png")
print(json.dumps({"window": win, "widgets": found}))
root.destroy()
"""

ACTIONS = ("Open image…", "Open folder…", "◀ Previous", "Next ▶", "Load mask to refine…", "Save (Ctrl+S)",
           "Undo (Ctrl+Z)", "Redo (Ctrl+Y)", "Reset object (Esc)", "Finish object (Space)")


def _probe_panel(display: str, tmp_path: Path, height: int | None = None) -> tuple[dict, np.ndarray]:
    src = require_data("GrabCut")
    img = tmp_path / "106024.jpg"
    shutil.copy(src / "data_GT" / "106024.jpg", img)
    argv = [sys.executable, "-c", PANEL_PROBE, str(img), display, *([str(height)] if height else [])]
    r = subprocess.run(argv, env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    from PIL import Image

    return json.loads(r.stdout.strip().splitlines()[-1]), np.asarray(Image.open(str(img) + ".shot.png").convert("L"))


def _visible(w: dict, win: dict, shot: np.ndarray) -> bool:
    """Mapped, wholly inside the window, and drawn: its pixels on the screenshot are not one flat colour
    (a button shows its frame and text)."""
    inside = (w["x"] >= win["x"] and w["y"] >= win["y"] and w["x"] + w["w"] <= win["x"] + win["w"]
              and w["y"] + w["h"] <= win["y"] + win["h"])
    pixels = shot[w["y"]:w["y"] + w["h"], w["x"]:w["x"] + w["w"]]
    return w["mapped"] and inside and pixels.size > 0 and float(pixels.std()) > 10


def test_panel_fits_a_1024x700_window(tmp_path):
    """Every action button and the status bar show in a 1024x700 window (the screen's size)."""
    with _xvfb("1024x700") as display:
        report, shot = _probe_panel(display, tmp_path)
    win = report["window"]
    assert (win["w"], win["h"]) == (1024, 700)
    widgets = {w["text"]: w for w in report["widgets"]}
    for label in (*ACTIONS, "Relabel", "Delete"):
        assert _visible(widgets[label], win, shot), f"{label!r} is not visible: {widgets[label]}"
    status = report["widgets"][-1]
    assert status["text"].startswith("106024.jpg") and _visible(status, win, shot)


def test_panel_scrolls_in_a_shorter_window(tmp_path):
    """Below 700 px the panel scrolls: at its end the last buttons show, and the status bar stays."""
    with _xvfb("1024x700") as display:
        report, shot = _probe_panel(display, tmp_path, height=480)
    win = report["window"]
    widgets = {w["text"]: w for w in report["widgets"]}
    assert _visible(widgets["Finish object (Space)"], win, shot)
    assert _visible(report["widgets"][-1], win, shot)
