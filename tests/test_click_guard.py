"""Every click takes effect: the local correction around clicks the network ignored."""

import numpy as np

from interseg.evaluation.metrics import iou
from interseg.inference.click_guard import ClickGuardParams, guard_clicks, ignored_clicks
from interseg.inference.options import PredictorOptions
from interseg.interactions.types import Click, Stroke

ON = ClickGuardParams(enabled=True)


def _interior_point(mask):
    import cv2

    d = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(np.argmax(d), d.shape)
    return float(x), float(y)


def test_ignored_positive_click_takes_the_look_alike_region(grabcut_samples):
    for s in grabcut_samples:
        gt = s.gt
        x, y = _interior_point(gt)
        prob = np.zeros(gt.shape, np.float32)          # a network that ignored the click
        c = Click(x, y, True)
        assert ignored_clicks(prob, [c], 0.49) == [c]
        out = guard_clicks(prob, s.image, [c], 0.49, ON)
        assert ignored_clicks(out, [c], 0.49) == []
        region = out > 0.49
        h, w = gt.shape
        radius = max(8, round(0.03 * max(h, w)))
        ys, xs = np.nonzero(region)
        assert np.hypot(ys - y, xs - x).max() <= radius + 1          # local
        assert region.sum() > 20                                     # more than the click's pixel
        assert (region & gt).sum() / region.sum() > 0.8              # and mostly the object
        assert iou(gt, region, s.ignore) > iou(gt, prob > 0.49, s.ignore)


def test_negative_click_inside_is_cut_and_other_clicks_kept(grabcut_samples):
    s = grabcut_samples[0]
    gt = s.gt
    x, y = _interior_point(~gt)                                      # deep in the background
    prob = np.ones(gt.shape, np.float32)                             # everything predicted as object
    pos = Click(x + 6, y, True)                                      # a positive click close beside it
    neg = Click(x, y, False)
    out = guard_clicks(prob, s.image, [pos, neg], 0.49, ON)
    assert out[int(y), int(x)] == 0.0
    assert out[int(y), int(x + 6)] == 1.0                            # the other click's pixel is left alone
    assert ignored_clicks(out, [neg], 0.49) == []


def test_honoured_clicks_strokes_and_disabled_guard_change_nothing(grabcut_samples):
    s = grabcut_samples[1]
    prob = s.gt.astype(np.float32)
    x, y = _interior_point(s.gt)
    its = [Click(x, y, True), Stroke.from_points([[1, 1], [20, 1]], positive=True)]
    assert guard_clicks(prob, s.image, its, 0.49, ON) is prob
    assert guard_clicks(np.zeros_like(prob), s.image, its[:1], 0.49, ClickGuardParams(enabled=False)).max() == 0


def test_option_has_a_flat_name_and_is_off_by_default():
    opts = PredictorOptions()
    assert not opts.click_guard.enabled and opts.as_flat()["click_guard"] is False
    assert opts.with_changes(click_guard=True).click_guard.enabled is True
    assert guard_clicks(np.zeros((9, 9), np.float32), np.zeros((9, 9, 3), np.uint8), [Click(4, 4)], 0.49).max() == 0


def test_a_negative_click_cannot_erase_the_object(grabcut_samples):
    """A small object of one colour and a negative click on it that the network ignored: the unbounded
    guard erased the whole object; the bounded one takes only the click's core disk."""
    s = grabcut_samples[0]
    x, y = _interior_point(s.gt)
    image = s.image.copy()
    yy, xx = np.ogrid[:s.gt.shape[0], :s.gt.shape[1]]
    obj = (yy - y) ** 2 + (xx - x) ** 2 <= 7 ** 2                    # inside the guard's radius
    image[obj] = (200, 40, 40)
    prob = obj.astype(np.float32)
    neg = Click(x, y, False)
    unbounded = guard_clicks(prob, image, [neg], 0.49, ClickGuardParams(enabled=True, max_erase=1.0))
    assert (unbounded > 0.49).sum() < 0.1 * obj.sum()               # the old rule wrecks the mask
    out = guard_clicks(prob, image, [neg], 0.49, ON)
    assert ignored_clicks(out, [neg], 0.49) == []                    # the click still takes effect
    assert (out > 0.49).sum() >= 0.8 * obj.sum()                     # but most of the object stays


def test_close_clicks_of_opposite_signs_both_take_effect(grabcut_samples):
    """Berkeley 253036: the clicker put a negative click 2.8 px from a positive one; both must hold."""
    s = grabcut_samples[2]
    x, y = _interior_point(s.gt)
    pos, neg = Click(x, y, True), Click(x + 2, y - 2, False)
    prob = np.full(s.gt.shape, 0.9, np.float32)      # the negative click is ignored
    out = guard_clicks(prob, s.image, [pos, neg], 0.49, ON)
    assert ignored_clicks(out, [pos, neg], 0.49) == []
