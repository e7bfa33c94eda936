"""The demo's controller, headless: every control, on real GrabCut images."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from interseg.data.image_io import load_label_map
from interseg.demo.controller import AnnotationController
from interseg.evaluation.metrics import iou
from interseg.inference.grabcut import GrabCutPredictor
from interseg.inference.net_predictor import NetPredictor
from interseg.interactions.errors import distance_transform
from interseg.models.network import ArchConfig, IntersegNet

from .conftest import require_data


@pytest.fixture
def folder(tmp_path):
    src = require_data("GrabCut")
    d = tmp_path / "imgs"
    d.mkdir()
    for name in ("106024.jpg", "124080.jpg", "153077.jpg"):
        shutil.copy(src / "data_GT" / name, d / name)
    (d / "broken.jpg").write_bytes(b"not an image")
    return d


def gt_of(name):
    m = load_label_map(require_data("GrabCut") / "boundary_GT" / f"{name}.bmp")
    return m > 128


def deepest(mask):
    dt = distance_transform(mask)
    y, x = np.unravel_index(int(dt.argmax()), dt.shape)
    return float(x), float(y)


@pytest.fixture
def ctl(folder):
    c = AnnotationController(GrabCutPredictor())
    assert c.open(folder / "106024.jpg")
    return c


def test_click_finish_save_restore_round_trip(ctl, folder):
    gt = gt_of("106024")
    ctl.press(*deepest(gt), True)
    assert iou(gt, ctl.session.mask) > 0.5
    assert ctl.finish_object()
    ids = load_label_map(folder / "106024.ids.png")
    assert set(np.unique(ids)) == {0, 1}
    # second object: background region, negative + positive clicks
    ctl.press(20, 20, True)
    ctl.press(300, 40, False)
    ctl.finish_object()
    coco = json.loads((folder / "106024.coco.json").read_text())
    assert [a["id"] for a in coco["annotations"]] == [1, 2]
    assert coco["annotations"][0]["segmentation"]["size"] == [321, 481]
    assert "polygons" not in coco["annotations"][0]          # COCO tools read segmentation only
    record = json.loads((folder / "106024.interseg.json").read_text())
    assert record["polygons"][0][0]["exterior"]
    first = (load_label_map(folder / "106024.ids.png") == 1)
    # reopen: objects restored
    c2 = AnnotationController(GrabCutPredictor())
    c2.open(folder / "106024.jpg")
    assert len(c2.session.objects) == 2
    assert np.array_equal(c2.session.objects[0].mask, first)
    assert c2.session.objects[0].interactions and c2.session.objects[0].interactions[0].kind == "point"


def test_polygons_keep_holes(tmp_path):
    from interseg.demo.annotations import polygons_with_holes

    m = np.zeros((50, 50), bool)
    m[5:45, 5:45] = True
    m[20:30, 20:30] = False
    (poly,) = polygons_with_holes(m)
    assert len(poly["holes"]) == 1


def test_undo_redo_reset_and_reopen_last_object(ctl):
    gt = gt_of("106024")
    ctl.press(*deepest(gt), True)
    ctl.press(20, 20, False)
    m2 = ctl.session.mask.copy()
    ctl.undo()
    assert len(ctl.session.interactions) == 1
    ctl.redo()
    assert len(ctl.session.interactions) == 2 and np.array_equal(ctl.session.mask, m2)
    ctl.reset_object()
    assert ctl.session.interactions == [] and not ctl.session.mask.any()
    ctl.press(*deepest(gt), True)
    ctl.finish_object()
    ctl.undo()  # nothing in the current object: the last finished one is reopened for editing
    assert ctl.session.objects == [] and ctl.session.mask.any()


def test_type_switching_keeps_progress_and_draws(ctl):
    gt = gt_of("106024")
    ctl.press(*deepest(gt), True)
    ctl.set_kind("stroke")
    x, y = deepest(gt)
    ctl.press(x, y - 30, True)
    ctl.drag(x, y)
    ctl.release(x, y + 30)
    ctl.set_kind("contour")
    ctl.press(5, 5, False)
    for p in [(60, 5), (60, 60), (5, 60)]:
        ctl.drag(*p)
    ctl.release(5, 6)
    kinds = [i.kind for i in ctl.session.interactions]
    assert kinds == ["point", "stroke", "contour"]
    assert not ctl.session.interactions[2].positive
    ctl.set_kind("contour")
    ctl.press(5, 5, True)
    ctl.release(6, 6)  # too short to be a contour
    assert "too short" in ctl.status and len(ctl.session.interactions) == 3
    with pytest.raises(ValueError):
        ctl.set_kind("lasso")


def test_press_outside_image_is_clamped(ctl):
    ctl.press(-50, 10_000, True)
    (c,) = ctl.session.interactions
    assert c.x == 0 and c.y == 320


def test_threshold_alpha_radius_width_change_output(folder):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    c = AnnotationController(NetPredictor(IntersegNet(ArchConfig("effnet_lite0", decoder_width=16)), "m"))
    c.open(folder / "106024.jpg")
    c.press(200, 150, True)
    c.set_threshold(0.01)
    low = c.session.mask.sum()
    c.set_threshold(0.99)
    high = c.session.mask.sum()
    assert low > high
    r1 = c.render()
    c.set_alpha(0.9)
    c.set_click_radius(15)
    c.set_line_width(9)
    assert not np.array_equal(r1, c.render())
    c.set_zoom_in(enabled=False, target_size=300, skip_clicks=2, expand_ratio=2.0)
    z = c.zoom_in_settings()
    assert (z.enabled, z.target_size, z.skip_clicks, z.expand_ratio) == (False, 300, 2, 2.0)


def test_folder_navigation_skips_unreadable_images(folder):
    c = AnnotationController(GrabCutPredictor())
    assert c.open(folder)
    names = [c.image_path.name]
    while c.next_image():
        names.append(c.image_path.name)
    assert names == ["106024.jpg", "124080.jpg", "153077.jpg"]
    assert c.prev_image() and c.image_path.name == "124080.jpg"
    # broken.jpg sorts last: opening it directly reports it and falls back to its neighbour
    assert c.open(folder / "broken.jpg")
    assert "broken.jpg" in c.status and c.image_path.name == "153077.jpg"


def test_switching_image_autosaves_and_output_folder(folder, tmp_path):
    out = tmp_path / "ann"
    c = AnnotationController(GrabCutPredictor(), output_dir=out)
    c.open(folder / "106024.jpg")
    c.press(*deepest(gt_of("106024")), True)
    c.finish_object()
    c.next_image()
    assert (out / "106024.ids.png").is_file() and not (folder / "106024.ids.png").exists()
    assert c.save() is None and "nothing to save" in c.status


def test_load_mask_to_refine(ctl, tmp_path):
    gt = gt_of("106024")
    p = tmp_path / "m.png"
    Image.fromarray(gt.astype(np.uint8) * 255).save(p)
    ctl.load_mask(p)
    assert np.array_equal(ctl.session.mask, gt)
    ctl.press(20, 20, False)  # refine from there
    assert iou(gt, ctl.session.mask) > 0.5


def test_view_zoom_and_pan(ctl):
    ctl.zoom_view(2.0, 100, 100)
    assert ctl.view_scale == 2.0
    assert ctl.view_to_image(100, 100) == pytest.approx((100, 100))
    ctl.pan_view(50, 0)
    assert ctl.view_to_image(150, 100) == pytest.approx((100, 100))
    ctl.fit_view(240, 160)
    assert ctl.view_scale == pytest.approx(0.4988, abs=1e-3)


def test_edge_refinement_toggle_applies_to_the_next_prediction(folder):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    probs = []
    for on in (False, True):
        c = AnnotationController(NetPredictor(net, "m"))
        assert c.refine_enabled() is False
        c.set_refine(on)
        assert c.refine_enabled() is on and ("on" if on else "off") in c.status
        c.open(folder / "106024.jpg")
        c.press(200, 150, True)
        probs.append(c.session.prob.copy())
    assert not np.allclose(probs[0], probs[1])
    g = AnnotationController(GrabCutPredictor())
    assert g.refine_enabled() is None
    g.set_refine(True)
    assert "network models only" in g.status


def test_saved_object_in_progress_survives_next_image_and_reopen(folder):
    """Ctrl+S with one finished object and one in progress, then → : both are on disk, and reopening the
    image restores both (the files used to be rewritten with the finished object only)."""
    c = AnnotationController(GrabCutPredictor())
    assert c.open(folder / "106024.jpg")
    gt = gt_of("106024")
    c.press(*deepest(gt), True)
    c.finish_object()
    c.press(20, 20, True)                      # the second object, not finished
    assert c.session.mask.any()
    c.save()
    assert "saved 2 object(s)" in c.status
    assert c.next_image()
    again = AnnotationController(GrabCutPredictor())
    again.open(folder / "106024.jpg")
    assert len(again.session.objects) == 2


def test_unwritable_output_keeps_the_image_open_and_says_why(folder, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    c = AnnotationController(GrabCutPredictor(), output_dir=blocker / "out")
    assert c.open(folder / "106024.jpg")
    c.press(*deepest(gt_of("106024")), True)
    assert c.save() is None and "could not save" in c.status
    assert not c.next_image()                      # staying: the object would be lost otherwise
    assert c.image_path.name == "106024.jpg" and "nothing was lost" in c.status


def test_overlapping_objects_agree_in_every_file(folder):
    from pycocotools import mask as mask_utils

    c = AnnotationController(GrabCutPredictor())
    assert c.open(folder / "106024.jpg")
    h, w = c.session.shape
    c.session.start_from(np.pad(np.ones((100, 100), bool), ((50, h - 150), (50, w - 150))))
    c.finish_object()
    c.session.start_from(np.pad(np.ones((100, 100), bool), ((100, h - 200), (100, w - 200))))   # overlaps
    c.finish_object()
    ids = load_label_map(folder / "106024.ids.png")
    coco = json.loads((folder / "106024.coco.json").read_text())
    for ann in coco["annotations"]:
        m = mask_utils.decode({"size": ann["segmentation"]["size"],
                               "counts": ann["segmentation"]["counts"].encode()}).astype(bool)
        assert np.array_equal(m, ids == ann["id"]) and ann["area"] == int(m.sum())
    assert (ids == 2).sum() == 100 * 100 - 50 * 50           # the new object claims unlabelled pixels only


def test_labels_object_list_relabel_delete_and_unsaved_mark(folder):
    c = AnnotationController(GrabCutPredictor(), labels=["penguin", "rock"])
    assert c.open(folder / "106024.jpg")
    assert c.title() == "interseg — 106024.jpg"
    c.press(*deepest(gt_of("106024")), True)
    assert c.dirty and c.title() == "interseg — * 106024.jpg"     # a change not yet on disk
    c.finish_object()
    assert not c.dirty                                     # finished objects are saved at once
    c.set_label("sky")                                     # typed: a new label
    assert c.labels == ["penguin", "rock", "sky"]
    c.press(20, 20, True)
    c.finish_object()
    assert [o.label for o in c.session.objects] == ["penguin", "sky"]
    coco = json.loads((folder / "106024.coco.json").read_text())
    names = {cat["id"]: cat["name"] for cat in coco["categories"]}
    assert [names[a["category_id"]] for a in coco["annotations"]] == ["penguin", "sky"]
    c.select_object(1)
    c.relabel_object(1, "rock")
    c.delete_object(0)
    again = AnnotationController(GrabCutPredictor())
    again.open(folder / "106024.jpg")
    assert [o.label for o in again.session.objects] == ["rock"] and "rock" in again.labels
    again.delete_object(0)                                 # nothing left: no stale files
    assert not (folder / "106024.coco.json").exists() and not (folder / "106024.ids.png").exists()


def test_view_fits_the_window_centred_and_outlines_show_on_red(folder):
    c = AnnotationController(GrabCutPredictor())
    c.fit_view(1000, 800)                                  # the window, before any image
    assert c.open(folder / "106024.jpg")                   # 481 x 321: scaled up to fill, centred
    assert c.view_scale == pytest.approx(1000 / 481)
    ix, iy = c.view_to_image(500, 400)
    assert (ix, iy) == pytest.approx((240.5, 160.5))
    h, w = c.session.shape
    c.session.image[:] = (230, 20, 20)                     # a red picture
    c.session.start_from(np.pad(np.ones((100, 100), bool), ((100, h - 200), (100, w - 200))))
    out = c.render()
    across = out[95:106, 150].astype(int)                  # across the mask's top edge
    assert (across.min(axis=1) > 200).any()                 # a white line
    assert (across.max(axis=1) < 60).any()                  # and a black one, whatever the colours
