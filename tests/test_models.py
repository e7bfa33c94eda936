"""Networks, checkpoints and the predictor on a real GrabCut image."""

import pickle

import cv2
import numpy as np
import pytest
import torch

from interseg.errors import CheckpointError
from interseg.inference.loading import load_predictor, resolve_checkpoint
from interseg.inference.net_predictor import NetPredictor, PredictorOptions
from interseg.inference.session import Session
from interseg.inference.zoom_in import ZoomInParams
from interseg.interactions.users import SimulatedUser
from interseg.models.backbones import BACKBONES
from interseg.models.checkpoint import load_checkpoint, save_checkpoint
from interseg.models.efficientnet_lite import EfficientNetLite, pretrained_path
from interseg.models.network import ArchConfig, IntersegNet, load_imagenet_weights

ARCHS = ["effnet_lite0", "effnet_lite2", "mit_b0", "hrnet18s", "hrnet18"]


@pytest.fixture(scope="module")
def small_sample(grabcut_samples):
    s = grabcut_samples[0].resized(160)
    return s


@pytest.mark.parametrize("backbone", ARCHS)
def test_every_architecture_runs_each_input_type_and_round_trips(backbone, small_sample, tmp_path):
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig(backbone=backbone))
    path = save_checkpoint(tmp_path / f"{backbone}.safetensors", net, {"name": backbone})
    p1 = NetPredictor(net, backbone, PredictorOptions(zoom_in=ZoomInParams(enabled=False)))
    p2 = load_predictor(str(path))
    p2.set_options(p1.options)
    assert p2.net.arch == net.arch and p2.name == backbone
    for kind in ("point", "contour", "stroke"):
        s = small_sample
        it = SimulatedUser(0).next(kind, s.gt, np.zeros_like(s.gt), s.ignore)
        assert it.kind == kind
        a = Session(s.image, p1).add(it).prob
        b = Session(s.image, p2).add(it).prob
        assert a.shape == s.gt.shape and np.isfinite(a).all()
        assert np.array_equal(a, b)  # identical outputs after the round trip


def test_pickled_checkpoint_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    p = tmp_path / "evil.pth"
    with p.open("wb") as f:
        pickle.dump({"state_dict": Evil()}, f)
    # only SAIC-IS/RITM checkpoints are read from pickles, through an allow-list (test_reference_checkpoints)
    with pytest.raises(CheckpointError, match="refused: the pickle names (the global 'builtins.print'|pickle opcode)"):
        load_checkpoint(p)
    torch.save({"a": torch.zeros(2)}, tmp_path / "t.pth")
    with pytest.raises(CheckpointError, match="not a SAIC-IS/RITM checkpoint"):
        load_checkpoint(tmp_path / "t.pth")


def test_metadata_update_rewrites_only_on_change(tmp_path):
    """Writing the results a shipped file already holds leaves its bytes alone (safetensors may order
    the header differently on each write); new values are merged in, weights untouched."""
    from interseg.models.checkpoint import read_metadata, update_metadata

    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    path = save_checkpoint(tmp_path / "m.safetensors", net, {"name": "m", "results": {"NoI@90": "2.48"}})
    before = path.read_bytes()
    assert update_metadata(path, {"results": {"NoI@90": "2.48"}}) is False
    assert path.read_bytes() == before
    assert update_metadata(path, {"results": {"NoI@90": "2.40"}}) is True
    assert read_metadata(path)[1] == {"name": "m", "results": {"NoI@90": "2.40"}}
    a, b = net.state_dict(), load_checkpoint(path)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_truncated_foreign_and_tampered_checkpoints(tmp_path):
    net = IntersegNet(ArchConfig("mit_b0"))
    good = save_checkpoint(tmp_path / "m.safetensors", net)
    data = good.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        load_checkpoint(tmp_path / "cut.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="without interseg metadata"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    sd = {k: v for k, v in net.state_dict().items() if "head.cls" not in k}
    meta = {"format": "interseg-checkpoint", "version": "1",
            "arch": '{"backbone": "mit_b0"}', "meta": "{}"}
    save_file(sd, str(tmp_path / "tampered.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path / "tampered.safetensors")
    meta["arch"] = '{"backbone": "resnet50"}'
    save_file(sd, str(tmp_path / "arch.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="unknown backbone"):
        load_checkpoint(tmp_path / "arch.safetensors")


@pytest.mark.parametrize("options", [
    PredictorOptions(zoom_in=ZoomInParams(enabled=True, target_size=96, min_crop=40)),
    PredictorOptions(fixed_size=(64, 96), zoom_in=ZoomInParams(enabled=False)),
    PredictorOptions(max_size=100, zoom_in=ZoomInParams(enabled=False)),
    PredictorOptions(fixed_size=(64, 64), zoom_in=ZoomInParams(enabled=True, target_size=64, min_crop=32), flip=False),
])
def test_output_always_at_image_size(options, grabcut_samples):
    s = grabcut_samples[2]
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=32))
    session = Session(s.image, NetPredictor(net, "m", options))
    user = SimulatedUser(0)
    for kind in ("point", "point", "contour", "stroke"):
        r = session.add(user.next(kind, s.gt, session.mask, s.ignore, session.interactions))
        assert r.prob.shape == s.gt.shape and r.mask.shape == s.gt.shape
    if options.zoom_in.enabled:
        x0, y0, x1, y1 = session.state.roi
        assert 0 <= x0 < x1 <= s.gt.shape[1] and 0 <= y0 < y1 <= s.gt.shape[0]
        outside = np.ones_like(s.gt)
        outside[y0:y1, x0:x1] = False
        assert (session.prob[outside] == 0).all()  # ZoomIn: zero outside the crop


def test_zoom_in_skips_first_click_only():
    from interseg.inference.zoom_in import zoom_roi
    from interseg.interactions.types import Click, Contour

    p = ZoomInParams()
    prev = np.zeros((600, 800), np.float32)
    assert zoom_roi(p, [Click(100, 100)], prev, None) is None
    roi = zoom_roi(p, [Click(100, 100), Click(120, 110)], prev, None)
    assert roi is not None and roi[2] - roi[0] >= 200
    contour = [Contour.from_points([[10, 10], [300, 10], [300, 200]])]
    assert zoom_roi(p, contour, prev, None) is None        # no object predicted yet (tests/test_zoom_in.py)
    assert zoom_roi(ZoomInParams(marks_alone=True), contour, prev, None) is not None


def _imagenet_top(variant, image_path, size):
    m = EfficientNetLite(variant)
    m.load_state_dict(torch.load(pretrained_path(variant), weights_only=True))
    m.eval()
    img = cv2.imread(str(image_path))[:, :, ::-1]
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    x = torch.from_numpy((img - 0.498) / 0.502).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        p = m.classify(x).softmax(1)[0]
    return int(p.argmax()), float(p.max())


@pytest.mark.parametrize("variant,size", [("lite0", 224), ("lite2", 260)])
def test_pretrained_efficientnet_really_classifies(variant, size):
    from interseg.data.registry import SAMPLE_DIR

    cls, prob = _imagenet_top(variant, SAMPLE_DIR / "img" / "elephant00_000000183648.jpg", size)
    assert cls in (101, 385, 386), cls   # tusker / Indian / African elephant
    assert prob > 0.3
    cls, _ = _imagenet_top(variant, SAMPLE_DIR / "img" / "bear00_000000243075.jpg", size)
    assert cls in (294, 295, 296, 297), cls  # the bears


def test_imagenet_loading_reports_keys():
    net = IntersegNet(ArchConfig("effnet_lite0"))
    before = net.backbone._conv_stem.weight.clone()
    report = load_imagenet_weights(net)
    assert report["missing"] == []
    assert report["unexpected"] and all(k.startswith(("_fc", "_conv_head", "_bn1")) for k in report["unexpected"])
    assert not torch.equal(before, net.backbone._conv_stem.weight)
    with pytest.raises(CheckpointError, match="no ImageNet weights path"):
        load_imagenet_weights(IntersegNet(ArchConfig("mit_b0")))


def test_segformer_decoder_equals_the_published_concatenation(grabcut_samples):
    """The fused MLP decoder computes the concat-then-fuse head: same logits (shipped weights, real
    GrabCut features, an odd-sized input so the stages do not divide evenly) and, in training mode,
    the same gradients for every decoder parameter and every stage's features."""
    net, _ = load_checkpoint(resolve_checkpoint("interseg_segformer_b0", None))
    net.eval()
    s = grabcut_samples[1].resized(203)
    image = net.normalize(torch.from_numpy(s.image).permute(2, 0, 1)[None].float() / 255)
    with torch.no_grad():
        feats = net.backbone(image)
    assert feats[0].shape[2:] != tuple(2 * n for n in feats[1].shape[2:])  # uneven strides are covered
    with torch.no_grad():
        fused, concat = net.head(feats), net.head.forward_concat(feats)
    assert fused.abs().max() > 1  # real logits, not a degenerate head
    assert torch.allclose(fused, concat, atol=1e-4, rtol=1e-4)
    net.head.train()
    grads = []
    for fn in (net.head, net.head.forward_concat):
        net.head.zero_grad()
        xs = [f.clone().requires_grad_(True) for f in feats]
        fn(xs).square().mean().backward()
        grads.append([x.grad for x in xs] + [p.grad.clone() for p in net.head.parameters()])
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("backbone", ["effnet_lite0", "mit_b0", "hrnet18s"])
def test_onnx_export_matches_torch(backbone, tmp_path):
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig(backbone))
    ckpt = save_checkpoint(tmp_path / "m.safetensors", net)
    from interseg.cli import main

    assert main(["export-onnx", "--checkpoint", str(ckpt), "--size", "96", "128", "-o", str(tmp_path / "m.onnx")]) == 0
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.shape for i in sess.get_inputs()] == [[1, 3, 96, 128], [1, 7, 96, 128]]


def test_predict_command(tmp_path, grabcut_samples):
    import json

    from interseg.cli import main
    from interseg.data.image_io import load_label_map

    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    ckpt = save_checkpoint(tmp_path / "m.safetensors", net)
    img = tmp_path / "img.png"
    cv2.imwrite(str(img), grabcut_samples[0].image[:, :, ::-1])
    (tmp_path / "s.json").write_text(json.dumps({"points": [[10, 10], [40, 30]], "positive": False}))
    (tmp_path / "c.json").write_text(json.dumps([[50, 50], [150, 50], [150, 150]]))
    out = tmp_path / "mask.png"
    assert main(["predict", str(img), "--checkpoint", str(ckpt), "--click", "100,120", "--click", "5,5,neg",
                 "--stroke", str(tmp_path / "s.json"), "--contour", str(tmp_path / "c.json"), "-o", str(out),
                 "--overlay", str(tmp_path / "ov.png")]) == 0
    mask = load_label_map(out)
    assert mask.shape == grabcut_samples[0].gt.shape and set(np.unique(mask)) <= {0, 255}
    assert (tmp_path / "ov.png").stat().st_size > 0
    assert main(["predict", str(img), "--checkpoint", str(ckpt), "--click", "9999,1", "-o", str(out)]) == 2
    assert main(["predict", str(img), "--checkpoint", str(ckpt), "--click", "1;2", "-o", str(out)]) == 2


def test_onnx_backend_matches_torch_backend(grabcut_samples):
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=32))
    s = grabcut_samples[1]
    a = Session(s.image, NetPredictor(net, "t", PredictorOptions(backend="torch")))
    b = Session(s.image, NetPredictor(net, "o", PredictorOptions(backend="onnx")))
    user = SimulatedUser(0)
    for kind in ("point", "point", "contour"):
        it = user.next(kind, s.gt, a.mask, s.ignore, a.interactions)
        pa, pb = a.add(it).prob, b.add(it).prob
        assert np.abs(pa - pb).max() < 1e-3


def test_models_publish_and_list(tmp_path, capsys):
    from interseg.cli import main
    from interseg.models.checkpoint import read_metadata

    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    untrained = save_checkpoint(tmp_path / "untrained.safetensors", net, {"trained": False})
    assert main(["models", "publish", str(untrained), "--name", "x", "--output-dir", str(tmp_path / "out")]) == 2
    assert "not a trained checkpoint" in capsys.readouterr().err
    run_meta = {"trained": True, "name": "recipe_a", "epoch": 7, "iterations": 700, "training_data": ["ECSSD"],
                "recipe": {"huge": "run-specific"}, "init": "ImageNet"}
    trained = save_checkpoint(tmp_path / "last.safetensors", net, run_meta)
    assert main(["models", "publish", str(trained), "--name", "mine", "--recipes", "configs/a.yaml,configs/b.yaml",
                 "--training-time", "2 h", "--output-dir", str(tmp_path / "out")]) == 0
    arch, meta = read_metadata(tmp_path / "out" / "mine.safetensors")
    assert arch.backbone == "effnet_lite0" and meta["name"] == "mine" and "recipe" not in meta
    assert meta["recipes"] == ["configs/a.yaml", "configs/b.yaml"] and meta["iterations"] == 700
    a, b = load_checkpoint(trained)[0], load_checkpoint(tmp_path / "out" / "mine.safetensors")[0]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_model_recommended_zoom_in_start_is_used_unless_overridden(tmp_path, capsys):

    from interseg.cli import main
    from interseg.models.checkpoint import update_metadata

    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    trained = save_checkpoint(tmp_path / "last.safetensors", net, {"trained": True})
    out = tmp_path / "out"
    assert main(["models", "publish", str(trained), "--name", "z", "--output-dir", str(out),
                 "--zoom-in-skip-clicks", "-1"]) == 2
    assert "--zoom-in-skip-clicks must be >= 0" in capsys.readouterr().err
    assert main(["models", "publish", str(trained), "--name", "z", "--output-dir", str(out),
                 "--zoom-in-skip-clicks", "20"]) == 0
    path = out / "z.safetensors"
    assert load_predictor(str(path)).options.zoom_in.skip_clicks == 20
    assert load_predictor(str(trained)).options.zoom_in.skip_clicks == 1  # no recommendation
    assert load_predictor(str(path), zoom_in_skip_clicks=3).options.zoom_in.skip_clicks == 3
    # the fingerprint of benchmark records follows the effective option
    assert load_predictor(str(path)).fingerprint != load_predictor(str(path), zoom_in_skip_clicks=3).fingerprint
    update_metadata(path, {"inference": {"zoom_in_skip_clicks": "many"}})
    with pytest.raises(CheckpointError, match="z.safetensors: metadata inference.zoom_in_skip_clicks"):
        load_predictor(str(path))


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_table_matches_the_built_backbones(name):
    """The table's feature channels are what each backbone really hands the decoder."""
    from interseg.models.backbones import backbone_spec

    spec = backbone_spec(name)
    built = spec.build()
    channels = built.out_channels if isinstance(built.out_channels, list) else [built.out_channels]
    assert tuple(channels) == spec.feature_channels
    assert (spec.imagenet_key is None) == (spec.packaged_weights is not None)  # one source of ImageNet weights
    with pytest.raises(ValueError, match="unknown backbone 'resnet50'; known: hrnet18"):
        backbone_spec("resnet50")


def test_a_new_backbone_family_is_one_table_row(monkeypatch):
    """The network reads everything family-specific from the table: where the interaction maps are fused
    in, the head, the auxiliary head's level. A toy family added as one row builds, runs, and its maps
    reach the logits."""
    from torch import nn

    from interseg.models import backbones

    class Toy(nn.Module):
        out_channels = [8, 16]

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, 2, 1)
            self.down = nn.Conv2d(8, 16, 3, 2, 1)

        def forward(self, x, extra=None):
            a = self.stem(x) + (0 if extra is None else extra)
            return [a, self.down(a)]

    class Head(nn.Module):
        def __init__(self, ch, width):
            super().__init__()
            self.cls = nn.Conv2d(ch[0], 1, 1)

        def forward(self, feats):
            return self.cls(feats[0])

    row = backbones.BackboneSpec("toy", "effnet", Toy, (8, 16), 64, fusion_channels=8, fusion_stride=2,
                                 head=lambda ch, _, width: Head(ch, width), aux_level=1)
    monkeypatch.setitem(backbones.BACKBONE_TABLE, "toy", row)
    net = IntersegNet(ArchConfig(backbone="toy")).eval()
    with torch.no_grad():
        net.maps_scale.fill_(1.0)
        image, maps = torch.randn(1, 3, 64, 64), torch.zeros(1, 7, 64, 64)
        out = net(image, maps)
        maps[:, 1, 20:30, 20:30] = 1.0
        moved = net(image, maps)
    assert out["instances"].shape == out["aux"].shape == (1, 1, 64, 64)
    assert not torch.equal(out["instances"], moved["instances"])    # the fused maps change the logits


def test_a_refiner_at_stride_two_starts_as_the_network_and_exports(tmp_path):
    """refiner_stride 2: the refiner's last convolution runs at stride 2 and its correction is upsampled.
    New, it predicts exactly what the network does without it; trained (here: random last weights), its
    correction is its stride-2 map upsampled to the input's size, the checkpoint keeps the stride, and ONNX
    export matches PyTorch."""
    from interseg.models.onnx_export import export_onnx

    torch.manual_seed(0)
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16, refiner_width=8, refiner_stride=2)).eval()
    plain = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16)).eval()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("refiner.")})
    image, maps = torch.randn(1, 3, 96, 128), (torch.rand(1, 7, 96, 128) > 0.97).float()
    with torch.no_grad():
        assert torch.equal(net(image, maps)["instances"], plain(image, maps)["instances"])
        torch.nn.init.normal_(net.refiner.out.weight, std=0.5)
        small = []
        hook = net.refiner.out.register_forward_hook(lambda _m, _i, out: small.append(out))
        correction = net(image, maps)["instances"] - plain(image, maps)["instances"]
        hook.remove()
    # the correction is computed on a 48x64 grid and upsampled bilinearly to the input's 96x128
    assert small[0].shape == (1, 1, 48, 64) and correction.abs().max() > 0.1
    up = torch.nn.functional.interpolate(small[0], size=(96, 128), mode="bilinear", align_corners=False)
    assert torch.allclose(correction, up, atol=1e-4)
    ckpt = save_checkpoint(tmp_path / "r.safetensors", net)
    loaded, _ = load_checkpoint(ckpt)
    assert loaded.arch.refiner_stride == 2 and loaded.refiner.stride == 2
    assert export_onnx(net, tmp_path / "r.onnx", (96, 128)) < 1e-3
    with pytest.raises(ValueError, match="refiner_stride must be 1 or 2"):
        ArchConfig("effnet_lite0", refiner_width=8, refiner_stride=4).validate()


def test_a_refiner_on_the_clicks_does_not_read_outlines_or_strokes():
    """refiner_maps "clicks": the refiner's correction depends on the previous mask and the click maps, and
    not on the contour and stroke maps; "all" reads them."""
    from interseg.models.inputs import channel
    from interseg.models.refiner import BoundaryRefiner

    torch.manual_seed(0)
    image, logits = torch.randn(1, 3, 64, 64), torch.randn(1, 1, 64, 64)
    maps = torch.zeros(1, 7, 64, 64)
    outline = maps.clone()
    outline[:, channel("contour", True), 10:40, 10:40] = 1
    outline[:, channel("stroke", False), 50:54, 5:60] = 1
    click = maps.clone()
    click[:, channel("point", True), 30:35, 30:35] = 1
    for kind, reads_outlines in (("clicks", False), ("all", True)):
        r = BoundaryRefiner(8, 2, kind).eval()
        torch.nn.init.normal_(r.out.weight, std=0.5)
        with torch.no_grad():
            plain, with_outline, with_click = (r(image, m, logits) for m in (maps, outline, click))
        assert not torch.equal(plain, with_click)
        assert torch.equal(plain, with_outline) != reads_outlines, kind
    with pytest.raises(ValueError, match="refiner_maps must be one of all, clicks"):
        ArchConfig("effnet_lite0", refiner_width=8, refiner_maps="contours").validate()
