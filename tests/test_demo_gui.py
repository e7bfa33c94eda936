"""The real Tk demo on a virtual screen: click on a GrabCut object, finish it, save, check the file.

Needs Xvfb and xdotool (Debian packages; scripts/test.sh installs them). Skipped locally without
them, an error in CI.
"""

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


@pytest.fixture
def display():
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI"):
            raise RuntimeError(f"{', '.join(missing)} not installed (scripts/test.sh installs them)")
        pytest.skip(f"{', '.join(missing)} not installed")
    n = next(i for i in range(71, 99) if not Path(f"/tmp/.X11-unix/X{i}").exists())
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    proc.wait(10)


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
        ys, xs = np.nonzero((shot == (32, 32, 32)).all(axis=2))
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
