"""interseg serve: Label Studio's ML backend protocol and the JSON API, with the app's test client,
on a real GrabCut photo served by a local HTTP server; bad input of every kind; the brush RLE codec
(against Label Studio's own SDK where its environment is installed)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pycocotools import mask as mask_utils

import interseg
from interseg.evaluation.metrics import iou
from interseg.serve.app import Server, ServeSettings, create_app
from interseg.serve.brush_rle import decode_mask, encode_mask
from interseg.serve.images import ServeError

from .conftest import label_studio_tool, require_data, serve_folder

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <BrushLabels name="brush" toName="image"><Label value="Object"/></BrushLabels>
  <KeyPointLabels name="kp" toName="image" smart="true"><Label value="Object" smart="true"/></KeyPointLabels>
  <RectangleLabels name="rect" toName="image" smart="true"><Label value="Object"/></RectangleLabels>
</View>"""
NAME = "106024"


@pytest.fixture(scope="module")
def grabcut():
    ds = interseg.open_dataset("GrabCut", require_data("GrabCut"))
    return ds[ds.index_of(NAME)]


@pytest.fixture(scope="module")
def image_host(tmp_path_factory, grabcut):
    """A plain HTTP server on 127.0.0.1 serving the photo, a huge image, a truncated JPEG and a redirect."""
    root = tmp_path_factory.mktemp("www")
    src = require_data("GrabCut") / "data_GT" / f"{NAME}.jpg"
    (root / "photo.jpg").write_bytes(src.read_bytes())
    data = src.read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 2])
    Image.new("L", (9000, 9000)).save(root / "huge.png")       # 81 MP, over the 80 MP limit
    httpd = serve_folder(root, {"/redirect": "http://127.0.0.2:9/secret.jpg"})
    yield httpd
    httpd.shutdown()


@pytest.fixture(scope="module")
def client(image_host):
    app = create_app(interseg.load_predictor(), ServeSettings(workers=1, max_queue=4))
    with TestClient(app, raise_server_exceptions=False) as c:
        base = f"http://127.0.0.1:{image_host.server_port}"
        r = c.post("/setup", json={"project": "7.1700000000", "schema": CONFIG, "hostname": base,
                                   "access_token": "secret-token"})
        assert r.status_code == 200 and r.json()["model_version"].startswith("interseg-interseg_lite0-")
        c.base = base
        yield c


def _task(url="/photo.jpg"):
    return {"id": 1, "data": {"image": url}}


def _kp(x, y, w, h, positive=True, rid="a"):
    return {"type": "keypointlabels", "from_name": "kp", "to_name": "image", "original_width": w,
            "original_height": h, "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 1,
                                             "keypointlabels": ["Object"]}, "is_positive": positive, "id": rid}


def _predict(client, regions, task=None):
    return client.post("/predict", json={"tasks": [task or _task()], "project": "7.1700000000", "label_config": CONFIG,
                                         "params": {"context": {"result": regions}}})


def _mask_of(response, h, w):
    res = response.json()["results"][0]["result"][0]
    assert res["type"] == "brushlabels" and res["from_name"] == "brush" and res["to_name"] == "image"
    assert (res["original_width"], res["original_height"]) == (w, h)
    assert res["value"]["brushlabels"] == ["Object"]
    return decode_mask(res["value"]["rle"], h, w)


def _deepest(gt):
    import cv2

    d = cv2.distanceTransform(gt.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(d.argmax(), d.shape)
    return float(x), float(y)


def test_health_and_webhook(client):
    assert client.get("/health").json()["status"] == "UP"
    assert client.post("/webhook", json={"action": "ANNOTATION_CREATED"}).json()["status"] == "ignored"


def test_keypoints_give_the_object_and_one_more_click_costs_one_pass(client, grabcut, image_host):
    h, w = grabcut.shape
    x, y = _deepest(grabcut.gt)
    r = _predict(client, [_kp(x, y, w, h)])
    assert r.status_code == 200, r.text
    m1 = _mask_of(r, h, w)
    assert iou(grabcut.gt, m1, grabcut.ignore) > 0.85
    assert image_host.auth[-1] == "Token secret-token"     # relative upload URL fetched with the token
    before = client.get("/health").json()
    second = [_kp(x, y, w, h), _kp(x, y - 30, w, h, rid="b")]
    m2 = _mask_of(_predict(client, second), h, w)
    after = client.get("/health").json()
    assert after["passes"] - before["passes"] == 1 and after["reused"] - before["reused"] == 1
    # the cached path gives what a full replay gives
    fresh = interseg.Session(grabcut.image, interseg.load_predictor(max_size=1024))
    for p in ((x, y), (x, y - 30)):
        fresh.add(interseg.Click(p[0] * 1.0, p[1] * 1.0))
    ref = interseg.load_predictor()
    s = interseg.Session(grabcut.image, ref)
    s.add(interseg.Click(x, y))
    s.add(interseg.Click(x, y - 30))
    np.testing.assert_array_equal(m2, s.mask)


def test_rectangle_and_brush_regions(client, grabcut):
    h, w = grabcut.shape
    ys, xs = np.nonzero(grabcut.gt)
    x0, y0, x1, y1 = xs.min() - 5, ys.min() - 5, xs.max() + 5, ys.max() + 5
    rect = {"type": "rectanglelabels", "original_width": w, "original_height": h, "id": "r",
            "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                      "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": ["Object"]}}
    assert iou(grabcut.gt, _mask_of(_predict(client, [rect]), h, w), grabcut.ignore) > 0.85
    import cv2

    # a polygon drawn around the object (its outline, simplified to 12 points) is a contour
    outline = max(cv2.findContours(grabcut.gt.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0],
                  key=len)[:, 0, :]
    pts = outline[np.linspace(0, len(outline) - 1, 12).astype(int)]
    poly = {"type": "polygonlabels", "original_width": w, "original_height": h, "id": "p",
            "value": {"points": [[100 * px / w, 100 * py / h] for px, py in pts.tolist()],
                      "polygonlabels": ["Object"]}}
    assert iou(grabcut.gt, _mask_of(_predict(client, [poly]), h, w), grabcut.ignore) > 0.85

    paint = np.zeros((h, w), np.uint8)
    x, y = _deepest(grabcut.gt)
    cv2.line(paint, (int(x) - 60, int(y) - 20), (int(x) + 60, int(y) + 20), 1, 9)   # a 9-px brush...
    inner = cv2.distanceTransform(grabcut.gt.astype(np.uint8), cv2.DIST_L2, 5) > 6
    paint = paint.astype(bool) & inner                                               # ...on the object
    assert paint.sum() > 300
    brush = {"type": "brushlabels", "original_width": w, "original_height": h, "id": "b",
             "value": {"format": "rle", "rle": encode_mask(paint), "brushlabels": ["Object"]}}
    assert iou(grabcut.gt, _mask_of(_predict(client, [brush]), h, w), grabcut.ignore) > 0.8


def test_no_regions_is_an_empty_prediction(client):
    r = client.post("/predict", json={"tasks": [_task()], "project": "7.1"})
    assert r.status_code == 200 and r.json()["results"][0]["result"] == []


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not valid JSON"),
    (json.dumps({"tasks": "x"}).encode(), 400, "tasks must be a non-empty list"),
    (json.dumps({"tasks": [_task()], "params": {"context": {"result": [{"type": "ellipselabels", "value": {},
                                                                         "id": "e"}]}}}).encode(),
     400, "type 'ellipselabels' is not supported"),
    (json.dumps({"tasks": [_task()], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 130, "y": 5}, "original_width": 481, "original_height": 321,
         "id": "k"}]}}}).encode(), 400, "lies outside the image"),
    (json.dumps({"tasks": [_task("http://127.0.0.2:9/photo.jpg")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 403,
     "images are fetched only from"),
    (json.dumps({"tasks": [_task("file:///etc/passwd")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 400,
     "only http and https"),
    (json.dumps({"tasks": [_task("/redirect")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 403,
     "127.0.0.2:9/secret.jpg: images are fetched only from"),
    (json.dumps({"tasks": [_task("/huge.png")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 413, "above the limit"),
    (json.dumps({"tasks": [_task("/cut.jpg")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 422, "truncated JPEG"),
    (json.dumps({"tasks": [_task("/missing.jpg")], "params": {"context": {"result": [
        {"type": "keypointlabels", "value": {"x": 50, "y": 50}, "id": "k"}]}}}).encode(), 502, "answered 404"),
])
def test_bad_input_is_a_clear_error_and_the_server_stays_up(client, body, status, message):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["status"] == "ERROR" and message in r.json()["error"]
    assert client.get("/health").status_code == 200


def test_json_api_upload_and_segment(client, grabcut):
    h, w = grabcut.shape
    data = (require_data("GrabCut") / "data_GT" / f"{NAME}.jpg").read_bytes()
    up = client.post("/v1/images", files={"file": ("photo.jpg", data, "image/jpeg")}).json()
    assert (up["width"], up["height"]) == (w, h)
    x, y = _deepest(grabcut.gt)
    body = {"image_id": up["image_id"], "interactions": [{"type": "point", "points": [[x, y]]}]}
    png = client.post("/v1/segment", json=body)
    assert png.headers["content-type"] == "image/png"
    mask = np.asarray(Image.open(io.BytesIO(png.content))) > 0
    assert iou(grabcut.gt, mask, grabcut.ignore) > 0.85
    rle = client.post("/v1/segment", json={**body, "format": "rle"}).json()
    assert rle["reused"] == 1 and rle["passes"] == 0          # same image and click: from the cache
    dec = mask_utils.decode({"size": rle["rle"]["size"], "counts": rle["rle"]["counts"].encode()}).astype(bool)
    np.testing.assert_array_equal(dec, mask)
    painted = np.zeros((h, w), np.uint8)
    painted[int(y) - 3:int(y) + 4, int(x) - 40:int(x) + 40] = 1
    enc = mask_utils.encode(np.asfortranarray(painted))
    stroke = {"type": "stroke", "mask": {"size": [h, w], "counts": enc["counts"].decode()}}
    r = client.post("/v1/segment", json={"image_id": up["image_id"], "interactions": [stroke], "format": "rle"})
    assert r.status_code == 200 and r.json()["area"] > 0
    bad = client.post("/v1/segment", json={"image_id": up["image_id"], "interactions": [
        {"type": "point", "points": [[float("1e9"), 5]]}]})
    assert bad.status_code == 400 and "outside" in bad.json()["error"]
    assert client.post("/v1/segment", json={"image_id": "nope", "interactions": []}).status_code == 404
    assert client.post("/v1/images", content=b"garbage").status_code == 422


def test_full_queue_answers_503_at_once():
    server = Server(interseg.GrabCutPredictor(), ServeSettings(workers=1, max_queue=0))
    gate = threading.Event()

    async def scenario():
        first = asyncio.create_task(server.run(gate.wait, 10))
        await asyncio.sleep(0.2)
        with pytest.raises(ServeError, match="server busy") as e:
            await server.run(lambda: None)
        assert e.value.status == 503
        gate.set()
        assert await first is True
        assert await server.run(lambda: 5) == 5      # free again

    asyncio.run(scenario())
    assert server.stats["rejected"] == 1


def test_brush_rle_round_trip_and_limits():
    rng = np.random.default_rng(0)
    for h, w in ((1, 1), (7, 5), (300, 400)):
        m = rng.random((h, w)) > 0.6
        np.testing.assert_array_equal(decode_mask(encode_mask(m), h, w), m)
    big = np.ones((400, 500), bool)          # runs longer than the largest field are split
    np.testing.assert_array_equal(decode_mask(encode_mask(big), 400, 500), big)
    with pytest.raises(interseg.IntersegError, match="not the 10x10x4"):
        decode_mask(encode_mask(np.ones((5, 5), bool)), 10, 10)
    with pytest.raises(interseg.IntersegError, match="truncated"):
        decode_mask(encode_mask(big)[:5], 400, 500)


ORACLE = """
import json, sys
import numpy as np
from label_studio_sdk.converter.brush import decode_rle, mask2rle
req = json.load(sys.stdin)
h, w = req["h"], req["w"]
ours = np.asarray(decode_rle(req["rle"])).reshape(h, w, 4)[:, :, 3] > 0
theirs = mask2rle(np.array(req["mask"], np.uint8).reshape(h, w) * 255)
print(json.dumps({"decoded": ours.astype(int).ravel().tolist(), "theirs": [int(v) for v in theirs]}))
"""


def test_brush_rle_against_label_studio_sdk(tmp_path):
    python = label_studio_tool("python")
    rng = np.random.default_rng(1)
    h, w = 61, 83
    m = np.zeros((h, w), bool)
    m[5:50, 10:70] = rng.random((45, 60)) > 0.3
    req = {"h": h, "w": w, "rle": encode_mask(m), "mask": m.astype(int).ravel().tolist()}
    out = subprocess.run([str(python), "-c", ORACLE], input=json.dumps(req), capture_output=True, text=True,
                         check=True, timeout=120)
    res = json.loads(out.stdout)
    np.testing.assert_array_equal(np.array(res["decoded"]).reshape(h, w), m)   # their decoder reads ours
    np.testing.assert_array_equal(decode_mask(res["theirs"], h, w), m)        # ours reads their encoder


def test_refusal_before_any_setup_names_what_to_do():
    from interseg.serve.images import ImageFetcher

    with pytest.raises(ServeError, match="no image host is allowed yet: connect Label Studio") as e:
        ImageFetcher().fetch("http://127.0.0.2:9/photo.jpg")
    assert e.value.status == 403 and "no host" not in str(e.value)
