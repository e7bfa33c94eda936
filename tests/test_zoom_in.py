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
    old.set_options(dataclasses.replace(old.options, zoom_in=dataclasses.replace(old.options.zoom_in,
                                                                                  marks_alone=True)))
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
    # the next interaction zooms in, framed on the predicted object
    s_new.add(interseg.Click(float(xs.mean()), float(ys.min() + 10)))
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
