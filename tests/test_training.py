"""Training: recipe validation, resume continuity, DDP gradients, iterative corrections."""

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp_mp

from interseg.data.registry import build_train_dataset
from interseg.errors import CheckpointError, ConfigError
from interseg.interactions.encoding import draw_polyline, fill_polygon
from interseg.interactions.errors import largest_error
from interseg.interactions.types import Click, Contour, interaction_from_dict
from interseg.models.checkpoint import save_checkpoint
from interseg.models.network import ArchConfig, IntersegNet
from interseg.training.data import collate
from interseg.training.losses import force_points_loss, normalized_focal_loss
from interseg.training.optim import lr_factor
from interseg.training.recipe import load_recipe
from interseg.training.trainer import Trainer, TrainOptions

from .conftest import ROOT, require_data

TINY = """
MODEL:
  BACKBONE: effnet_lite0
  BATCH_SIZE: 2
  TRAIN_SIZE: 64
  IMAGENET_PRETRAINED: false
  DECODER_WIDTH: 16
TRAIN:
  DATASETS: [{NAME: COCO_MVal_train, WEIGHT: 1.0}, {NAME: ECSSD, WEIGHT: 1.0}]
  EPOCHS: 2
  EPOCH_LEN: 6
  LR: 0.001
  MAX_ITERATIVE_STEPS: 2
  VAL_FRACTION: 0.02
  SEED: 3
"""


def _recipe(tmp_path, text=TINY, name="tiny"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return load_recipe(p)


def test_shipped_recipes_validate():
    """Every packaged recipe loads; the last stage of each shipped model starts from (and distils from)
    a committed file or a shipped model, so that it can be run again; an earlier stage's start that left
    the tree is named in docs/training.md with the commit that holds it, and a committed stage file is a
    recipe's start or one that docs/training.md says why it keeps."""
    from interseg.inference.loading import shipped_models
    from interseg.models.checkpoint import read_metadata

    shipped = set(shipped_models())
    retired = (ROOT / "docs" / "training.md").read_text().split("## Stage checkpoints")[1].split("\n## ")[0]
    last_stages = set()
    for name in shipped:
        _, meta = read_metadata(ROOT / "interseg" / "resources" / "models" / f"{name}.safetensors")
        last_stages.add(meta["recipes"][-1])
    assert last_stages == {"configs/lite0_pool_s5.yaml", "configs/segformer_pool_s5.yaml",
                           "configs/hrnet18s_pool_s7.yaml"}
    starts = set()   # the stage files recipes start from
    for p in (ROOT / "configs").glob("*.yaml"):
        r = load_recipe(p)
        assert r.name == p.stem
        for ref in (r.MODEL.PRETRAINED_PATH, r.TRAIN.TEACHER):
            if not ref or ref.startswith("experiments/"):
                continue
            starts.add(Path(ref).stem)
            present = (ROOT / ref).is_file() or ref in shipped
            if f"configs/{p.name}" in last_stages:
                assert present, f"{p.name}: {ref} is neither in the repository nor a shipped model"
            elif not present:
                assert ref.startswith("checkpoints/") and f"`{Path(ref).stem}`" in retired and "git show" in retired, \
                    f"{p.name}: {ref} left the tree but docs/training.md does not say how to restore it"
    # the tree keeps a stage's file only while a recipe starts from it or docs/training.md names why it is kept
    kept = (ROOT / "docs" / "training.md").read_text().split("## Stage checkpoints")[1].split("The earlier")[0]
    for f in (ROOT / "checkpoints").glob("*.safetensors"):
        assert f.stem in starts or f"`{f.stem}` is stage" in kept, f"{f.name}: no recipe starts from it"


@pytest.mark.parametrize("bad,msg", [
    ("  BATCH_SIZE: 2\n", "  BATCH_SZE: 2\n", ),
])
def test_recipe_unknown_key(tmp_path, bad, msg):
    with pytest.raises(ConfigError, match=r"MODEL.BATCH_SZE: unknown key \(did you mean 'BATCH_SIZE'\?\)"):
        _recipe(tmp_path, TINY.replace(bad, msg))


def test_recipe_value_errors(tmp_path):
    with pytest.raises(ConfigError, match="OPTIMIZER_TYPE: 'rmsprop' is not one of"):
        _recipe(tmp_path, TINY.replace("  BATCH_SIZE: 2\n", "  BATCH_SIZE: 2\n  OPTIMIZER_TYPE: rmsprop\n"))
    with pytest.raises(ConfigError, match="GrabCut are evaluation benchmarks"):
        _recipe(tmp_path, TINY.replace("NAME: ECSSD", "NAME: GrabCut"))
    with pytest.raises(ConfigError, match="TRAIN_SIZE must be a multiple of 32"):
        _recipe(tmp_path, TINY.replace("TRAIN_SIZE: 64", "TRAIN_SIZE: 100"))
    with pytest.raises(ConfigError, match="LR_TYPE: 'poly' is not one of"):
        _recipe(tmp_path, TINY.replace("  LR: 0.001", "  LR: 0.001\n  LR_TYPE: poly"))


def test_lr_schedules():
    assert lr_factor("step", 0, 100, 0) == 1 and lr_factor("step", 90, 100, 0) == pytest.approx(0.1)
    assert lr_factor("step", 96, 100, 0) == pytest.approx(0.01)
    assert lr_factor("linear", 5, 100, 10) == pytest.approx(0.6)
    assert lr_factor("cosine", 100, 100, 0) == pytest.approx(0)
    assert lr_factor("linear", 50, 100, 0) == pytest.approx(0.5**0.9)


def test_losses_behave():
    gt = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    gt[:, :, 2:6, 2:6] = True
    ign = torch.zeros_like(gt)
    good = torch.where(gt, 6.0, -6.0)
    assert normalized_focal_loss(good, gt, ign) < normalized_focal_loss(-good, gt, ign)
    maps = torch.zeros(2, 7, 8, 8)
    maps[:, 1, 3, 3] = 1  # positive click pixel
    assert force_points_loss(good, maps) < 0.01 < force_points_loss(-good, maps)


def _cfg_with_exps(cfg, tmp_path):
    cfg.EXPS_PATH = tmp_path / "exps"
    return cfg


def test_resume_continues_the_same_loss_curve(cfg, tmp_path):
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    cfg = _cfg_with_exps(cfg, tmp_path)
    recipe = _recipe(tmp_path)
    full = Trainer(recipe, cfg, TrainOptions(workers=0, exp_name="full")).run()
    first = Trainer(_recipe(tmp_path), cfg, TrainOptions(workers=0, exp_name="half", max_iters=3)).run()
    resumed = Trainer(_recipe(tmp_path), cfg, TrainOptions(workers=0, resume=first)).run()
    assert resumed == first
    import json

    from interseg.models.checkpoint import read_metadata

    _, meta_full = read_metadata(full / "checkpoints" / "last.safetensors")
    _, meta_res = read_metadata(resumed / "checkpoints" / "last.safetensors")
    assert meta_full["epoch"] == meta_res["epoch"] == 2
    st_full = torch.load(full / "checkpoints" / "last.state.pt", weights_only=True)
    st_res = torch.load(resumed / "checkpoints" / "last.state.pt", weights_only=True)
    h_full, h_res = json.loads(st_full["history"]), json.loads(st_res["history"])
    assert [h["step"] for h in h_res] == [3, 6]
    assert h_res[1]["loss"] == pytest.approx(h_full[1]["loss"], rel=1e-4)   # epoch 2 after resume
    assert h_res[0]["loss"] == pytest.approx(h_full[0]["loss"], rel=1e-4)
    for name in ("train.log", "config.yaml"):
        assert (full / name).is_file()
    assert any((full / "tb").iterdir())


def test_nan_loss_stops_with_message(cfg, tmp_path):
    require_data("COCO_MVal_train")
    cfg = _cfg_with_exps(cfg, tmp_path)
    from interseg.training.trainer import TrainingError

    tr = Trainer(_recipe(tmp_path), cfg, TrainOptions(workers=0))
    with torch.no_grad():
        tr.net.head.cls.bias.fill_(float("nan"))
    with pytest.raises(TrainingError, match="loss became nan.*last good checkpoint"):
        tr.run()


def test_corrections_land_in_the_error_region(cfg, tmp_path, grabcut_samples):
    require_data("COCO_MVal_train")
    from interseg.interactions.users import SimulatedUser

    tr = Trainer(_recipe(tmp_path), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    samples = [s.resized(64) for s in grabcut_samples]
    import cv2

    imgs = np.stack([cv2.resize(s.image, (64, 64)) for s in samples])
    gts = np.stack([cv2.resize(s.gt.astype(np.uint8), (64, 64), interpolation=cv2.INTER_NEAREST) > 0 for s in samples])
    ign = np.zeros_like(gts)
    image = tr.net.normalize(torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255)
    its = [[] for _ in samples]
    users = [SimulatedUser(i, "saic") for i in range(len(samples))]
    _, added = tr.corrections(image, its, users, gts, ign, np.random.default_rng(0), 3)
    assert len(added) == 3 * len(samples)
    for b, pred, it in added:
        t = largest_error(gts[b], pred, ign[b])
        if isinstance(it, Click):
            assert t.region[int(it.y), int(it.x)]
        else:
            px = fill_polygon(it.points, (64, 64)) if isinstance(it, Contour) else draw_polyline(it.points, (64, 64), 1)
            assert (px & t.region).sum() / px.sum() >= 0.9
        assert it.positive == t.positive


def test_distillation_pulls_the_network_towards_its_teacher(cfg, tmp_path):
    """TRAIN.TEACHER (a shipped model's name): with only the distillation loss on, training on one batch
    lowers the BCE between the network's and the frozen teacher's probabilities."""
    require_data("COCO_MVal_train")
    text = TINY.replace("  MAX_ITERATIVE_STEPS: 2", "  MAX_ITERATIVE_STEPS: 0\n  TEACHER: interseg_lite0\n"
                        "  NFL_WEIGHT: 0.0\n  AUX_WEIGHT: 0.0\n  FORCE_POINTS_WEIGHT: 0.0\n  LR: 0.003")
    text = text.replace("  LR: 0.001\n", "")
    tr = Trainer(_recipe(tmp_path, text), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    assert tr.init_note.endswith("distilled from interseg_lite0 (effnet_lite0)")
    before = {k: v.clone() for k, v in tr.teacher.state_dict().items()}
    batch = next(iter(torch.utils.data.DataLoader(tr.stream, batch_size=2, collate_fn=collate)))
    losses = [tr.train_step(batch, np.random.default_rng(0))["distill"] for _ in range(12)]
    # the BCE's floor is the entropy of the teacher's probabilities: compare what lies above it (the KL)
    its = [[interaction_from_dict(d) for d in lst] for lst in batch["interactions"]]
    with torch.no_grad():
        maps = tr._maps(its, torch.zeros(2, 1, 64, 64))
        p = torch.sigmoid(tr.teacher(tr.teacher.normalize(batch["image"].float() / 255), maps)["instances"])
        valid = ~batch["ignore"][:, None]
        entropy = float(torch.nn.functional.binary_cross_entropy(p, p, reduction="none")[valid].mean())
    assert losses[-1] - entropy < 0.5 * (losses[0] - entropy)
    assert all(torch.equal(v, tr.teacher.state_dict()[k]) for k, v in before.items())


def test_distillation_can_be_limited_to_some_datasets(cfg, tmp_path):
    """TRAIN.DISTILL_DATASETS: only the samples of the listed datasets learn the teacher's probabilities
    (the learner distils its replay samples, not the team's); the loss is the mean over their pixels."""
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    text = TINY.replace("  MAX_ITERATIVE_STEPS: 2", "  MAX_ITERATIVE_STEPS: 0\n  TEACHER: interseg_lite0\n"
                        "  DISTILL_DATASETS: [ECSSD]")
    tr = Trainer(_recipe(tmp_path, text), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    tr.sched.step = lambda *a, **k: None   # the same weights for every pass below
    for group in tr.opt.param_groups:
        group["lr"] = 0.0
    batch = next(iter(torch.utils.data.DataLoader(tr.stream, batch_size=2, collate_fn=collate)))
    assert set(batch["source"].tolist()) <= {0, 1}   # the stream's dataset index of each sample
    loss = {}
    for rows in ((0, 0), (1, 0), (0, 1), (1, 1)):   # 1: an ECSSD sample
        batch["source"] = torch.tensor(rows)
        loss[rows] = tr.train_step(batch, np.random.default_rng(0)).get("distill")
    assert loss[(0, 0)] is None
    valid = (~batch["ignore"]).flatten(1).sum(1).float()
    both = (loss[(1, 0)] * valid[0] + loss[(0, 1)] * valid[1]) / valid.sum()
    assert loss[(1, 1)] == pytest.approx(float(both), rel=1e-4)
    assert loss[(1, 0)] != pytest.approx(loss[(0, 1)], rel=1e-3)
    with pytest.raises(ConfigError, match="TRAIN.DISTILL_DATASETS: DUTS not in TRAIN.DATASETS"):
        _recipe(tmp_path, text.replace("[ECSSD]", "[ECSSD, DUTS]"))
    with pytest.raises(ConfigError, match="set TRAIN.TEACHER too"):
        _recipe(tmp_path, text.replace("  TEACHER: interseg_lite0\n", ""))


def test_teacher_with_another_encoding_is_refused(cfg, tmp_path):
    require_data("COCO_MVal_train")
    teacher = tmp_path / "teacher.safetensors"
    save_checkpoint(teacher, IntersegNet(ArchConfig("effnet_lite0", decoder_width=16, click_radius=3.0)))
    text = TINY.replace("  SEED: 3", f"  SEED: 3\n  TEACHER: {teacher}")
    with pytest.raises(CheckpointError, match="teacher.safetensors: TRAIN.TEACHER encodes interactions differently"):
        Trainer(_recipe(tmp_path, text), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))


# --- DDP ------------------------------------------------------------------------------------------
def _batch():
    g = torch.Generator().manual_seed(1)
    image = torch.randn(4, 3, 64, 64, generator=g, dtype=torch.float64)
    maps = (torch.rand(4, 7, 64, 64, generator=g) > 0.98).double()
    gt = torch.rand(4, 1, 64, 64, generator=g) > 0.5
    return image, maps, gt


def _net():
    torch.manual_seed(0)
    # float64 so that the comparison is not blurred by float32 summation order; BatchNorm frozen so that
    # per-sample results do not depend on how the batch is split; no aux head, since DDP (without
    # find_unused_parameters) silently skips the all-reduce when a parameter gets no gradient.
    net = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16, with_aux_head=False)).double().train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    return net


def _ddp_worker(rank, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    torch.set_num_threads(1)
    net = torch.nn.parallel.DistributedDataParallel(_net())
    image, maps, gt = _batch()
    sl = slice(2 * rank, 2 * rank + 2)
    loss = normalized_focal_loss(net(image[sl], maps[sl])["instances"], gt[sl], torch.zeros_like(gt[sl]))
    loss.backward()
    if rank == 0:
        torch.save({k: p.grad.clone() for k, p in net.module.named_parameters() if p.grad is not None}, out)
    torch.distributed.destroy_process_group()


def test_two_process_gloo_ddp_matches_one_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "grads.pt"
    tmp_mp.spawn(_ddp_worker, args=(port, str(out)), nprocs=2)
    ddp = torch.load(out, weights_only=True)
    net = _net()
    image, maps, gt = _batch()
    normalized_focal_loss(net(image, maps)["instances"], gt, torch.zeros_like(gt)).backward()
    ref = {k: p.grad for k, p in net.named_parameters() if p.grad is not None}
    assert set(ddp) == set(ref) and len(ref) > 50
    errs = {}
    for k in ref:  # equal up to float summation order: relative error of each gradient tensor
        rel = float((ddp[k] - ref[k]).norm() / ref[k].norm().clamp_min(1e-12))
        errs[k] = rel
    bad = {k: v for k, v in errs.items() if v > 1e-9}
    assert not bad, bad
    # and they are not simply the gradients of rank 0's half batch
    half = _net()
    normalized_focal_loss(half(image[:2], maps[:2])["instances"], gt[:2], torch.zeros_like(gt[:2])).backward()
    diff = max(float((p.grad - ddp[k]).abs().max()) for k, p in half.named_parameters() if p.grad is not None)
    assert diff > 1e-3


def test_human_like_share_gives_mask_strokes_and_zero_changes_nothing(cfg, tmp_path):
    require_data("COCO_MVal_train")
    from interseg.training.data import TrainStream

    base = TINY.replace("  SEED: 3", "  SEED: 3\n  TYPE_PROBS: [0.0, 0.0, 1.0]")
    plain = _recipe(tmp_path, base, "plain")
    zero = _recipe(tmp_path, base.replace("  SEED: 3", "  SEED: 3\n  HUMAN_LIKE_PROB: 0.0"), "zero")
    human = _recipe(tmp_path, base.replace("  SEED: 3", "  SEED: 3\n  HUMAN_LIKE_PROB: 1.0"), "human")

    def items(recipe):
        ds = [build_train_dataset(d.NAME, cfg) for d in recipe.TRAIN.DATASETS]
        stream = TrainStream(ds, [1.0] * len(ds), recipe.TRAIN, 64, recipe.input_types, 0)
        return [stream[i]["interactions"] for i in range(4)]

    assert items(plain) == items(zero)                     # the default draws no extra random numbers
    marks = [d for its in items(human) for d in its]
    assert marks and all(d["type"] == "stroke" and "mask" in d for d in marks)


def test_short_strokes_and_duplicate_distractors(cfg, tmp_path):
    """SHORT_STROKE_PROB 1: every first stroke is one scribble of 10-20 % of the object's extent;
    DUPLICATE_PROB 1: a copy of the target is pasted beside it and is not part of the target. At 0 both
    draw no random numbers (the stream is the one recipes got before the keys existed)."""
    require_data("COCO_MVal_train")
    from interseg.interactions.types import interaction_from_dict
    from interseg.training.data import TrainStream

    base = TINY.replace("  SEED: 3", "  SEED: 3\n  TYPE_PROBS: [0.0, 0.0, 1.0]\n  COPY_PASTE_PROB: 0.0")

    def stream(extra, name, text=base):
        r = _recipe(tmp_path, text.replace("  SEED: 3", "  SEED: 3\n" + extra), name)
        ds = [build_train_dataset(d.NAME, cfg) for d in r.TRAIN.DATASETS]
        return TrainStream(ds, [1.0] * len(ds), r.TRAIN, 96, r.input_types, 0)

    plain, zero = stream("", "plain"), stream("  SHORT_STROKE_PROB: 0.0\n  DUPLICATE_PROB: 0.0", "zero")
    for i in range(3):
        a, b = plain[i], zero[i]
        assert a["interactions"] == b["interactions"] and torch.equal(a["image"], b["image"])
    short = stream("  SHORT_STROKE_PROB: 1.0", "short")
    for i in range(6):
        item = short[i]
        gt = item["gt"].numpy()
        if not gt.any():
            continue
        (first,) = [interaction_from_dict(d) for d in item["interactions"]]
        ys, xs = np.nonzero(gt)
        extent = max(np.ptp(xs), np.ptp(ys)) + 1
        assert first.kind == "stroke" and first.positive
        assert max(first.crop.shape) <= 0.2 * extent + 16          # the scribble's box: its length + width
    # FIRST_CLICK_ANYWHERE_PROB 1: first clicks on the object, not only deep inside it (as the simulator puts them)
    def depth_of_first_clicks(extra, name):
        import cv2

        clicks = stream(extra, name, base.replace("[0.0, 0.0, 1.0]", "[1.0, 0.0, 0.0]"))
        out = []
        for i in range(12):
            item = clicks[i]
            gt = item["gt"].numpy()
            if not gt.any():
                continue
            first = interaction_from_dict(item["interactions"][0])
            depth = cv2.distanceTransform(gt.astype(np.uint8), cv2.DIST_L2, 5)
            assert first.kind == "point" and first.positive and gt[int(first.y), int(first.x)]
            out.append(depth[int(first.y), int(first.x)] / depth.max())
        return np.array(out)

    deep, anywhere = depth_of_first_clicks("", "deep"), depth_of_first_clicks("  FIRST_CLICK_ANYWHERE_PROB: 1.0", "any")
    assert len(deep) >= 8 and len(anywhere) >= 8
    # depth: the distance to the border over the object's largest; the simulator never clicks near the border
    assert deep.min() > 0.2 and (anywhere < 0.2).sum() >= 3 and np.median(anywhere) < np.median(deep) - 0.2
    from interseg.training.augment import duplicate_distractor

    ds = build_train_dataset("COCO_MVal_train", cfg)
    changed = 0
    for i in range(6):
        sample = ds[i]
        gt, ignore = sample.gt, sample.ignore
        image, new_gt, _ = duplicate_distractor(sample.image, gt, ignore, np.random.default_rng(i))
        pasted = (image != sample.image).any(-1)
        if pasted.any():
            changed += 1
            assert not (pasted & new_gt).any()                 # the copy is a distractor, not the target
            assert new_gt.sum() >= 0.8 * gt.sum() and not (new_gt & ~gt).any()
    assert changed >= 4


def test_bf16_autocast_gives_the_fp32_gradients(cfg, tmp_path):
    """TRAIN.PRECISION=bf16 computes the float32 loss and nearly its gradients — far closer than the
    gradient of another batch is (a speed lever must not change what is learnt) — with the weights kept
    in float32. On a trained model (the stage-4 default, checkpoints/lite0_pool_s4): a random network's
    gradients are chaotic in either precision. (The stage-5 default, trained in float32 with a 3x heavier
    force-points loss, gives a cosine of 0.78 on this batch: its bf16 gradients are further off.)"""
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    cfg = _cfg_with_exps(cfg, tmp_path)
    # no correction steps: their clicks follow the predictions, which may differ by a pixel's side
    text = (TINY.replace("MAX_ITERATIVE_STEPS: 2", "MAX_ITERATIVE_STEPS: 0")
            .replace("TRAIN_SIZE: 64", "TRAIN_SIZE: 128")
            .replace("  IMAGENET_PRETRAINED: false", "  PRETRAINED_PATH: checkpoints/lite0_pool_s4.safetensors"))
    tr = Trainer(_recipe(tmp_path, text), cfg, TrainOptions(workers=0))
    params = [p for p in tr.net.parameters() if p.requires_grad]
    tr.sched.step = lambda: None

    def grad(batch_start: int, precision: str) -> tuple[float, torch.Tensor]:
        tr.recipe.TRAIN.PRECISION = precision
        captured: list[torch.Tensor] = []
        tr.opt.step = lambda: captured.extend(p.grad.detach().clone().flatten() for p in params)
        batch = collate([tr.stream[batch_start + i] for i in range(2)])
        loss = tr.train_step(batch, np.random.default_rng(5))["loss"]
        return loss, torch.cat(captured)

    loss32, g32 = grad(0, "fp32")
    loss16, g16 = grad(0, "bf16")
    _, g_other = grad(2, "fp32")
    assert all(p.dtype == torch.float32 for p in params)
    # the bf16 forward pass moves the logits by 0.14 on average; the focal loss, which weights the few
    # hard pixels, moves by up to a few per cent on two images (5.4 % with the stage-4 default model)
    assert loss16 == pytest.approx(loss32, rel=0.1)
    cos = torch.nn.functional.cosine_similarity
    assert cos(g32, g16, dim=0) > 0.85
    assert cos(g32, g16, dim=0) > cos(g32, g_other, dim=0) + 0.3


@pytest.mark.parametrize("ratio,warned", [(0.6, True), (1.8, False)])
def test_bf16_recipe_warns_where_bfloat16_is_slower(cfg, tmp_path, monkeypatch, capsys, ratio, warned):
    """A bf16 recipe on a CPU whose bfloat16 convolutions are slower than float32 (a Xeon without AMX:
    0.6x) says so at start, in the log and on screen, and trains on as the recipe says."""
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    import interseg.models.bf16_probe as probe

    monkeypatch.setattr(probe, "bf16_conv_speedup", lambda: ratio)
    cfg = _cfg_with_exps(cfg, tmp_path)
    text = TINY.replace("  SEED: 3", "  SEED: 3\n  PRECISION: bf16")
    out = Trainer(_recipe(tmp_path, text), cfg, TrainOptions(workers=0, max_iters=1)).run()
    log = (out / "train.log").read_text()
    screen = capsys.readouterr().out
    expected = "TRAIN.PRECISION bf16: bfloat16 convolutions are 1.7x slower than float32 on this CPU"
    assert (expected in log) is warned and (expected in screen) is warned
    assert "--set TRAIN.PRECISION=fp32" in log if warned else "slower" not in log


def test_bf16_probe_measures_a_ratio_once():
    from interseg.models.bf16_probe import bf16_conv_speedup

    ratio = bf16_conv_speedup()
    assert 0.05 < ratio < 20 and bf16_conv_speedup() == ratio


def test_depthwise_convolution_stays_float32_when_training_under_cpu_autocast():
    from interseg.models.layers import DepthwiseConv2d

    conv = DepthwiseConv2d(8, 3)
    x = torch.randn(2, 8, 16, 16, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = conv(x)
        with torch.no_grad():
            y_fwd = conv(x)
    assert y.dtype == torch.float32 and y_fwd.dtype == torch.bfloat16
    assert torch.allclose(y, torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1, groups=8), atol=1e-5)
    assert set(conv.state_dict()) == {"weight", "bias"}


def test_a_boundary_refiner_starts_as_the_network_and_learns_alone(cfg, tmp_path):
    """MODEL.REFINER_WIDTH on a PRETRAINED_PATH network without a refiner: the network is given a new one
    that predicts exactly what it did; with TRAIN.FREEZE network only the refiner's weights move (batch
    norm's statistics included), and its checkpoint loads with the refiner (the architecture is in it)."""
    from interseg.errors import IntersegError
    from interseg.models.checkpoint import load_checkpoint

    require_data("COCO_MVal_train")
    require_data("ECSSD")
    base = Trainer(_recipe(tmp_path, TINY), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0)).net
    save_checkpoint(tmp_path / "base.safetensors", base)
    text = TINY.replace("  DECODER_WIDTH: 16", f"  DECODER_WIDTH: 16\n  REFINER_WIDTH: 8\n"
                        f"  PRETRAINED_PATH: {tmp_path / 'base.safetensors'}")
    tr = Trainer(_recipe(tmp_path, text.replace("  SEED: 3", "  SEED: 3\n  FREEZE: network"), "refine"),
                 _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    assert "a new boundary refiner (width 8, stride 1, maps all)" in tr.init_note
    assert "parameters frozen (network)" in tr.init_note
    image, maps = torch.randn(1, 3, 64, 64), torch.rand(1, 7, 64, 64)
    with torch.no_grad():
        assert torch.equal(base.eval()(image, maps)["instances"], tr.net.eval()(image, maps)["instances"])
    tr._train_mode()
    before = {n: t.clone() for n, t in [*tr.net.named_parameters(), *tr.net.named_buffers()] if t.is_floating_point()}
    loader = iter(torch.utils.data.DataLoader(tr.stream, batch_size=2, collate_fn=collate))
    for _ in range(3):
        tr.train_step(next(loader), np.random.default_rng(0))
    state = dict(tr.net.named_parameters()) | dict(tr.net.named_buffers())
    moved = {n for n, t in before.items() if not torch.equal(t, state[n])}
    assert moved and all(n.startswith("refiner.") for n in moved), sorted(moved)[:3]
    save_checkpoint(tmp_path / "refined.safetensors", tr.net)
    net, _ = load_checkpoint(tmp_path / "refined.safetensors")
    assert net.arch.refiner_width == 8 and net.refiner is not None
    # MODEL.REFINER_STRIDE 2 / REFINER_MAPS clicks take the trained refiner over, its weights as they are
    # (those of the contour and stroke maps dropped), run at stride 2 on the clicks' maps
    text2 = TINY.replace("  DECODER_WIDTH: 16", f"  DECODER_WIDTH: 16\n  REFINER_WIDTH: 8\n  REFINER_STRIDE: 2\n"
                         f"  REFINER_MAPS: clicks\n  PRETRAINED_PATH: {tmp_path / 'refined.safetensors'}")
    tr2 = Trainer(_recipe(tmp_path, text2, "stride2"), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    assert "its boundary refiner run at stride 2 on maps clicks (was stride 1 on maps all)" in tr2.init_note
    assert tr2.net.arch.refiner_stride == 2 and tr2.net.refiner.stride == 2 and tr2.net.arch.refiner_maps == "clicks"
    first = "refiner.down.0.weight"
    assert tr2.net.state_dict()[first].shape[1] == 3 + 1 + 3
    assert torch.equal(tr2.net.state_dict()[first], net.state_dict()[first][:, :7])
    assert all(torch.equal(t, net.state_dict()[k]) for k, t in tr2.net.state_dict().items() if k != first)
    with pytest.raises(IntersegError, match="MODEL.REFINER_STRIDE must be 1 or 2"):
        _recipe(tmp_path, text2.replace("REFINER_STRIDE: 2", "REFINER_STRIDE: 3"), "bad_stride")
    with pytest.raises(ConfigError, match="TRAIN.FREEZE network trains the boundary refiner alone"):
        Trainer(_recipe(tmp_path, TINY.replace("  SEED: 3", "  SEED: 3\n  FREEZE: network"), "nothing"),
                _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    with pytest.raises(IntersegError, match="MODEL.REFINER_WIDTH must be >= 0"):
        _recipe(tmp_path, TINY.replace("  DECODER_WIDTH: 16", "  DECODER_WIDTH: 16\n  REFINER_WIDTH: -1"), "bad")


@pytest.mark.parametrize("kind", ["none", "bn", "backbone"])
def test_freeze_keeps_batch_norm_and_backbone_as_they_were(cfg, tmp_path, kind):
    """TRAIN.FREEZE (fine-tuning): "bn" leaves every batch-norm layer's running statistics and scale/shift
    untouched, also across the correction steps' passes without gradient; "backbone" also the backbone's
    weights; the decoder learns in every case, and with "none" everything moves."""
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    text = TINY.replace("  SEED: 3", f"  SEED: 3\n  FREEZE: {kind}")
    tr = Trainer(_recipe(tmp_path, text), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
    bn = {n: t.clone() for n, m in tr.net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)
          for n, t in [*m.named_parameters(prefix=n), *m.named_buffers(prefix=n)] if t.is_floating_point()}
    bn_names = set(bn)
    conv = {n: p.clone() for n, p in tr.net.named_parameters() if n not in bn_names}
    loader = iter(torch.utils.data.DataLoader(tr.stream, batch_size=2, collate_fn=collate))
    for _ in range(3):
        tr.train_step(next(loader), np.random.default_rng(0))
    state = dict(tr.net.named_parameters()) | dict(tr.net.named_buffers())
    bn_moved = [n for n, t in bn.items() if not torch.equal(t, state[n])]
    moved = {n for n, p in conv.items() if not torch.equal(p, state[n])}
    backbone_moved = [n for n in moved if n.startswith("backbone.")]
    assert any(not n.startswith("backbone.") for n in moved)          # the decoder and heads learn
    if kind == "none":
        assert bn_moved and backbone_moved
    else:
        assert not bn_moved, bn_moved[:3]
        assert bool(backbone_moved) == (kind == "bn")
        assert f"parameters frozen ({kind})" in tr.init_note


def test_l2sp_holds_the_weights_near_where_they_started(cfg, tmp_path):
    """TRAIN.L2SP_WEIGHT: the loss gains weight × Σ (w − w_start)² over the trainable weights — 0 on the
    first step, where nothing has moved — and the same steps on the same batch leave the weights closer
    to their start than without it; a negative weight is refused."""
    require_data("COCO_MVal_train")
    require_data("ECSSD")

    def run(weight: float) -> tuple[float, list[float]]:
        text = TINY.replace("  SEED: 3", f"  SEED: 3\n  L2SP_WEIGHT: {weight}\n  LR: 0.01").replace("  LR: 0.001\n", "")
        tr = Trainer(_recipe(tmp_path, text, f"l2sp{weight}"), _cfg_with_exps(cfg, tmp_path), TrainOptions(workers=0))
        start = [p.detach().clone() for p in tr.net.parameters()]
        batch = next(iter(torch.utils.data.DataLoader(tr.stream, batch_size=2, collate_fn=collate)))
        terms = [tr.train_step(batch, np.random.default_rng(0)).get("l2sp", 0.0) for _ in range(3)]
        moved = sum(float(((p.detach() - s) ** 2).sum()) for p, s in zip(tr.net.parameters(), start, strict=True))
        terms.append(tr.train_step(batch, np.random.default_rng(0)).get("l2sp", 0.0))
        if weight:   # the 4th step's term is the weight times how far the first three moved the weights
            assert terms[0] == 0.0 and terms[-1] == pytest.approx(weight * moved, rel=1e-3)
        return moved, terms

    free, terms = run(0.0)
    assert terms == [0.0] * 4                   # no term without the weight
    held, _ = run(50.0)
    assert held < 0.8 * free, (held, free)
    with pytest.raises(ConfigError, match="TRAIN.L2SP_WEIGHT must be >= 0"):
        _recipe(tmp_path, TINY.replace("  SEED: 3", "  SEED: 3\n  L2SP_WEIGHT: -1"), "bad")
