"""Batch norm folded into convolutions for the gradient-free passes of training."""

import numpy as np
import pytest
import torch

from interseg.inference.loading import resolve_checkpoint
from interseg.models.checkpoint import load_checkpoint
from interseg.models.folding import FoldedForward
from interseg.models.inputs import N_MAPS
from interseg.models.network import ArchConfig, IntersegNet


def _inputs(grabcut_samples, size=192):
    s = grabcut_samples[0].resized(size)
    image = torch.from_numpy(s.image).permute(2, 0, 1)[None].float() / 255
    maps = torch.zeros(1, N_MAPS, *image.shape[2:])
    ys, xs = torch.nonzero(torch.from_numpy(s.gt), as_tuple=True)
    maps[0, 1, ys[len(ys) // 2] - 3: ys[len(ys) // 2] + 3, xs[len(xs) // 2] - 3: xs[len(xs) // 2] + 3] = 1
    return image, maps


def _eval_logits(net, image, maps):
    was = net.training
    with torch.no_grad():
        out = net.eval()(net.normalize(image), maps)["instances"]
    net.train(was)
    return out


def test_shipped_model_folded_gives_the_eval_network_outputs_and_follows_training(grabcut_samples):
    net, _ = load_checkpoint(resolve_checkpoint("interseg_lite0"))
    net = net.to(memory_format=torch.channels_last).train()
    folded = FoldedForward(net)
    assert folded.folded == 50  # every conv + batch norm pair of EfficientNet-Lite0 and the FPN decoder
    image, maps = _inputs(grabcut_samples)
    with torch.no_grad():
        out = folded(net.normalize(image), maps)["instances"]
    ref = _eval_logits(net, image, maps)
    assert net.training  # the live network is left as it was
    assert torch.allclose(out, ref, atol=1e-4), (out - ref).abs().max()
    # one optimizer step (batch-norm statistics move too): stale until sync(), equal after it
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss = net(net.normalize(image), maps)["instances"].mean()
    loss.backward()
    opt.step()
    new_ref = _eval_logits(net, image, maps)
    assert (new_ref - ref).abs().max() > 1e-2
    with torch.no_grad():
        stale = folded(net.normalize(image), maps)["instances"]
        folded.sync()
        fresh = folded(net.normalize(image), maps)["instances"]
    assert torch.equal(stale, out)
    assert torch.allclose(fresh, new_ref, atol=1e-4), (fresh - new_ref).abs().max()


@pytest.mark.parametrize("backbone", ["hrnet18s", "mit_b0"])
def test_other_families_fold_or_run_unchanged(backbone, grabcut_samples):
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig(backbone=backbone))
    for m in net.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    folded = FoldedForward(net.train())
    if backbone == "hrnet18s":
        assert folded.folded > 50
    image, maps = _inputs(grabcut_samples, 128)
    with torch.no_grad():
        out = folded(net.normalize(image), maps)["instances"]
    ref = _eval_logits(net, image, maps)
    assert torch.allclose(out, ref, atol=1e-3, rtol=1e-3), (out - ref).abs().max()


def test_bfloat16_copy_agrees_with_autocast(grabcut_samples):
    net, _ = load_checkpoint(resolve_checkpoint("interseg_lite0"))
    net = net.to(memory_format=torch.channels_last)
    folded = FoldedForward(net, torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in folded.module.parameters())
    image, maps = _inputs(grabcut_samples)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = folded(net.normalize(image), maps)["instances"].float()
        ref = net.eval()(net.normalize(image), maps)["instances"].float()
    agree = ((out > 0) == (ref > 0)).float().mean()
    assert agree > 0.99, agree


def test_predictor_folds_without_changing_the_masks(grabcut_samples):
    from interseg.inference.net_predictor import NetPredictor
    from interseg.inference.session import Session
    from interseg.interactions.users import SimulatedUser

    net, _ = load_checkpoint(resolve_checkpoint("interseg_lite0"))
    s = grabcut_samples[1]
    sessions = [Session(s.image, NetPredictor(net, "m", fold_bn=fold)) for fold in (True, False)]
    user = SimulatedUser(3)
    for _ in range(3):
        click = user.next("point", s.gt, sessions[0].mask, s.ignore, sessions[0].interactions)
        a, b = (x.add(click) for x in sessions)
        assert np.abs(a.prob - b.prob).max() < 1e-3
        assert (a.mask != b.mask).mean() < 1e-4
    assert sessions[0].predictor._folded.folded == 50
