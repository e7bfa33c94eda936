import numpy as np
import pytest

from interseg.evaluation.metrics import (
    boundary_iou,
    boundary_width,
    iou,
    mask_boundary,
    mean_curve,
    noi,
    noi_summary,
    stride_ceiling_iou,
)

from .conftest import require_data


def test_iou_hand_computed():
    gt = np.zeros((4, 4), bool)
    gt[0:2, 0:2] = True                     # 4 px
    pred = np.zeros((4, 4), bool)
    pred[0:2, 1:3] = True                   # 4 px, 2 overlap
    assert iou(gt, pred) == pytest.approx(2 / 6)


def test_iou_ignore_band_excluded():
    gt = np.zeros((4, 4), bool)
    gt[0:2, 0:2] = True
    pred = gt.copy()
    pred[3, 3] = True                        # a false positive...
    ignore = np.zeros((4, 4), bool)
    ignore[3, 3] = True                      # ...inside the ignore band: not counted
    assert iou(gt, pred, ignore) == 1.0
    ignore[:] = False
    ignore[0, 0] = True                      # ignoring a true positive: 3 / 4
    assert iou(gt, pred, ignore) == pytest.approx(3 / 4)


def test_iou_both_empty_is_one():
    z = np.zeros((3, 3), bool)
    assert iou(z, z) == 1.0


def test_boundary_width_ratio_and_pixels():
    assert boundary_width((300, 400), 0.005) == 2      # 0.005 * 500 = 2.5, rounded to even
    assert boundary_width((3000, 4000), 0.005) == 25
    assert boundary_width((10, 10), 0.005) == 1        # at least one pixel
    assert boundary_width((300, 400), 3) == 3          # >= 1: pixels


def test_mask_boundary_band_and_image_border():
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    b = mask_boundary(m, 1)
    expected = m.copy()
    expected[2:5, 2:5] = False
    assert (b == expected).all()
    full = np.ones((5, 5), bool)             # edges on the image border count as boundary
    assert mask_boundary(full, 1).sum() == 16


def test_boundary_iou_hand_computed():
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True                      # 6x6 square, 1-px band = 20 px
    pred = np.zeros((10, 10), bool)
    pred[2:8, 3:9] = True                    # shifted right by one
    bg, bp = mask_boundary(gt, 1), mask_boundary(pred, 1)
    inter = (bg & bp).sum()
    union = (bg | bp).sum()
    assert boundary_iou(gt, pred, ratio=1) == pytest.approx(inter / union)
    assert inter == 10 and union == 30        # the overlapping vertical column pair + top/bottom rows
    assert boundary_iou(gt, gt, ratio=1) == 1.0


def test_noi_reached_and_never_reached():
    assert noi([0.5, 0.86, 0.91], 0.85, 20) == 2
    assert noi([0.5, 0.86, 0.91], 0.90, 20) == 3
    assert noi([0.5, 0.6], 0.90, 20) == 20            # never reached → the cap
    assert noi([0.5] * 30 + [0.99], 0.9, 20) == 20    # reached only after the cap
    mean, at_cap, failed = noi_summary([[0.9], [0.1, 0.2], [0.5, 0.95]], 0.9, 20)
    assert mean == pytest.approx((1 + 20 + 2) / 3)
    assert at_cap == failed == 1


def test_at_cap_column_counts_as_the_reference_does():
    """The reference's >=20@95 counts NoI == 20: an object that reaches 95 % exactly at click 20 (as
    GrabCut 21077 does with the default model, 0.952) is counted, though it is not a failure."""
    reaches_at_20 = [0.5] * 19 + [0.952]
    mean, at_cap, failed = noi_summary([reaches_at_20, [0.96]], 0.95, 20)
    assert (mean, at_cap, failed) == (10.5, 1, 0)


def test_mean_curve_extends_early_stopped_curves():
    c = mean_curve([[0.5, 1.0], [0.2, 0.4, 0.6]], 3)
    assert c.tolist() == pytest.approx([0.35, 0.7, 0.8])


def test_stride_ceiling_iou_synthetic():
    square = np.zeros((128, 120), bool)
    square[32:96, 40:100] = True  # edges on the 4-pixel grid: a stride-4 output draws all but its corners
    assert stride_ceiling_iou(square, 1) == 1.0
    assert stride_ceiling_iou(square, 4) == pytest.approx(1 - 4 / (64 * 60))
    line = np.zeros((64, 64), bool)
    line[10:50, 30] = True  # one pixel wide: a quarter of every 4x4 cell, never above 0.5
    assert stride_ceiling_iou(line, 4) == 0.0
    assert stride_ceiling_iou(line, 1) == 1.0
    full = np.ones((61, 67), bool)  # partial cells at the edges are averaged over their own pixels only
    assert stride_ceiling_iou(full, 8) == 1.0
    with pytest.raises(ValueError, match="stride must be >= 1"):
        stride_ceiling_iou(square, 0)


def test_stride_ceiling_iou_on_grabcut():
    """GrabCut's 304074 is capped near 0.91 IoU by a stride-4 output on the whole image, which is why a
    whole-image stride-4 model cannot reach 90 % on it; finer strides lift the cap."""
    from interseg.data.readers.grabcut import GrabCutDataset

    ds = GrabCutDataset(require_data("GrabCut"))
    sample = ds[ds.index_of("304074")]
    gt, ign = sample.gt > 0, sample.ignore > 0
    caps = [stride_ceiling_iou(gt, s, ign) for s in (1, 2, 4, 8)]
    assert caps[0] == 1.0
    assert caps[0] > caps[1] > caps[2] > caps[3]
    assert 0.89 < caps[2] < 0.93 and caps[3] < 0.8
