"""SAIC-IS and RITM checkpoints (``.pth``) in interseg: safe loading, architecture from the file, the
reference networks' logits, import to safetensors, the predictor's reference settings, bad files."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import interseg
from interseg.cli import main
from interseg.errors import CheckpointError
from interseg.interactions.encoding import EncodingParams, encode
from interseg.interactions.types import Click
from interseg.models.checkpoint import load_checkpoint, read_metadata
from interseg.models.folding import FoldedForward
from interseg.models.network import IntersegNet, load_imagenet_weights
from interseg.models.reference import ReferenceNet, load_reference_pth

from .conftest import ROOT, require_data

REF = (ROOT / ".." / "shared" / "reference" / "checkpoints").resolve()
FIXTURES = ["saic_is_hrnet18_multi", "saic_is_segformer_mit_b1_multi", "ritm_hrnet18_cocolvis"]


def _ref(name: str) -> Path:
    path = REF / f"{name}.pth"
    if not path.is_file():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{path}: reference checkpoints missing in CI")
        pytest.skip(f"{path} not available")
    return path


def _inputs(net: ReferenceNet, z) -> dict:
    image = torch.cat([torch.from_numpy(z["image"])[None], torch.from_numpy(z["prev_mask"])[None, None]], 1)
    kw = {"image_and_prev": image, "points": torch.from_numpy(z["points"])}
    if net.arch.multi_input:
        kw.update(contour_maps=torch.from_numpy(z["contour_maps"]), stroke_maps=torch.from_numpy(z["stroke_maps"]))
    return kw


@pytest.fixture(scope="module", params=FIXTURES)
def loaded(request):
    path = _ref(request.param)
    net, meta = load_checkpoint(path)
    return request.param, net, meta, dict(np.load(path.with_suffix(".npz")))


def test_reference_logits_are_reproduced(loaded):
    name, net, meta, z = loaded
    assert isinstance(net, ReferenceNet)
    with torch.no_grad():
        out = net.forward_reference(**_inputs(net, z))
    for key, ref_key in (("instances", "instances"), ("aux", "instances_aux")):
        ref = torch.from_numpy(z[ref_key])
        if float((out[key] - ref).abs().max()) <= 1e-4:
            continue
        # another CPU's float32 kernels round differently (random HRNet weights: the reference's own output
        # is about 1e-3 off the exact result): then ours must be about as close to the float64 result
        with torch.no_grad():
            exact = copy.deepcopy(net).double().forward_reference(
                **{k: v.double() if v.is_floating_point() else v for k, v in _inputs(net, z).items()})[key]
        ours, theirs = (float((o.double() - exact).abs().max()) for o in (out[key], ref))
        assert ours <= 1.5 * theirs + 1e-4, (key, ours, theirs)
    # every input moves the output: dropping the clicks must change the logits far beyond the tolerance
    with torch.no_grad():
        kw = _inputs(net, z)
        kw["points"] = torch.full_like(kw["points"], -1)
        assert float((net.forward_reference(**kw)["instances"] - out["instances"]).abs().max()) > 1e-2


def test_optimised_network_is_as_close_to_exact_as_the_reference(loaded):
    """Folded batch norm + channels-last: within 1e-3 of the reference's logits, or — where the
    reference's own float32 rounding is larger (random weights) — no farther from the float64 result."""
    name, net, meta, z = loaded
    kw = _inputs(net, z)
    ref = torch.from_numpy(z["instances"]).double()
    with torch.no_grad():
        folded = FoldedForward(net)
        original = net.forward
        net.forward = lambda image, maps: folded(image, maps)
        try:
            opt = net.forward_reference(**kw)["instances"].double()
        finally:
            net.forward = original
        if net.arch.family == "hrnet":
            assert folded.folded > 300
        diff = float((opt - ref).abs().max())
        if diff > 1e-3:
            exact = net.double().forward_reference(**{k: v.double() for k, v in kw.items()})["instances"]
            net.float()
            assert float((opt - exact).abs().max()) <= 1.05 * float((ref - exact).abs().max()), name


def test_architecture_and_predictor_settings_come_from_the_file(loaded):
    name, net, meta, _ = loaded
    arch = net.arch
    if name.startswith("saic_is"):
        assert arch.source == "saic-is" and arch.input_types == ("point", "contour", "stroke")
        assert arch.accumulate_multi_input and arch.norm_radius == 3
        assert meta["inference"]["fixed_size"] == [448, 448] and meta["inference"]["max_size"] == 1000
    else:
        assert arch.source == "ritm" and arch.input_types == ("point",) and arch.norm_radius == 5
        assert meta["inference"]["zoom_in_target_size"] == 400
    assert arch.backbone == ("mit_b1" if "segformer" in name else "hrnet18")


def test_predictor_uses_the_reference_settings_and_they_can_be_overridden(tmp_path):
    path = _ref("saic_is_hrnet18_multi")
    p = interseg.load_predictor(path)
    assert p.options.fixed_size == (448, 448) and not p.options.click_guard.enabled
    assert p.name == "saic_is_hrnet18_multi"
    q = interseg.load_predictor(path, zoom_in=False, click_guard=True, max_size=512)
    assert not q.options.zoom_in.enabled and q.options.click_guard.enabled and q.options.max_size == 512
    image = np.full((120, 160, 3), 128, np.uint8)
    prob = p.predict(p.prepare(image), [Click(80, 60)])
    assert prob.shape == (120, 160) and np.isfinite(prob).all()


def test_import_writes_a_safetensors_checkpoint_that_loads_without_unpickling(tmp_path, capsys, monkeypatch):
    src = _ref("ritm_hrnet18_cocolvis")
    out = tmp_path / "ritm.safetensors"
    assert main(["models", "import", str(src), "-o", str(out)]) == 0
    assert "RITM HRNetModel, hrnet18, inputs point" in capsys.readouterr().out
    a, meta = load_checkpoint(src)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("an imported checkpoint must load without torch.load")

    monkeypatch.setattr(torch, "load", no_unpickling)
    b, meta_b = load_checkpoint(out)
    assert a.arch == b.arch and meta_b["imported_from"] == src.name and meta_b["name"] == "ritm"
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    arch, _ = read_metadata(out)
    assert arch == a.arch


def test_reference_click_encoding_is_the_distmaps_disk():
    params = EncodingParams(click_radius=3, point_maps="reference_disk")
    maps = encode([Click(12, 10), Click(30.0, 5.0, positive=False)], (40, 50), params)
    # integer (dy, dx) with dy^2 + dx^2 <= 9: 29 pixels, centred on (row 10, col 12)
    assert maps[0].sum() == 29 and maps[0][10, 12] == 1 and maps[0][10, 15] == 1
    assert maps[0][12, 14] == 1 and maps[0][13, 14] == 0
    assert maps[1].sum() == 29 and maps[1][5, 30] == 1
    dist = encode([Click(12, 10)], (40, 50), EncodingParams(click_radius=5, point_maps="reference_distance"))
    assert dist[0][10, 12] == 0 and dist[0][10, 17] == pytest.approx(np.tanh(2.0), abs=1e-6)
    assert (dist[1] == 1).all()     # no negative click: the reference's "far from every click"


def test_crafted_pickle_is_refused_and_nothing_runs(tmp_path, capsys):
    marker = tmp_path / "ran"

    class Smuggled:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "hrnet18_multi.pth"
    torch.save({"state_dict": {}, "config": Smuggled()}, bad)
    with pytest.raises(CheckpointError, match=r"refused.*'(posix|os)\.system'") as e:
        load_reference_pth(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()
    assert main(["predict", str(REF.parent.parent / "datasets" / "GrabCut" / "data_GT" / "106024.jpg"),
                 "--checkpoint", str(bad), "--click", "10,10", "-o", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err and not marker.exists()


def test_bad_reference_files_get_one_line_errors(tmp_path):
    src = _ref("ritm_hrnet18_cocolvis")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(truncated)
    other = tmp_path / "other_project.pth"
    torch.save({"model": {"w": torch.zeros(2)}, "epoch": 3}, other)
    with pytest.raises(CheckpointError, match="not a SAIC-IS/RITM checkpoint"):
        load_checkpoint(other)
    obj = load_reference_pth(src)
    obj["config"]["params"]["width"]["value"] = 32
    mismatched = tmp_path / "mismatched.pth"
    torch.save(obj, mismatched)
    with pytest.raises(CheckpointError, match="do not match the model its config describes"):
        load_checkpoint(mismatched)
    obj["config"]["class"] = "isegm.model.is_deeplab_model.DeeplabModel"
    torch.save(obj, mismatched)
    with pytest.raises(CheckpointError, match="not supported; supported: isegm.model.is_hrnet_model.HRNetModel"):
        load_checkpoint(mismatched)
    obj["config"]["class"] = "isegm.model.is_hrnet_model.HRNetModel"
    obj["config"]["params"]["clicks_groups"] = {"type": "builtin", "value": [5, 3], "specified": True}
    torch.save(obj, mismatched)
    with pytest.raises(CheckpointError, match="clicks_groups"):
        load_checkpoint(mismatched)


def test_official_imagenet_files_load_into_reference_and_interseg_backbones(tmp_path):
    """Official HRNetV2/MiT parameter names (``transition1.1.0.0``, ``mlp.dwconv.dwconv``) load into the
    reference-exact backbones and into interseg's own."""
    obj = load_reference_pth(_ref("saic_is_segformer_mit_b1_multi"))
    official = {k.removeprefix("feature_extractor.backbone."): v for k, v in obj["state_dict"].items()
                if k.startswith("feature_extractor.backbone.")}
    official["head.weight"] = torch.zeros(1000, 512)
    f = tmp_path / "mit_b1.pth"
    torch.save(official, f)
    fresh, _ = load_checkpoint(_ref("saic_is_segformer_mit_b1_multi"))
    for p in fresh.parameters():
        torch.nn.init.zeros_(p)
    report = load_imagenet_weights(fresh, str(f))
    assert report["missing"] == [] and report["unexpected"] == ["head.weight"]
    assert torch.equal(fresh.feature_extractor.backbone.block1[0].mlp.dwconv.weight,
                       official["block1.0.mlp.dwconv.dwconv.weight"])
    from interseg.models.network import ArchConfig

    own = IntersegNet(ArchConfig(backbone="mit_b1"))
    assert load_imagenet_weights(own, str(f))["missing"] == []
    hr = load_reference_pth(_ref("ritm_hrnet18_cocolvis"))["state_dict"]
    official = {k.removeprefix("feature_extractor."): v for k, v in hr.items()
                if k.startswith("feature_extractor.") and "ocr" not in k and "aux_head" not in k
                and "cls_head" not in k}
    assert "transition1.1.0.0.weight" in official
    f = tmp_path / "hrnetv2_w18.pth"
    torch.save(official, f)
    net, _ = load_checkpoint(_ref("ritm_hrnet18_cocolvis"))
    report = load_imagenet_weights(net, str(f))
    assert all(k.startswith(("conv3x3_ocr", "ocr_", "cls_head", "aux_head")) for k in report["missing"])
    assert torch.equal(net.feature_extractor.transition1[1][0].weight, official["transition1.1.0.0.weight"])


@pytest.mark.slow
def test_evaluate_and_export_run_with_a_reference_checkpoint(tmp_path, cfg, capsys):
    require_data("GrabCut")
    path = tmp_path / "saic_is_hrnet18_multi.pth"
    shutil.copy(_ref("saic_is_hrnet18_multi"), path)
    onnx = tmp_path / "m.onnx"
    assert main(["export-onnx", "--checkpoint", str(path), "-o", str(onnx), "--size", "256", "256"]) == 0
    assert "(OK" in capsys.readouterr().out
    assert main(["predict", str(require_data("GrabCut") / "data_GT" / "106024.jpg"), "--checkpoint", str(onnx),
                 "--click", "10,10", "-o", str(tmp_path / "m.png")]) == 2
    assert "is an ONNX model" in capsys.readouterr().err
