"""The public Python API: top-level names, load_predictor's options, the stateless call, add_many, and
the examples of docs/api.md run as printed from an empty folder."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import interseg
from interseg.errors import ConfigError, DataError, InteractionError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)


def test_import_is_lazy_and_exports_the_api():
    out = subprocess.run([sys.executable, "-c", "import sys, interseg; print('torch' in sys.modules); "
                          "print(interseg.load_predictor.__module__, interseg.Session.__name__)"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "interseg.inference.loading", "Session"]
    for name in interseg.__all__:
        assert getattr(interseg, name) is not None
    with pytest.raises(AttributeError):
        interseg.no_such_name  # noqa: B018


@pytest.mark.parametrize("index", range(3))
def test_docs_api_examples_run_outside_the_repo(tmp_path, index):
    examples = _examples()
    assert len(examples) == 3
    script = tmp_path / "example.py"
    script.write_text(examples[index])
    env = {k: v for k, v in os.environ.items() if k != "INTERSEG_DATA"}   # as printed, from an empty folder
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    if index == 0:
        iou = float(re.search(r"IoU after one click: ([\d.]+)", res.stdout).group(1))
        assert iou == pytest.approx(0.786, abs=0.002)
    elif index == 1:
        assert res.stdout.split() == ["True", "False", "0"]
    else:
        assert res.stdout.strip() == "(240, 320) bool"


def test_docs_onnx_example_runs(tmp_path):
    """docs/models.md's example: the exported model's inputs as documented give the object."""
    (code,) = re.findall(r"```python\n(.*?)```", (DOCS.parent / "models.md").read_text(), re.S)
    (tmp_path / "example.py").write_text(code)
    res = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-2:] == ["True", "False"]


@pytest.fixture(scope="module")
def square():
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:180, 100:220] = (200, 40, 40)
    return image


def test_options_merge_defaults_recommendation_and_caller():
    seg = interseg.load_predictor("interseg_segformer_b0")
    assert seg.options.zoom_in.skip_clicks == 100      # the model's recommendation
    assert seg.options.refine.mode == "guided"
    p = interseg.load_predictor("interseg_segformer_b0", zoom_in_skip_clicks=2, refine="none", threshold=0.6)
    assert (p.options.zoom_in.skip_clicks, p.options.refine.mode, p.options.threshold) == (2, "none", 0.6)
    assert p.options.refine.radius == seg.options.refine.radius   # the rest of the recommendation stays
    with pytest.raises(ConfigError, match="unknown predictor option zoom"):
        interseg.load_predictor(zoom=False)
    with pytest.raises(ConfigError, match="threshold must be a number between 0 and 1"):
        interseg.load_predictor(threshold=1.5)
    with pytest.raises(ConfigError, match="max_size must be an integer >= 32"):
        interseg.load_predictor(max_size=16)
    assert interseg.load_predictor().options.max_size == 640           # bounded network input by default
    assert interseg.load_predictor(max_size=0).options.max_size is None  # 0: the image as it is


def test_set_options_keeps_the_fingerprint_true(square):
    a, b = interseg.load_predictor(), interseg.load_predictor()
    assert a.fingerprint == b.fingerprint
    with pytest.raises(AttributeError):
        a.options = b.options
    a.set_options(zoom_in=False)
    assert a.fingerprint != b.fingerprint and not a.options.zoom_in.enabled
    b.set_options(zoom_in=False)
    assert a.fingerprint == b.fingerprint
    b.set_options(threshold=0.3)   # the predictor's threshold decides its masks
    assert a.fingerprint != b.fingerprint
    assert interseg.Session(square, b).threshold == 0.3
    b.set_options(threshold=a.options.threshold, precision="bf16")
    assert a.fingerprint != b.fingerprint
    b.set_options(precision="fp32")
    assert a.fingerprint == b.fingerprint
    # every field, nested ones included, is in the fingerprint (derived from the fields, not a repr)
    b.set_options(dataclasses.replace(b.options, zoom_in=dataclasses.replace(b.options.zoom_in, expand_ratio=2.0)))
    assert a.fingerprint != b.fingerprint and "zoom_in.expand_ratio=2.0" in b.fingerprint


def test_stateless_predict_equals_the_session(square):
    p = interseg.load_predictor(zoom_in=False)
    its = [interseg.Click(160, 120), interseg.Click(10, 10, positive=False)]
    session = interseg.Session(square, p)
    session.add(its[0])
    session.add(its[1])
    state = p.prepare(square)
    first = p.predict(state, its[:1])
    second = p.predict(state, its, prev_prob=first)
    np.testing.assert_array_equal(second, session.prob)
    with pytest.raises(DataError, match="previous probability map is 10x10 but the image is 320x240"):
        p.predict(state, its, prev_prob=np.zeros((10, 10), np.float32))


def test_add_many_is_one_prediction_and_one_undo_step(square):
    p = interseg.load_predictor()
    session = interseg.Session(square, p)
    calls = []
    original = p.predict
    p.predict = lambda *a, **k: calls.append(1) or original(*a, **k)
    session.add_many([interseg.Stroke.from_points([(120, 90), (200, 150)]),
                      interseg.Stroke.from_points([(120, 150), (200, 90)])])
    assert len(calls) == 1 and len(session.interactions) == 2
    assert session.mask[120, 160] and not session.mask[20, 20]
    assert session.undo() and session.interactions == [] and not session.mask.any()
    assert session.redo() and len(session.interactions) == 2
    with pytest.raises(InteractionError, match="outside"):
        session.add_many([interseg.Click(5, 5), interseg.Click(500, 5)])
    assert len(session.interactions) == 2   # nothing of a refused batch is added
    with pytest.raises(InteractionError, match="not a finite number"):
        session.add(interseg.Click(float("nan"), 5))
    with pytest.raises(DataError, match="no interactions"):
        session.add_many([])


def test_bf16_precision_follows_float32_and_has_its_own_fingerprint():
    """precision="bf16" (`--bf16`): the network under bfloat16 autocast gives the float32 masks within a
    few per cent of IoU on a real photo, float32 probabilities, and a fingerprint of its own."""
    import cv2

    from interseg.data.image_io import load_image, load_label_map
    from interseg.data.registry import SAMPLE_DIR
    from interseg.inference.options import PredictorOptions

    image = load_image(SAMPLE_DIR / "img" / "horse00_000000281447.jpg")
    gt = load_label_map(SAMPLE_DIR / "gt" / "horse00_000000281447.png") > 0
    dist = cv2.distanceTransform(gt.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(dist.argmax()), dist.shape)         # the object's most interior pixel
    clicks = [interseg.Click(float(x), float(y)), interseg.Click(5, 5, positive=False)]
    f32, b16 = interseg.load_predictor(), interseg.load_predictor(precision="bf16")
    assert "precision='fp32'" in f32.fingerprint and "precision='bf16'" in b16.fingerprint
    p32, p16 = (p.predict(p.prepare(image), clicks) for p in (f32, b16))
    assert p16.dtype == np.float32 and not np.array_equal(p32, p16)   # autocast really ran
    m32, m16 = p32 > 0.49, p16 > 0.49
    assert 0.3 * gt.sum() < m32.sum() < 3 * gt.sum() and (m32 & gt).sum() > 0.5 * m32.sum()  # a real mask
    assert (m32 & m16).sum() / (m32 | m16).sum() > 0.97
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        interseg.load_predictor(precision="fp16")
    with pytest.raises(ConfigError, match="precision bf16 applies to the torch backend"):
        PredictorOptions(precision="bf16", backend="onnx")
