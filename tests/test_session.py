import numpy as np
import pytest

from interseg.errors import ConfigError, DataError, InteractionError
from interseg.inference.grabcut import GrabCutPredictor
from interseg.inference.predictor import BasicOptions, PredictorState
from interseg.inference.session import Session
from interseg.interactions.types import Click, Contour, Stroke


class Recorder:
    """A predictor that records what the session passes it."""

    name = "recorder"

    def __init__(self):
        self.calls = []
        self.prepared = 0
        self.options = BasicOptions()

    def set_options(self, options=None, **changes):
        self.options = (options or self.options).with_changes(**changes)
        return self.options

    def prepare(self, image):
        self.prepared += 1
        return PredictorState(image)

    def predict(self, state, interactions, prev_prob):
        self.calls.append((list(interactions), None if prev_prob is None else prev_prob.copy()))
        out = np.zeros(state.image.shape[:2], np.float32)
        for it in interactions:
            if isinstance(it, Click):
                out[int(it.y), int(it.x)] = 1.0 if it.positive else 0.0
        return out + 0.1 * len(self.calls)


IMG = np.zeros((40, 50, 3), np.uint8)


def test_reference_policy_replaces_contours_and_strokes():
    rec = Recorder()
    s = Session(IMG, rec, keep_all=False)
    s.add_contour([[1, 1], [10, 1], [10, 10]])
    s.add_stroke([[2, 2], [5, 5]])
    assert [i.kind for i in rec.calls[-1][0]] == ["stroke"]
    s.add_click(3, 3)
    assert [i.kind for i in rec.calls[-1][0]] == ["point"]
    s.add_click(4, 4, False)
    s.add_contour([[1, 1], [10, 1], [10, 10]], positive=False)
    assert [i.kind for i in rec.calls[-1][0]] == ["point", "point", "contour"]


def test_the_default_policy_is_what_the_networks_are_trained_with():
    """A session feeds the network all clicks and the contours/strokes of the last step only (the
    training and evaluation input), the demo, ``interseg predict`` and the server alike."""
    rec = Recorder()
    s = Session(IMG, rec)
    s.add_contour([[1, 1], [10, 1], [10, 10]])
    s.add_stroke([[2, 2], [5, 5]])
    assert [i.kind for i in rec.calls[-1][0]] == ["stroke"]
    s.add_many([Stroke.from_points([[2, 2], [5, 5]]), Stroke.from_points([[20, 20], [25, 25]], False)])
    assert [(i.kind, i.positive) for i in rec.calls[-1][0]] == [("stroke", True), ("stroke", False)]


def test_the_server_engine_gives_the_network_what_a_session_does():
    from interseg.serve.engine import Engine

    its = [Contour.from_points([[1, 1], [10, 1], [10, 10]]), Stroke.from_points([[2, 2], [5, 5]]), Click(3, 3),
           Contour.from_points([[20, 20], [30, 20], [30, 30]], positive=False)]
    by_session, by_engine = Recorder(), Recorder()
    s = Session(IMG, by_session)
    for it in its:
        s.add(it)
    engine = Engine(by_engine)
    out = engine.predict("k", engine.image("k", lambda: IMG), its)
    kinds = [[i.kind for i in call[0]] for call in by_engine.calls]
    assert kinds == [[i.kind for i in call[0]] for call in by_session.calls]
    assert kinds[-1] == ["point", "contour"]
    np.testing.assert_array_equal(out.prob, s.prob)


def test_keep_all_policy_and_prev_mask():
    rec = Recorder()
    s = Session(IMG, rec, keep_all=True)
    r1 = s.add(Contour.from_points([[1, 1], [10, 1], [10, 10]]))
    s.add(Stroke.from_points([[2, 2], [5, 5]]))
    assert [i.kind for i in rec.calls[-1][0]] == ["contour", "stroke"]
    assert np.allclose(rec.calls[0][1], 0)               # step 0 sees an empty previous mask
    assert np.allclose(rec.calls[1][1], r1.prob)         # then the previous probabilities
    assert rec.prepared == 1                             # image prepared once


def test_undo_redo_reset_finish():
    s = Session(IMG, Recorder())
    s.add_click(5, 5)
    p1 = s.prob.copy()
    s.add_click(6, 6)
    assert s.undo() and np.array_equal(s.prob, p1) and len(s.interactions) == 1
    assert s.redo() and len(s.interactions) == 2
    assert not s.redo()
    m = s.finish_object()
    assert m.shape == (40, 50) and len(s.objects) == 1 and s.interactions == []
    s.add_click(1, 1)
    s.reset()
    assert s.interactions == [] and not s.undo()


def test_click_outside_image_rejected():
    s = Session(IMG, Recorder())
    with pytest.raises(InteractionError, match=r"outside the 50x40 image"):
        s.add_click(50, 3)
    with pytest.raises(InteractionError):
        s.add_stroke([[1, 1], [3, -2]])
    assert s.interactions == []


def test_start_from_existing_mask():
    s = Session(IMG, Recorder())
    m = np.zeros((40, 50), np.uint8)
    m[5:10, 5:10] = 255
    s.start_from(m)
    assert s.mask.sum() == 25
    with pytest.raises(DataError, match="starting mask"):
        s.start_from(np.zeros((3, 3)))


def test_threshold_is_the_predictors():
    rec = Recorder()
    rec.set_options(threshold=0.05)
    s = Session(IMG, rec)
    s.add_click(5, 5)
    assert s.mask.all() and s.threshold == 0.05
    rec.set_options(threshold=0.5)     # one owner: the session's mask follows the predictor at once
    assert s.mask.sum() == 1 and s.threshold == 0.5
    with pytest.raises(ConfigError, match="threshold must be a number between 0 and 1, not 1.5"):
        rec.set_options(threshold=1.5)
    with pytest.raises(ConfigError, match="unknown predictor option flip"):
        rec.set_options(flip=True)


def test_grabcut_baseline_segments_real_object(grabcut_samples):
    from interseg.evaluation.metrics import iou
    from interseg.interactions.users import SimulatedUser

    sample = grabcut_samples[0]
    s = Session(sample.image, GrabCutPredictor())
    user = SimulatedUser(0)
    for _ in range(3):
        s.add(user.next("point", sample.gt, s.mask, sample.ignore, s.interactions))
    assert iou(sample.gt, s.mask, sample.ignore) > 0.8
