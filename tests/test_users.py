"""Simulated users on real GrabCut/DAVIS objects with realistic wrong predictions."""

import cv2
import numpy as np
import pytest

from interseg.interactions.encoding import draw_polyline, fill_polygon
from interseg.interactions.errors import largest_error
from interseg.interactions.types import Click
from interseg.interactions.users import ContourUser, RITMClicker, SaicClicker, SimulatedUser, StrokeUser


def wrong_predictions(gt: np.ndarray):
    """Predictions a model could give: empty, eroded, dilated, shifted, half of the object."""
    k = np.ones((15, 15), np.uint8)
    g = gt.astype(np.uint8)
    shifted = np.roll(gt, (12, 25), axis=(0, 1))
    half = gt.copy()
    ys, xs = np.nonzero(gt)
    half[:, : int(np.median(xs))] = False
    return {
        "empty": np.zeros_like(gt),
        "eroded": cv2.erode(g, k).astype(bool),
        "dilated": cv2.dilate(g, k).astype(bool),
        "shifted": shifted,
        "half": half,
    }


def test_ritm_click_is_deterministic_and_at_the_deepest_pixel(grabcut_samples):
    for s in grabcut_samples:
        for name, pred in wrong_predictions(s.gt).items():
            c1 = RITMClicker().next_click(s.gt, pred, s.ignore)
            c2 = RITMClicker().next_click(s.gt, pred, s.ignore)
            assert c1 == c2
            t = largest_error(s.gt, pred, s.ignore)
            assert t.region[int(c1.y), int(c1.x)], name
            assert c1.positive == t.positive
            # first pixel in raster order with the maximal distance
            ys, xs = np.nonzero(t.dt == t.dt.max())
            assert (c1.x, c1.y) == (xs[0], ys[0])


def test_ritm_click_skips_clicked_pixels(grabcut_samples):
    s = grabcut_samples[0]
    pred = np.zeros_like(s.gt)
    c1 = RITMClicker().next_click(s.gt, pred, s.ignore)
    c2 = RITMClicker().next_click(s.gt, pred, s.ignore, [c1])
    assert (c1.x, c1.y) != (c2.x, c2.y)
    assert s.gt[int(c2.y), int(c2.x)]


def test_saic_clicker_seeded_and_inside_region(grabcut_samples):
    for s in grabcut_samples:
        for pred in wrong_predictions(s.gt).values():
            a = SaicClicker(5).next_click(s.gt, pred, s.ignore)
            b = SaicClicker(5).next_click(s.gt, pred, s.ignore)
            assert a == b
            t = largest_error(s.gt, pred, s.ignore)
            assert t.region[int(a.y), int(a.x)]
    s = grabcut_samples[0]
    pred = np.zeros_like(s.gt)
    clicks = {SaicClicker(seed).next_click(s.gt, pred, s.ignore) for seed in range(10)}
    assert len(clicks) > 1  # really random across seeds


def _inside_image(points, shape):
    return (points[:, 0] >= 0).all() and (points[:, 0] <= shape[1] - 1).all() and \
        (points[:, 1] >= 0).all() and (points[:, 1] <= shape[0] - 1).all()


def test_contours_inside_image_and_on_target_region(grabcut_samples):
    n = 0
    for s in grabcut_samples:
        for name, pred in wrong_predictions(s.gt).items():
            for seed in range(3):
                c = ContourUser(seed).next_contour(s.gt, pred, s.ignore)
                assert c is not None
                assert _inside_image(c.points, s.gt.shape)
                if name == "empty":
                    region, positive = s.gt, True
                else:
                    t = largest_error(s.gt, pred, s.ignore)
                    region, positive = t.region, t.positive
                filled = fill_polygon(c.points, s.gt.shape)
                on = (filled & region).sum() / filled.sum()
                assert on >= 0.9, (s.name, name, seed, on)
                assert c.positive == positive
                n += 1
    assert n == 4 * 5 * 3


def test_first_contour_outlines_whole_object(grabcut_samples):
    for s in grabcut_samples:
        c = ContourUser(0).next_contour(s.gt, np.zeros_like(s.gt), s.ignore)
        filled = fill_polygon(c.points, s.gt.shape)
        covered = (filled & s.gt).sum() / s.gt.sum()
        assert covered > 0.6, (s.name, covered)


def test_strokes_inside_image_and_on_target_region(grabcut_samples):
    for s in grabcut_samples:
        for name, pred in wrong_predictions(s.gt).items():
            for seed in range(3):
                st = StrokeUser(seed).next_stroke(s.gt, pred, s.ignore)
                assert st is not None
                assert _inside_image(st.points, s.gt.shape)
                t = largest_error(s.gt, pred, s.ignore)
                line = draw_polyline(st.points, s.gt.shape, 1)
                on = (line & t.region).sum() / line.sum()
                assert on >= 0.9, (s.name, name, seed, on)
                assert st.positive == t.positive
                assert len(st.points) >= 2


def test_same_seed_same_interactions(grabcut_samples):
    s = grabcut_samples[1]
    pred = wrong_predictions(s.gt)["shifted"]
    for kind in ("point", "contour", "stroke"):
        a = SimulatedUser(7, "saic").next(kind, s.gt, pred, s.ignore)
        b = SimulatedUser(7, "saic").next(kind, s.gt, pred, s.ignore)
        c = SimulatedUser(8, "saic").next(kind, s.gt, pred, s.ignore)
        assert a == b
        assert a.kind == kind
        assert a != c  # another seed, another interaction


def test_perfect_prediction_gives_the_reference_click(grabcut_samples):
    """Nothing to correct: as the reference, a negative click on the first pixel (raster order) of the
    empty false-positive map — the top-left corner, background on this object."""
    s = grabcut_samples[0]
    c = SimulatedUser(0).next("point", s.gt, s.gt.copy(), s.ignore)
    assert (c.x, c.y, c.positive) == (0.0, 0.0, False) and not s.gt[0, 0]


@pytest.mark.parametrize(("kind", "expected"), [("contour", "point"), ("stroke", "stroke")])
def test_one_pixel_error_region_gets_a_mark_on_that_pixel(kind, expected):
    """A one-pixel false positive cannot be outlined: the contour user falls back to a click, the stroke
    user dabs a one-point stroke; either lies on that pixel, negative."""
    gt = np.zeros((20, 20), bool)
    gt[5, 5] = True
    pred = np.arange(400).reshape(20, 20) == 399    # a false positive at (19, 19), the false negative at (5, 5)
    it = SimulatedUser(0).next(kind, gt, pred, None)
    assert it.kind == expected and not it.positive
    assert it.points.tolist() == [[19.0, 19.0]]


def _square(mask, y0, x0, size):
    mask[y0:y0 + size, x0:x0 + size] = True
    return mask


def test_click_sign_is_decided_after_clicked_pixels_are_masked():
    """As the reference: the deepest false negatives were already clicked, so with them masked the
    false positive region is deeper and the next click is negative (deciding the sign first and masking
    after would click positive, next to the earlier clicks)."""
    from interseg.interactions.errors import distance_transform

    gt = _square(np.zeros((60, 60), bool), 10, 10, 21)        # all false negative (pred empty there)
    pred = _square(np.zeros((60, 60), bool), 40, 40, 15)      # a false positive square
    fn_dt, fp_dt = distance_transform(gt), distance_transform(pred)
    assert fn_dt.max() > fp_dt.max()
    ys, xs = np.nonzero(fn_dt >= fp_dt.max())                 # every FN pixel deeper than the FP maximum
    history = [Click(float(x), float(y)) for y, x in zip(ys, xs, strict=True)]
    c = RITMClicker().next_click(gt, pred, None, history)
    assert not c.positive
    assert fp_dt[int(c.y), int(c.x)] == fp_dt.max()


def test_when_every_error_pixel_was_clicked_the_reference_click_is_taken():
    """No unclicked error pixel left: both masked maps are 0; the reference then clicks the first pixel in
    raster order of the (all-zero) false-positive map, negative — never the same pixel again."""
    gt = np.zeros((20, 20), bool)
    gt[5, 5] = True
    c = RITMClicker().next_click(gt, np.zeros_like(gt), None, [Click(5.0, 5.0)])
    assert (c.x, c.y, c.positive) == (0.0, 0.0, False)


@pytest.mark.parametrize("user", ["reference", "human-like"])
@pytest.mark.parametrize("kind", ["contour", "stroke"])
def test_slivers_never_crash_the_user(kind, user):
    """A region one pixel wide (a line) or one pixel: every seed gives a valid interaction (a contour of at
    least 3 points, or a click instead) — a degenerate hull once stopped a training run."""
    from interseg.interactions.types import Contour

    for shape in ("line", "dot", "diagonal"):
        gt = np.zeros((40, 40), bool)
        if shape == "line":
            gt[20, 5:35] = True
        elif shape == "dot":
            gt[20, 20] = True
        else:
            np.fill_diagonal(gt, True)
        for seed in range(25):
            it = SimulatedUser(seed, "saic", user).next(kind, gt, np.zeros_like(gt), None)
            assert it.kind in (kind, "point")
            if isinstance(it, Contour):
                assert len(it.points) >= 3
