"""End to end against a real Label Studio (the pip package, in its own virtual environment made by
scripts/test.sh): a project with smart key points, rectangles and brushes, a real GrabCut photo
uploaded to it, `interseg serve` registered as its interactive ML backend, and the interactive
annotating requests Label Studio's UI sends for (a) two positive key points, (b) a rectangle and (c) a
brush stroke; each returned brush mask is checked against the ground truth, saved as an annotation
through Label Studio's API and read back. The server runs as a team would run it: Basic Auth (Label
Studio connects with its BASIC_AUTH method; its webhook gets the header), pinned to this Label Studio,
learning: a saved annotation arrives in the learning set through Label Studio's webhook, Label Studio's
training action starts a (tiny) round, and Label Studio sees the new model version."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

import interseg
from interseg.evaluation.metrics import iou
from interseg.serve.brush_rle import decode_mask, encode_mask

from .conftest import free_port, label_studio_tool, require_data

pytestmark = pytest.mark.e2e

NAME = "106024"
CONFIG = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <BrushLabels name="brush" toName="image"><Label value="Object" background="#FF0000"/></BrushLabels>
  <KeyPointLabels name="kp" toName="image" smart="true">
    <Label value="Object" smart="true" background="#00FF00" showInline="true"/>
  </KeyPointLabels>
  <RectangleLabels name="rect" toName="image" smart="true">
    <Label value="Object" background="#0000FF" showInline="true"/>
  </RectangleLabels>
</View>"""


def _wait(url: str, proc: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not up after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    exe = label_studio_tool("label-studio")
    data = tmp_path_factory.mktemp("ls-data")
    port, token, password = free_port(), secrets.token_hex(20), secrets.token_hex(8)
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LABEL_STUDIO_ML_BLOCK_LOCAL_IP": "false",
           "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false", "SENTRY_DSN": "",
           "LABEL_STUDIO_COLLECT_ANALYTICS": "false", "LABEL_STUDIO_HOST": f"http://127.0.0.1:{port}"}
    log = data / "label-studio.log"
    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen([str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
                                 "--username", "ci@example.com", "--password", password,
                                 "--user-token", token, "--enable-legacy-api-token"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=data)
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc, 300, log)
        print(f"Label Studio up in {time.monotonic() - t0:.0f} s")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Token {token}"},
                              timeout=120)
        client.login = ("ci@example.com", password)
        yield client
    finally:
        proc.terminate()
        proc.wait(30)


AUTH = ("e2e", secrets.token_hex(8))


@pytest.fixture(scope="module")
def model_server(tmp_path_factory, label_studio):
    port = free_port()
    folder = tmp_path_factory.mktemp("serve")
    log = folder / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "interseg", "serve", "--cpu", "--port", str(port),
                                 "--basic-auth", f"{AUTH[0]}:{AUTH[1]}",
                                 "--label-studio-url", str(label_studio.base_url).rstrip("/"),
                                 "--learn", str(folder / "learn"), "--learn-every", "1000", "--learn-steps", "2",
                                 "--learn-swap", "always", "--replay", ""],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc, 120, log)
        server = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=AUTH, timeout=60)
        server.url, server.log = f"http://127.0.0.1:{port}", log
        yield server
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def project(label_studio, model_server):
    ls = label_studio
    made = ls.post("/api/projects/", json={"title": "interseg e2e", "label_config": CONFIG})
    pid = made.raise_for_status().json()["id"]
    photo = require_data("GrabCut") / "data_GT" / f"{NAME}.jpg"
    with photo.open("rb") as f:
        ls.post(f"/api/projects/{pid}/import", files={"file": (photo.name, f, "image/jpeg")}).raise_for_status()
    task = ls.get("/api/tasks/", params={"project": pid}).raise_for_status().json()
    task = (task["tasks"] if isinstance(task, dict) else task)[0]
    assert task["data"]["image"].startswith("/data/upload/")
    # refused without the credentials, connected with them (Label Studio's Basic Auth method)
    bad = ls.post("/api/ml", json={"project": pid, "url": model_server.url, "title": "no auth", "is_interactive": True})
    assert bad.status_code >= 400 or bad.json().get("readable_state") != "Connected", bad.text
    if bad.status_code < 400:
        ls.delete(f"/api/ml/{bad.json()['id']}")
    ml = ls.post("/api/ml", json={"project": pid, "url": model_server.url, "title": "interseg", "is_interactive": True,
                                  "auth_method": "BASIC_AUTH", "basic_auth_user": AUTH[0],
                                  "basic_auth_pass": AUTH[1]}).raise_for_status().json()
    assert ml["readable_state"] == "Connected", ml
    # the annotation webhook Label Studio made for the backend carries no credentials: give it the header
    hooks = ls.get("/api/webhooks/", params={"project": pid}).raise_for_status().json()
    hook = next(h for h in hooks if h["url"].startswith(model_server.url))
    basic = "Basic " + base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    ls.patch(f"/api/webhooks/{hook['id']}/", json={"headers": {"Authorization": basic}}).raise_for_status()
    return {"id": pid, "task": task["id"], "ml": ml["id"]}


@pytest.fixture(scope="module")
def grabcut():
    ds = interseg.open_dataset("GrabCut", require_data("GrabCut"))
    return ds[ds.index_of(NAME)]


def _region(kind: str, value: dict, w: int, h: int, rid: str, from_name: str) -> dict:
    return {"id": rid, "type": kind, "from_name": from_name, "to_name": "image", "original_width": w,
            "original_height": h, "image_rotation": 0, "value": value, "is_positive": True, "origin": "manual"}


def _regions(grabcut) -> dict[str, list[dict]]:
    h, w = grabcut.shape
    dist = cv2.distanceTransform(grabcut.gt.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(dist.argmax(), dist.shape)
    ys, xs = np.nonzero(grabcut.gt)
    y2 = int(ys.min() + 0.3 * (ys.max() - ys.min()))
    x2 = int(np.nonzero(grabcut.gt[y2])[0].mean())
    kp = [_region("keypointlabels", {"x": 100 * px / w, "y": 100 * py / h, "width": 0.5, "keypointlabels": ["Object"]},
                  w, h, f"k{i}", "kp") for i, (px, py) in enumerate(((x, y), (x2, y2)))]
    x0, y0, x1, y1 = xs.min() - 6, ys.min() - 6, xs.max() + 6, ys.max() + 6
    rect = _region("rectanglelabels", {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                                       "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": ["Object"]},
                   w, h, "r", "rect")
    paint = np.zeros((h, w), np.uint8)
    cv2.line(paint, (int(x) - 60, int(y) - 20), (int(x) + 60, int(y) + 20), 1, 9)
    paint = paint.astype(bool) & (dist > 6)
    brush = _region("brushlabels", {"format": "rle", "rle": encode_mask(paint), "brushlabels": ["Object"]},
                    w, h, "b", "brush")
    return {"keypoints": kp, "rectangle": [rect], "brush": [brush]}


@pytest.mark.parametrize("what", ["keypoints", "rectangle", "brush"])
def test_label_studio_interactive_annotation(label_studio, project, grabcut, what):
    h, w = grabcut.shape
    t0 = time.monotonic()
    r = label_studio.post(f"/api/ml/{project['ml']}/interactive-annotating",
                          json={"task": project["task"], "context": {"result": _regions(grabcut)[what]}})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    (res,) = data["result"]
    assert res["type"] == "brushlabels" and res["value"]["brushlabels"] == ["Object"]
    assert (res["original_width"], res["original_height"]) == (w, h)
    mask = decode_mask(res["value"]["rle"], h, w)
    score = iou(grabcut.gt, mask, grabcut.ignore)
    print(f"{what}: IoU {score:.3f} in {time.monotonic() - t0:.2f} s through Label Studio")
    assert score > 0.8
    # the annotator accepts it: saved as an annotation, read back identical
    ann = label_studio.post(f"/api/tasks/{project['task']}/annotations/", json={"result": [res]})
    assert ann.status_code == 201, ann.text
    back = label_studio.get(f"/api/annotations/{ann.json()['id']}/").raise_for_status().json()
    stored = next(x for x in back["result"] if x["type"] == "brushlabels")
    np.testing.assert_array_equal(decode_mask(stored["value"]["rle"], h, w), mask)


def test_screenshot_of_the_returned_mask(label_studio, project, grabcut):
    """With INTERSEG_LS_SCREENSHOT=path.png (and selenium + Debian's chromium-driver installed), a picture
    of Label Studio's labeling page showing a mask interseg returned; skipped otherwise."""
    out = os.environ.get("INTERSEG_LS_SCREENSHOT")
    if not out:
        pytest.skip("set INTERSEG_LS_SCREENSHOT=path.png to take the screenshot")
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    r = label_studio.post(f"/api/ml/{project['ml']}/interactive-annotating",
                          json={"task": project["task"], "context": {"result": _regions(grabcut)["keypoints"]}})
    (res,) = r.raise_for_status().json()["data"]["result"]
    label_studio.post(f"/api/tasks/{project['task']}/annotations/", json={"result": [res]}).raise_for_status()
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"), options=opts)
    try:
        base = str(label_studio.base_url).rstrip("/")
        driver.get(f"{base}/user/login/")
        driver.find_element(By.NAME, "email").send_keys(label_studio.login[0])
        driver.find_element(By.NAME, "password").send_keys(label_studio.login[1])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
        time.sleep(3)
        driver.get(f"{base}/projects/{project['id']}/data?task={project['task']}")
        time.sleep(12)
        driver.save_screenshot(out)
    finally:
        driver.quit()
    assert Path(out).stat().st_size > 10_000


def test_saved_annotations_reach_the_learning_set_and_training_changes_the_model_version(
        label_studio, project, model_server, grabcut):
    """An annotation saved in Label Studio arrives through its webhook; its training action starts a round
    (2 steps) in the server; the swapped version is what Label Studio then reports and receives."""
    h, w = grabcut.shape
    before = model_server.get("/health").raise_for_status().json()
    assert before["model_version"] == "interseg-interseg_lite0-v0"
    region = _region("brushlabels", {"format": "rle", "rle": encode_mask(grabcut.gt), "brushlabels": ["Object"]},
                     w, h, "saved", "brush")
    ann = label_studio.post(f"/api/tasks/{project['task']}/annotations/", json={"result": [region]})
    assert ann.status_code == 201, ann.text
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and not stored:
        records = model_server.get("/health").json()["learning"]["annotations"]
        stored = records >= before["learning"]["annotations"] + 1
        time.sleep(1)
    assert stored, model_server.log.read_text()[-3000:]
    t0 = time.monotonic()
    r = label_studio.post(f"/api/ml/{project['ml']}/train", json={})
    assert r.status_code in (200, 201), r.text
    learning = {}
    while time.monotonic() - t0 < 600:
        learning = model_server.get("/health").json()["learning"]
        if not learning["training"] and len(learning["versions"]) > 1:
            break
        time.sleep(2)
    print(f"round in {time.monotonic() - t0:.0f} s: {learning['message']}")
    assert learning["versions"][-1]["version"] == "v1" and learning["version"] == "v1", learning
    # Label Studio asks the backend again (its state update) and gets the new version
    ml = label_studio.get(f"/api/ml/{project['ml']}").raise_for_status().json()
    r = label_studio.post(f"/api/ml/{project['ml']}/interactive-annotating",
                          json={"task": project["task"], "context": {"result": _regions(grabcut)["keypoints"]}})
    assert r.status_code == 200 and r.json()["data"]["model_version"] == "interseg-interseg_lite0-v1", r.text
    print(f"Label Studio's backend record: model_version {ml.get('model_version')!r}")
