"""The human-like simulated users: marks inside the image, on the side they claim, lengths and widths
in range, seeded; and an evaluation with --user human-like."""

from __future__ import annotations

import numpy as np
import pytest

from interseg.interactions.encoding import fill_polygon
from interseg.interactions.human import CONTOUR_STYLES, HumanContourUser, HumanStrokeUser
from interseg.interactions.types import Contour, MaskStroke, interaction_from_dict, interaction_to_dict
from interseg.interactions.users import SimulatedUser


def _painted(it: MaskStroke, shape) -> np.ndarray:
    return it.render(shape)


def test_scribbles_are_short_narrow_on_their_side_and_seeded(grabcut_samples):
    for s in grabcut_samples:
        empty = np.zeros_like(s.gt)
        for seed in range(6):
            user = HumanStrokeUser(seed)
            it = user.next_stroke(s.gt, empty, s.ignore)
            assert isinstance(it, MaskStroke) and it.positive                 # the object is missing: positive
            m = _painted(it, s.gt.shape)
            assert m.any() and (m & s.gt).sum() / m.sum() >= 0.7               # on the object (a few px cross)
            assert 1 <= len(user.last_marks) <= 3
            for mark in user.last_marks:
                assert 3 <= mark.width <= 15
                assert 0.1 * mark.extent - 1 <= mark.length <= 0.6 * mark.extent * 1.3   # a curve is longer
            again = HumanStrokeUser(seed).next_stroke(s.gt, empty, s.ignore)
            assert np.array_equal(_painted(again, s.gt.shape), m)
    # a false positive gets negative scribbles, on the background
    s = grabcut_samples[0]
    pred = s.gt.copy()
    pred[:60, :60] |= True
    neg = HumanStrokeUser(1).next_stroke(s.gt, pred, s.ignore)
    assert not neg.positive and (_painted(neg, s.gt.shape) & s.gt).sum() <= 0.3 * _painted(neg, s.gt.shape).sum()


def test_scribbles_are_shorter_than_the_reference_strokes(grabcut_samples):
    s = grabcut_samples[0]
    empty = np.zeros_like(s.gt)
    human = [_painted(HumanStrokeUser(k).next_stroke(s.gt, empty, s.ignore), s.gt.shape).sum() for k in range(8)]
    from interseg.interactions.encoding import draw_polyline

    ref = [draw_polyline(SimulatedUser(k).next("stroke", s.gt, empty, s.ignore).points, s.gt.shape, 9).sum()
           for k in range(8)]
    assert np.median(human) < np.median(ref)


def test_loose_outlines_of_every_style_inside_the_image_around_the_object(grabcut_samples):
    s = grabcut_samples[1]
    h, w = s.gt.shape
    styles = set()
    for seed in range(40):
        user = HumanContourUser(seed)
        c = user.next_contour(s.gt, np.zeros_like(s.gt), s.ignore)
        styles.add(user.last_style)
        assert isinstance(c, Contour) and c.positive and len(c.points) >= 3
        assert (c.points >= 0).all() and (c.points[:, 0] <= w - 1).all() and (c.points[:, 1] <= h - 1).all()
        inside = fill_polygon(c.points, s.gt.shape)
        covered = (inside & s.gt).sum() / s.gt.sum()
        assert covered > {"partial": 0.15, "crossing": 0.25}.get(user.last_style, 0.85), user.last_style
        same = HumanContourUser(seed).next_contour(s.gt, np.zeros_like(s.gt), s.ignore)
        assert np.array_equal(same.points, c.points)
    assert styles == set(CONTOUR_STYLES)


def test_mask_strokes_survive_the_records(grabcut_samples):
    s = grabcut_samples[2]
    it = HumanStrokeUser(3).next_stroke(s.gt, np.zeros_like(s.gt), s.ignore)
    back = interaction_from_dict(interaction_to_dict(it))
    assert np.array_equal(back.render(s.gt.shape), it.render(s.gt.shape)) and back.positive == it.positive


def test_evaluate_with_human_like_users(tmp_path):
    from interseg.cli import main

    out = tmp_path / "run"
    assert main(["evaluate", "--datasets", "GrabCut", "--limit", "2", "--noi", "--input-types", "contour,stroke",
                 "--user", "human-like", "--max-interactions", "3", "--workers", "1", "--output", str(out)]) == 0
    import json

    res = json.loads((out / "results.json").read_text())
    assert res["settings"]["user"] == "human-like"
    rows = res["predictors"]["interseg_lite0"]["GrabCut"]["noi"]
    assert set(rows) == {"contour", "stroke"}
    lines = (out / "records" / "interseg_lite0" / "GrabCut.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    kinds = {d["type"] for r in recs for d in r["interactions"]}
    assert "stroke" in kinds and any("mask" in d for r in recs for d in r["interactions"])


@pytest.fixture(autouse=True)
def _data(monkeypatch):
    from .conftest import DATA

    monkeypatch.setenv("INTERSEG_DATA", str(DATA))
