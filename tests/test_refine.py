"""The guided-filter refinement: its maths, its effect on real objects, and how models recommend it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from interseg.errors import CheckpointError
from interseg.evaluation.metrics import iou, stride_limited
from interseg.inference.loading import load_predictor
from interseg.inference.refine import GuidedFilter, RefineParams, refine
from interseg.models.checkpoint import read_metadata, save_checkpoint, update_metadata
from interseg.models.network import ArchConfig, IntersegNet

from .conftest import require_data


def _reference_guided_filter(img: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s colour guided filter written out per pixel with a 3x3 solve (slow, obvious)."""
    def box(x):
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)

    g = img.astype(np.float64) / 255.0
    p = p.astype(np.float64)
    mg, mp = box(g), box(p)
    a = np.empty_like(g)
    cov_gp = np.stack([box(g[..., c] * p) for c in range(3)], -1) - mg * mp[..., None]
    sigma = np.empty(g.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(3):
            sigma[..., i, j] = box(g[..., i] * g[..., j]) - mg[..., i] * mg[..., j]
    for y in range(g.shape[0]):
        for x in range(g.shape[1]):
            a[y, x] = np.linalg.solve(sigma[y, x] + eps * np.eye(3), cov_gp[y, x])
    b = mp - (a * mg).sum(-1)
    return (np.stack([box(a[..., c]) for c in range(3)], -1) * g).sum(-1) + box(b)


def test_guided_filter_matches_the_per_pixel_solve():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((40, 56, 3)) * 255).astype(np.uint8), (5, 5), 1.5)
    img[:, :20] = 90  # a flat patch: the covariance there is eps·I alone
    p = rng.random((40, 56)).astype(np.float32)
    for eps in (1e-2, 1e-3):
        ours = GuidedFilter(img, 3, eps)(p)
        assert np.abs(ours - _reference_guided_filter(img, p, 3, eps)).max() < 1e-4


def test_guided_filter_keeps_a_map_that_follows_the_image():
    """A map that is already a linear function of the image is its own best fit: the filter returns it
    (up to eps's shrinkage)."""
    img = np.zeros((48, 48, 3), np.uint8)
    img[:, 24:] = (200, 40, 90)
    p = (img[..., 0] / 200.0).astype(np.float32)
    out = GuidedFilter(img, 4, 1e-6)(p)
    assert np.abs(out - p).max() < 1e-2


def test_refine_params_validated():
    with pytest.raises(ValueError, match="mode must be 'none' or 'guided'"):
        RefineParams("bilateral")
    with pytest.raises(ValueError, match="radius must be >= 1"):
        RefineParams("guided", 0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        RefineParams("guided", 8, 0.0)
    p = np.full((8, 8), 0.3, np.float32)
    assert refine(p, np.zeros((8, 8, 3), np.uint8), RefineParams()) is p  # "none" leaves it as it is


def test_refinement_lifts_the_stride_4_cap_on_real_grabcut_objects():
    """The three GrabCut objects a stride-4 output caps lowest: snapping the upsampled ground truth to the
    image's edges recovers part of what the grid lost, and it is the image that does it (a flat guide only
    smooths, and loses)."""
    from interseg.data.readers.grabcut import GrabCutDataset

    ds = GrabCutDataset(require_data("GrabCut"))
    names = {"304074", "24077", "153093"}
    params = RefineParams("guided", 8, 1e-3)
    for i in (i for i in range(len(ds)) if ds.sample_name(i) in names):
        s = ds[i]
        gt, ign = s.gt > 0, s.ignore > 0
        up = stride_limited(gt, 4)
        capped = iou(gt, up > 0.5, ign)
        refined = refine(up, s.image, params)
        assert refined.min() >= 0.0 and refined.max() <= 1.0
        assert iou(gt, refined > 0.5, ign) > capped + 0.01, s.name
        flat = refine(up, np.full_like(s.image, 128), params)
        assert iou(gt, flat > 0.5, ign) <= capped, s.name


def test_predictor_refines_and_caches_per_region():
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    from interseg.inference.net_predictor import NetPredictor, PredictorOptions
    from interseg.interactions.types import Click

    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur((rng.random((96, 128, 3)) * 255).astype(np.uint8), (7, 7), 2)
    clicks = [Click(40, 60, True)]
    prev = np.zeros((96, 128), np.float32)
    # without the click guard, which acts after the refinement wherever the untrained network leaves the
    # click below the threshold (it depends on the random weights)
    opts = PredictorOptions(flip=False).with_changes(click_guard=False)
    plain = NetPredictor(net, options=opts)
    guided = NetPredictor(net, options=opts.with_changes(refine=RefineParams("guided", 4, 1e-3)))
    s1, s2 = plain.prepare(image), guided.prepare(image)
    a, b = plain.predict(s1, clicks, prev), guided.predict(s2, clicks, prev)
    assert a.shape == b.shape == (96, 128) and not np.allclose(a, b)
    assert np.allclose(b, refine(a, image, RefineParams("guided", 4, 1e-3)), atol=1e-5)
    keys = [k for k in s2.cache if isinstance(k, tuple) and k[0] == "guided_filter"]
    assert len(keys) == 1 and keys[0][1] == (0, 0, 128, 96)


def test_model_recommended_refinement_is_used_unless_overridden(tmp_path, capsys):
    from interseg.cli import main

    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    path = save_checkpoint(tmp_path / "m.safetensors", net, {"trained": True, "name": "m"})
    assert load_predictor(str(path)).options.refine.mode == "none"
    assert main(["models", "recommend", str(path), "--refine-radius", "6"]) == 2
    assert "need --refine guided" in capsys.readouterr().err
    assert main(["models", "recommend", str(path), "--refine", "guided", "--refine-eps", "-1"]) == 2
    assert "eps must be > 0" in capsys.readouterr().err
    assert main(["models", "recommend", str(path), "--refine", "guided", "--refine-radius", "6",
                 "--zoom-in-skip-clicks", "4"]) == 0
    meta = read_metadata(path)[1]
    assert meta["inference"] == {"zoom_in_skip_clicks": 4, "refine": {"mode": "guided", "radius": 6, "eps": 0.001}}
    from interseg.commands.models import _recommended

    assert _recommended(meta, path) == "ZoomIn after 4 clicks; refine guided r=6 eps=0.001"  # `models list` column
    opts = load_predictor(str(path)).options
    assert opts.refine == RefineParams("guided", 6, 1e-3) and opts.zoom_in.skip_clicks == 4
    # the command line wins, and the records' fingerprint follows it
    off = load_predictor(str(path), refine="none")
    assert off.options.refine.mode == "none"
    assert off.fingerprint != load_predictor(str(path)).fingerprint
    assert load_predictor(str(path), refine_eps=0.01).options.refine.eps == 0.01
    update_metadata(path, {"inference": {"refine": {"mode": "guided", "radius": "wide"}}})
    with pytest.raises(CheckpointError, match="m.safetensors: metadata inference.refine"):
        load_predictor(str(path))


def test_huge_regions_are_filtered_downscaled():
    """A 3000x2400 region is filtered at MAX_SIDE and upsampled: same size out, edges still snapped."""
    from interseg.inference import refine as refine_mod

    h, w = 2400, 3000
    image = np.full((h, w, 3), 40, np.uint8)
    image[600:1800, 700:2300] = (220, 180, 60)
    gt = np.zeros((h, w), bool)
    gt[600:1800, 700:2300] = True
    coarse = stride_limited(gt, 32)  # a very coarse prediction: rounded corners
    out = refine(coarse, image, RefineParams("guided", 16, 1e-3))
    assert out.shape == (h, w) and out.dtype == np.float32
    assert max(h, w) > refine_mod.MAX_SIDE
    assert iou(gt, out > 0.5) > iou(gt, coarse > 0.5)
    # with a cache, the downscaled image's terms are built once and reused by the next prediction
    cache: dict = {}
    first = refine(coarse, image, RefineParams("guided", 16, 1e-3), cache, "region")
    (gf,) = cache.values()
    assert gf.guide.shape[:2] == (refine_mod.MAX_SIDE * h // w, refine_mod.MAX_SIDE)
    assert np.array_equal(first, out)
    refine(coarse, image, RefineParams("guided", 16, 1e-3), cache, "region")
    assert next(iter(cache.values())) is gf
