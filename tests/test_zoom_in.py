"""ZoomIn after a first contour or stroke: the crop comes from a prediction, never from the box of the
marks alone (a short scribble on a large object would crop the object away)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

import interseg
from interseg.inference.zoom_in import ZoomInParams, zoom_roi

from .conftest import require_data


@pytest.fixture(scope="module")
def penguin():
    ds = interseg.open_dataset("GrabCut", require_data("GrabCut"))
    return ds[ds.index_of("person7")]


def _short_stroke(sample, fraction=0.1):
    """A straight mark through the object's deepest point, a tenth of the object's width long."""
    dist = cv2.distanceTransform(sample.gt.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(dist.argmax(), dist.shape)
    xs = np.nonzero(sample.gt)[1]
    half = fraction * (xs.max() - xs.min()) / 2
    return interseg.Stroke.from_points([(x - half, y), (x + half, y)])


def test_zoom_roi_waits_for_a_predicted_object():
    empty = np.zeros((300, 400), np.float32)
    mark = [interseg.Stroke.from_points([(190, 150), (210, 150)])]
    assert zoom_roi(ZoomInParams(), mark, empty, None) is None
    assert zoom_roi(ZoomInParams(marks_alone=True), mark, empty, None) == (100, 50, 301, 251)
    prob = empty.copy()
    prob[40:260, 60:340] = 1
    assert zoom_roi(ZoomInParams(), mark, prob, None) == (4, 0, 396, 300)   # framed on the object


def test_short_first_mark_is_predicted_on_the_whole_image(penguin):
    stroke = _short_stroke(penguin)
    ys, xs = np.nonzero(penguin.gt)
    assert np.ptp(stroke.points[:, 0]) < 0.11 * (xs.max() - xs.min())
    new = interseg.load_predictor()
    old = interseg.load_predictor()
    old.set_options(dataclasses.replace(old.options, zoom_in=dataclasses.replace(
        old.options.zoom_in, marks_alone=True, follow_object=False)))     # the reference's rules
    s_new, s_old = interseg.Session(penguin.image, new), interseg.Session(penguin.image, old)
    r_new, r_old = s_new.add(stroke), s_old.add(stroke)
    assert s_new.state.roi is None and s_old.state.roi is not None
    x0, y0, x1, y1 = s_old.state.roi
    cut = penguin.gt.copy()
    cut[y0:y1, x0:x1] = False
    assert cut.sum() > 0.2 * penguin.gt.sum()          # the old crop cut away a large part of the object
    iou_new = interseg.iou(penguin.gt, r_new.mask, penguin.ignore)
    iou_old = interseg.iou(penguin.gt, r_old.mask, penguin.ignore)
    assert iou_new > iou_old + 0.1 and iou_new > 0.8
    # the next clicks zoom in, framed on the predicted object (the network sees the clicks alone once a
    # click follows the stroke, as in training, so ZoomIn waits for more than zoom_in_skip_clicks of them)
    s_new.add(interseg.Click(float(xs.mean()), float(ys.min() + 10)))
    assert s_new.state.roi is None
    s_new.add(interseg.Click(float(xs.mean()), float(ys.max() - 10)))
    x0, y0, x1, y1 = s_new.state.roi
    assert x0 <= xs.min() and y0 <= ys.min() and x1 > xs.max() and y1 > ys.max()


def test_a_large_photo_is_segmented_at_full_resolution_with_bounded_inputs(penguin):
    """A 5.4 MP upscale of a GrabCut photo: the network input stays bounded (640 px), the mask is at the
    photo's resolution, earlier steps are kept compressed, and undo gives back the earlier mask."""
    from interseg.inference.net_predictor import LARGE_REGION
    from interseg.inference.session import PACK_ABOVE, _Packed

    h, w = penguin.shape
    image = cv2.resize(penguin.image, (w * 4, h * 4), interpolation=cv2.INTER_CUBIC)
    gt = cv2.resize(penguin.gt.astype(np.uint8), (w * 4, h * 4), interpolation=cv2.INTER_NEAREST).astype(bool)
    assert image.shape[0] * image.shape[1] > max(LARGE_REGION, PACK_ABOVE)
    predictor = interseg.load_predictor()
    sizes = []
    forward = predictor._forward
    predictor._forward = lambda img, maps: sizes.append(tuple(img.shape[2:])) or forward(img, maps)
    session = interseg.Session(image, predictor)
    ys, xs = np.nonzero(gt)
    first = session.add(interseg.Click(float(xs.mean()), float(ys.mean())))
    assert first.mask.shape == gt.shape and interseg.iou(gt, first.mask) > 0.8
    session.add(interseg.Click(float(xs.mean()), float(ys.min() + 40)))
    assert max(max(s) for s in sizes) <= 640
    assert isinstance(session._steps[0].prob, _Packed)
    session.undo()
    assert (session.mask != first.mask).mean() < 1e-3


# --- the crop can always see the whole object ---------------------------------------------------------------

def _obj(h=400, w=600, box=(200, 150, 300, 250)):
    prob = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    prob[y0:y1, x0:x1] = 1
    return prob


def test_a_kept_crop_holds_the_predicted_object_with_its_margin():
    prob = _obj()
    clicks = [interseg.Click(250, 200), interseg.Click(260, 210)]
    fresh = zoom_roi(ZoomInParams(), clicks, prob, None)
    assert zoom_roi(ZoomInParams(), clicks, prob, fresh) == fresh          # stable while it holds everything
    # the object grew to the crop's edge: a crop without margin around it is replaced
    grown = _obj(box=(200, 150, fresh[2] - 2, 250))
    new = zoom_roi(ZoomInParams(), clicks, grown, fresh)
    assert new != fresh and new[2] > fresh[2]
    # the reference's rule kept it (the last click is inside and the boxes overlap)
    assert zoom_roi(ZoomInParams(follow_object=False), clicks, grown, fresh) == fresh


@pytest.mark.parametrize("positive", [True, False])
def test_a_mark_near_the_crop_edge_or_outside_grows_it(positive):
    prob = _obj()
    first = [interseg.Click(250, 200), interseg.Click(260, 210)]
    crop = zoom_roi(ZoomInParams(), first, prob, None)
    for x in (crop[2] - 3, crop[2] + 30):                                   # near the right edge, outside
        its = [*first, interseg.Click(float(x), 200.0, positive)]
        new = zoom_roi(ZoomInParams(), its, prob, crop)
        assert new[2] > x + 0.04 * (new[2] - new[0]), (x, new)           # the mark is inside, with margin
    # a negative click well inside changes nothing
    its = [*first, interseg.Click(240.0, 190.0, False)]
    assert zoom_roi(ZoomInParams(), its, prob, crop) == crop


def test_an_edge_on_the_image_border_needs_no_margin():
    prob = _obj(box=(0, 150, 100, 250))                                      # the object touches the left border
    clicks = [interseg.Click(50, 200), interseg.Click(10, 200)]
    crop = zoom_roi(ZoomInParams(), clicks, prob, None)
    assert crop[0] == 0 and zoom_roi(ZoomInParams(), [*clicks, interseg.Click(1, 200)], prob, crop) == crop


def test_reaches_edge_and_regrow():
    from interseg.inference.zoom_in import reaches_edge, regrow

    h, w, box = 400, 600, (100, 100, 300, 300)
    mask = np.zeros((200, 200), bool)
    mask[80:120, 60:200] = True                                             # reaches the crop's right edge
    assert reaches_edge(mask, box, h, w)
    assert not reaches_edge(mask, (100, 100, 600, 300), h, w)              # that edge is the image's border
    mask1 = np.zeros((200, 200), bool)
    mask1[100, 199] = True                                                  # one pixel is noise, not an object
    assert not reaches_edge(mask1, box, h, w)
    new = regrow(ZoomInParams(), mask, box, [interseg.Click(200, 200)], h, w)
    assert new[2] > box[2] and new[0] <= 160 and new[1] <= 180 and new[3] >= 220


def test_a_prediction_that_leaves_the_crop_is_regrown(penguin):
    """The crop was framed on the left half of the object; a click makes the network find the whole
    object, which reaches the crop's edge: the predictor frames a larger crop (or sees the whole image),
    and the mask and the final crop hold the whole object. The reference's rule keeps the cut crop."""
    gt = penguin.gt
    ys, xs = np.nonzero(gt)
    mid = int(np.median(xs))
    half = gt.copy()
    half[:, mid:] = False
    hy, hx = np.nonzero(half)
    click = interseg.Click(float(hx.mean()), float(hy.mean()))
    results = {}
    for follow in (True, False):
        p = interseg.load_predictor()
        # a tight frame (no minimum size), so that the object soon reaches the crop's edge
        p.set_options(dataclasses.replace(p.options, zoom_in=dataclasses.replace(
            p.options.zoom_in, follow_object=follow, min_crop=16, expand_ratio=1.1)))
        state = p.prepare(penguin.image)
        state.roi = zoom_roi(p.options.zoom_in, [click, click], half.astype(np.float32), None)
        assert gt[state.roi[1]:state.roi[3], state.roi[0]:state.roi[2]].sum() < 0.7 * gt.sum()
        prob = p.predict(state, [click, click], half.astype(np.float32))
        results[follow] = (interseg.iou(gt, prob > 0.49, penguin.ignore), state.roi)
    iou_new, roi = results[True]
    share = 1.0 if roi is None else gt[roi[1]:roi[3], roi[0]:roi[2]].sum() / gt.sum()
    assert share >= 0.95 and iou_new > results[False][0] + 0.05, results
