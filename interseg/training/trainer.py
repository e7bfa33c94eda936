"""The training loop: iterative training with the previous mask, losses, schedules, TensorBoard,
visualisations, checkpoints (last / best / every K epochs), resume and data-parallel training.

Experiment folder: ``EXPS_PATH/<recipe>/<NNN>_<exp-name>/`` with ``config.yaml`` (the resolved
recipe), ``train.log``, ``tb/`` (TensorBoard), ``vis/`` and ``checkpoints/``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from ..atomic import write_atomically
from ..config import Config
from ..data.registry import build_train_dataset
from ..errors import CheckpointError, ConfigError, DataError, IntersegError
from ..evaluation.metrics import iou
from ..inference.click_guard import ClickGuardParams
from ..inference.net_predictor import NetPredictor, PredictorOptions
from ..inference.options import DEFAULT_THRESHOLD
from ..inference.session import Session, active_interactions
from ..inference.zoom_in import ZoomInParams
from ..interactions.types import INTERACTION_TYPES, interaction_from_dict
from ..interactions.users import SimulatedUser
from ..models.bf16_probe import bf16_warning
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..models.folding import FoldedForward
from ..models.inputs import build_maps, select_interactions
from ..models.network import ArchConfig, IntersegNet, load_imagenet_weights
from ..schema import to_dict
from ..visualize import overlay, save_rgb
from .data import TrainStream, collate, split_indices
from .losses import force_points_loss, masked_bce, normalized_focal_loss
from .optim import freeze, make_optimizer, make_scheduler
from .recipe import Recipe

log = logging.getLogger("interseg.train")


class TrainingError(IntersegError):
    """Training stopped (NaN loss, crashed loader worker, unwritable checkpoint...)."""


@dataclass
class TrainOptions:
    exp_name: str = "exp"
    resume: Path | None = None
    workers: int = 2
    device: str = "cpu"
    max_iters: int | None = None   # stop early (tests, benchmarks)
    fold_bn: bool = True           # gradient-free passes on a batch-norm-folded copy (models/folding.py)
    #: datasets built by the caller, by the name TRAIN.DATASETS gives them (the model server's team data)
    datasets: dict[str, Any] | None = None


def human_like_user(seed: int, prob: float) -> str:
    """The corrections' user for a sample: human-like with probability ``prob`` (decided from the
    sample's own seed, so the run's random streams are those of a recipe without it when prob is 0)."""
    return "human-like" if prob > 0 and np.random.default_rng([seed, 7]).random() < prob else "reference"


def arch_from_recipe(recipe: Recipe) -> ArchConfig:
    m = recipe.MODEL
    return ArchConfig(backbone=m.BACKBONE, input_types=recipe.input_types,
                      accumulate_multi_input=m.ACCUMULATE_MULTI_INPUT, contour_filled=m.CONTOUR_FILLED,
                      click_radius=m.CLICK_RADIUS, line_width=m.LINE_WIDTH, with_aux_head=recipe.with_aux_head,
                      decoder_width=m.DECODER_WIDTH, refiner_width=m.REFINER_WIDTH,
                      refiner_stride=m.REFINER_STRIDE, refiner_maps=m.REFINER_MAPS)


def resolve_pretrained(spec: str, cfg: Config) -> Path:
    """MODEL.PRETRAINED_PATH: a checkpoint path (relative: to the current folder, else to EXPS_PATH,
    with or without a leading ``experiments/``) or a model name (INTERACTIVE_MODELS_PATH, shipped)."""
    from ..inference.loading import resolve_checkpoint

    p = Path(spec)
    if not p.is_absolute() and not p.exists():
        rest = Path(*p.parts[1:]) if p.parts[0] == "experiments" and len(p.parts) > 1 else p
        for c in (cfg.EXPS_PATH / p, cfg.EXPS_PATH / rest):
            if c.is_file():
                return c
    try:
        return resolve_checkpoint(spec, cfg.INTERACTIVE_MODELS_PATH)
    except CheckpointError as e:
        raise CheckpointError(f"MODEL.PRETRAINED_PATH: {e} (relative paths are also looked up in "
                              f"{cfg.EXPS_PATH})") from None


def _with_refiner(net: IntersegNet, width: int, stride: int, maps: str) -> IntersegNet:
    """``net`` with a new boundary refiner (which leaves its predictions as they were until trained), or
    with its own refiner's weights run at another ``stride`` or reading other ``maps`` (the first
    convolution's weights for maps it no longer reads dropped, for maps it newly reads zero)."""
    arch = dataclasses.replace(net.arch, refiner_width=width, refiner_stride=stride, refiner_maps=maps)
    new = IntersegNet(arch)
    state = net.state_dict()
    key = "refiner.down.0.weight"
    if key in state:
        want = new.state_dict()[key].shape[1]
        w = state[key][:, :want]
        state[key] = torch.cat([w, w.new_zeros(w.shape[0], want - w.shape[1], *w.shape[2:])], 1)
    missing, unexpected = new.load_state_dict(state, strict=False)
    if unexpected or not all(k.startswith("refiner.") for k in missing):
        raise CheckpointError(f"cannot give this network a boundary refiner: its weights do not match "
                              f"(unexpected {unexpected[:3]}, missing {missing[:3]})")
    return new


def build_net(recipe: Recipe, cfg: Config) -> tuple[IntersegNet, str]:
    m = recipe.MODEL
    if m.PRETRAINED_PATH:
        net, _ = load_checkpoint(resolve_pretrained(m.PRETRAINED_PATH, cfg))
        if net.arch.backbone != m.BACKBONE:
            raise CheckpointError(f"{m.PRETRAINED_PATH}: is a {net.arch.backbone} model, the recipe wants {m.BACKBONE}")
        note = f"weights from {m.PRETRAINED_PATH}"
        if m.REFINER_WIDTH and getattr(net.arch, "refiner_width", None) != m.REFINER_WIDTH:
            if not isinstance(net, IntersegNet):
                raise CheckpointError(f"{m.PRETRAINED_PATH}: a boundary refiner (MODEL.REFINER_WIDTH) can be added "
                                      f"to interseg's own networks only, not to an imported reference network")
            if net.arch.refiner_width:
                raise CheckpointError(f"{m.PRETRAINED_PATH}: has a boundary refiner of width {net.arch.refiner_width}, "
                                      f"the recipe wants {m.REFINER_WIDTH}")
            net = _with_refiner(net, m.REFINER_WIDTH, m.REFINER_STRIDE, m.REFINER_MAPS)
            note += (f", a new boundary refiner (width {m.REFINER_WIDTH}, stride {m.REFINER_STRIDE}, "
                     f"maps {m.REFINER_MAPS})")
        elif m.REFINER_WIDTH and (net.arch.refiner_stride, net.arch.refiner_maps) != (m.REFINER_STRIDE, m.REFINER_MAPS):
            note += (f", its boundary refiner run at stride {m.REFINER_STRIDE} on maps {m.REFINER_MAPS} "
                     f"(was stride {net.arch.refiner_stride} on maps {net.arch.refiner_maps})")
            net = _with_refiner(net, m.REFINER_WIDTH, m.REFINER_STRIDE, m.REFINER_MAPS)
        return net.train(), note
    net = IntersegNet(arch_from_recipe(recipe))
    if not m.IMAGENET_PRETRAINED:
        return net, "random initialisation"
    path = None
    key = net.arch.spec.imagenet_key
    if key is not None:
        path = getattr(cfg.IMAGENET_PRETRAINED_MODELS, key, "")
        if not path:
            log.warning("no ImageNet weights for %s in config.yml (IMAGENET_PRETRAINED_MODELS.%s): "
                        "training from scratch", m.BACKBONE, key)
            return net, "random initialisation (no ImageNet weights configured)"
    report = load_imagenet_weights(net, path)
    return net, (f"ImageNet backbone ({len(report['missing'])} missing, "
                 f"{len(report['unexpected'])} unused keys)")


def next_experiment_dir(root: Path, exp_name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    nums = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{3})_", p.name))]
    return root / f"{(max(nums) + 1) if nums else 0:03d}_{exp_name}"


class Trainer:
    def __init__(self, recipe: Recipe, cfg: Config, opts: TrainOptions, rank: int = 0, world: int = 1) -> None:
        self.recipe, self.cfg, self.opts = recipe, cfg, opts
        self.rank, self.world = rank, world
        self.device = torch.device(opts.device)
        t = recipe.TRAIN
        self.batch = max(1, recipe.MODEL.BATCH_SIZE // world)
        self.size = recipe.MODEL.TRAIN_SIZE
        given = opts.datasets or {}
        datasets = [given[d.NAME] if d.NAME in given else build_train_dataset(d.NAME, cfg) for d in t.DATASETS]
        self.datasets = datasets
        self.stream = TrainStream(datasets, [d.WEIGHT for d in t.DATASETS], t, self.size, recipe.input_types, rank)
        self.iters_per_epoch = max(1, t.EPOCH_LEN // (self.batch * world))
        self.total_iters = self.iters_per_epoch * t.EPOCHS
        torch.manual_seed(t.SEED)
        self.net, self.init_note = build_net(recipe, cfg)
        if t.FREEZE == "network" and getattr(self.net, "refiner", None) is None:
            raise ConfigError("TRAIN.FREEZE network trains the boundary refiner alone, and this network has none: "
                              "set MODEL.REFINER_WIDTH")
        if t.FREEZE != "none":
            frozen = freeze(self.net, t.FREEZE)
            self.init_note += f", {frozen:,} parameters frozen ({t.FREEZE})"
        # channels-last: on CPUs the backward pass of depthwise convolutions is >10x faster in this layout
        self.net.to(self.device, memory_format=torch.channels_last)
        # TRAIN.L2SP_WEIGHT: the starting weights the trainable ones are held near (taken before a resume
        # loads the run's own weights, so that the anchor is always the start)
        self.anchor = ([(w, w.detach().clone()) for w in self.net.parameters() if w.requires_grad]
                       if t.L2SP_WEIGHT > 0 else [])
        self.opt = make_optimizer(self.net, recipe.MODEL.OPTIMIZER_TYPE, t.LR, t.WEIGHT_DECAY, t.BACKBONE_LR_MULT)
        self.sched = make_scheduler(self.opt, recipe.lr_type, self.total_iters, t.WARMUP_ITERS)
        self.teacher = self._load_teacher(t.TEACHER) if t.TEACHER else None
        # the stream's dataset indices whose samples learn the teacher's probabilities (None: all of them)
        self.distilled = (torch.tensor([i for i, d in enumerate(t.DATASETS) if d.NAME in t.DISTILL_DATASETS])
                          if t.DISTILL_DATASETS else None)
        # the correction steps' and the teacher's passes need no gradient: run them on copies with batch
        # norm folded into the convolutions, weights in the compute dtype (EfficientNet-Lite0's pass: 1.2x in bf16,
        # 1.4x in float32; docs/training.md)
        self.eval_net = self.teacher_net = None
        if opts.fold_bn:
            dtype = torch.bfloat16 if t.PRECISION == "bf16" else torch.float32
            self.eval_net = FoldedForward(self.net, dtype)
            self.teacher_net = FoldedForward(self.teacher, dtype) if self.teacher is not None else None
        self.model = self.net
        if world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.epoch = 0
        self.step = 0
        self.best = -1.0
        self.history: list[dict] = []
        if opts.resume is not None:
            self.exp_dir = self._resume(opts.resume)
        else:
            self.exp_dir = next_experiment_dir(cfg.EXPS_PATH / recipe.name, opts.exp_name) if rank == 0 else None
        self.writer = None

    # -- bookkeeping -------------------------------------------------------------------------
    @property
    def ckpt_dir(self) -> Path:
        return self.exp_dir / "checkpoints"

    def _resume(self, path: Path) -> Path:
        path = Path(path)
        exp_dir = path if path.is_dir() else path.parent.parent
        state_file = exp_dir / "checkpoints" / "last.state.pt"
        weights = exp_dir / "checkpoints" / "last.safetensors"
        if not state_file.is_file() or not weights.is_file():
            raise CheckpointError(f"{exp_dir}: nothing to resume (checkpoints/last.safetensors and "
                                  f"last.state.pt are needed)")
        net, _ = load_checkpoint(weights)
        if net.arch != self.net.arch:
            raise CheckpointError(f"{weights}: architecture differs from the recipe's")
        self.net.load_state_dict(net.state_dict())
        try:
            st = torch.load(state_file, map_location="cpu", weights_only=True)
        except Exception as e:
            if isinstance(e, pickle.UnpicklingError) or "weights_only" in str(e):
                raise CheckpointError(f"{state_file}: refused: it holds Python objects besides tensors and numbers, "
                                      f"and loading those could run code; resume only runs interseg wrote, or "
                                      f"start a new run") from None
            raise CheckpointError(f"{state_file}: cannot be read ({e.__class__.__name__})") from None
        self.opt.load_state_dict(st["optimizer"])
        self.sched.load_state_dict(st["scheduler"])
        self.epoch, self.step, self.best = int(st["epoch"]), int(st["step"]), float(st["best"])
        torch.set_rng_state(st["torch_rng"])
        self.history = json.loads(st.get("history", "[]"))
        return exp_dir

    def _setup_outputs(self) -> None:
        if self.rank != 0:
            return
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        (self.exp_dir / "vis").mkdir(exist_ok=True)
        self.ckpt_dir.mkdir(exist_ok=True)
        (self.exp_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(self.recipe), sort_keys=False))
        handler = logging.FileHandler(self.exp_dir / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.exp_dir / "tb"), purge_step=self.step or None)

    def _save(self, val_iou: float | None) -> None:
        meta = {"name": self.recipe.name, "recipe": to_dict(self.recipe), "settings": self.recipe.seed_settings(),
                "epoch": self.epoch,
                "iterations": self.step, "val_iou": val_iou, "init": self.init_note,
                "training_data": [d.NAME for d in self.recipe.TRAIN.DATASETS], "trained": True}
        try:
            save_checkpoint(self.ckpt_dir / "last.safetensors", self.net, meta)
            state = {"optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                     "epoch": self.epoch, "step": self.step, "best": self.best,
                     "torch_rng": torch.get_rng_state(), "history": json.dumps(self.history)}
            write_atomically(self.ckpt_dir / "last.state.pt", lambda p: torch.save(state, p))
            if val_iou is not None and val_iou > self.best:
                self.best = val_iou
                save_checkpoint(self.ckpt_dir / "best.safetensors", self.net, meta)
            if self.epoch % self.recipe.TRAIN.CHECKPOINT_EVERY == 0:
                save_checkpoint(self.ckpt_dir / f"epoch_{self.epoch:03d}.safetensors", self.net, meta)
        except OSError as e:
            raise TrainingError(f"{self.ckpt_dir}: cannot write checkpoints ({e.strerror or e}); the previous "
                                f"checkpoint files are intact") from None

    def _load_teacher(self, spec: str) -> IntersegNet:
        """The frozen distillation teacher; it must read the same input maps as the network trained."""
        from ..inference.loading import resolve_checkpoint

        path = resolve_checkpoint(spec, self.cfg.INTERACTIVE_MODELS_PATH)
        teacher, _ = load_checkpoint(path)
        a, b = teacher.arch, self.net.arch
        if (tuple(a.input_types), a.accumulate_multi_input, a.encoding) != (
                tuple(b.input_types), b.accumulate_multi_input, b.encoding):
            raise CheckpointError(f"{path}: TRAIN.TEACHER encodes interactions differently from the recipe "
                                  f"(input types {a.input_types} vs {b.input_types}, {a.encoding} vs {b.encoding})")
        teacher.to(self.device, memory_format=torch.channels_last).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        only = self.recipe.TRAIN.DISTILL_DATASETS
        self.init_note += f"; distilled from {spec} ({a.backbone})" + (f" on {', '.join(only)} samples" if only else "")
        return teacher

    # -- one iteration -----------------------------------------------------------------------
    def autocast(self):
        """The recipe's TRAIN.PRECISION as an autocast context (a no-op for "fp32")."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.recipe.TRAIN.PRECISION == "bf16")

    def _maps(self, its_batch, prev: torch.Tensor) -> torch.Tensor:
        arch = self.net.arch
        out = []
        prev_np = prev.cpu().numpy()
        for its, p in zip(its_batch, prev_np, strict=True):
            sel = select_interactions(active_interactions(its, keep_all=False), arch.input_types,
                                      arch.accumulate_multi_input)
            out.append(build_maps(sel, p[0], (self.size, self.size), arch.encoding))
        return torch.from_numpy(np.stack(out)).to(self.device).contiguous(memory_format=torch.channels_last)

    def corrections(self, image: torch.Tensor, its: list[list], users: list[SimulatedUser], gt_np: np.ndarray,
                    ign_np: np.ndarray, rng: np.random.Generator, n_iter: int):
        """Iterative training: ``n_iter`` steps without gradient in which the simulated user adds an
        interaction (of a randomly drawn type) from the model's own prediction.  Returns the last
        probabilities and the (prediction, added interaction) pairs."""
        t = self.recipe.TRAIN
        prev = torch.zeros((image.shape[0], 1, *image.shape[2:]), device=self.device)
        added: list[tuple[int, np.ndarray, object]] = []
        if not n_iter:
            return prev, added
        if self.eval_net is not None:
            self.eval_net.sync()  # the weights of the last optimizer step
            forward = self.eval_net
        else:
            forward = self.net.eval()
        with torch.no_grad(), self.autocast():
            for _ in range(n_iter):
                prev = torch.sigmoid(forward(image, self._maps(its, prev))["instances"].float())
                pred = (prev > DEFAULT_THRESHOLD).cpu().numpy()[:, 0]
                for b in range(len(its)):
                    if not gt_np[b].any():
                        continue
                    kind = str(rng.choice(INTERACTION_TYPES, p=t.TYPE_PROBS))
                    if kind not in self.net.arch.input_types:
                        kind = self.net.arch.input_types[0]
                    it = users[b].next(kind, gt_np[b], pred[b], ign_np[b], its[b])
                    its[b].append(it)
                    added.append((b, pred[b].copy(), it))
        self._train_mode()
        return prev, added

    def train_step(self, batch: dict, rng: np.random.Generator) -> dict[str, float]:
        t = self.recipe.TRAIN
        image01 = batch["image"].to(self.device).float() / 255
        image = self.net.normalize(image01).contiguous(memory_format=torch.channels_last)
        gt = batch["gt"].to(self.device)[:, None]
        ignore = batch["ignore"].to(self.device)[:, None]
        its = [[interaction_from_dict(d) for d in lst] for lst in batch["interactions"]]
        users = [SimulatedUser(s, "saic", human_like_user(s, t.HUMAN_LIKE_PROB)) for s in batch["seed"]]
        n_iter = int(rng.integers(0, t.MAX_ITERATIVE_STEPS + 1))
        prev, _ = self.corrections(image, its, users, batch["gt"].numpy(), batch["ignore"].numpy(), rng, n_iter)
        maps = self._maps(its, prev)
        with self.autocast():
            out = self.model(image, maps)
        out = {k: v.float() for k, v in out.items()}
        losses = {"nfl": normalized_focal_loss(out["instances"], gt, ignore) * t.NFL_WEIGHT}
        if "aux" in out:
            losses["aux"] = masked_bce(out["aux"], gt, ignore) * t.AUX_WEIGHT
        if self.recipe.MODEL.WITH_FORCE_POINTS_LOSS:
            losses["points"] = force_points_loss(out["instances"], maps) * t.FORCE_POINTS_WEIGHT
        if self.teacher is not None:
            # the samples that learn the teacher's probabilities (TRAIN.DISTILL_DATASETS; all by default)
            rows = (torch.isin(batch["source"], self.distilled).nonzero()[:, 0].to(self.device)
                    if self.distilled is not None else slice(None))
            if self.distilled is None or len(rows):
                with torch.no_grad(), self.autocast():
                    timage = self.teacher.normalize(image01[rows]).contiguous(memory_format=torch.channels_last)
                    soft = torch.sigmoid((self.teacher_net or self.teacher)(timage, maps[rows])["instances"].float())
                losses["distill"] = masked_bce(out["instances"][rows], soft, ignore[rows]) * t.DISTILL_WEIGHT
        if self.anchor:
            losses["l2sp"] = sum(((w - w0) ** 2).sum() for w, w0 in self.anchor) * t.L2SP_WEIGHT
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} at epoch {self.epoch}, iteration {self.step}; "
                                f"stopped. The last good checkpoint is in {self.ckpt_dir} (lower TRAIN.LR?)")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        self.last_batch = (batch, its, out["instances"].detach())
        return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in losses.items()}}

    # -- validation ---------------------------------------------------------------------------
    def validate(self, limit: int = 40) -> dict[str, float]:
        """Mean IoU after 1 and 3 RITM clicks, and after one contour / one stroke, on held-out
        training-set images (never on the benchmarks)."""
        # the network alone: no ZoomIn, no flip, no click guard
        opts = PredictorOptions(zoom_in=ZoomInParams(enabled=False), flip=False,
                                click_guard=ClickGuardParams(enabled=False))
        pred = NetPredictor(self.net, "val", opts, str(self.device))
        res: dict[str, list[float]] = {"click1": [], "click3": [], "contour1": [], "stroke1": []}
        todo = [(ds, idx) for ds in self.datasets
                for idx in split_indices(ds, self.recipe.TRAIN.VAL_FRACTION, "val")[: limit // len(self.datasets)]]
        for ds, idx in tqdm(todo, desc="validation", unit="img", dynamic_ncols=True, leave=False,
                            disable=self.rank != 0):
            try:
                s = ds[idx].resized(self.size)
            except DataError:
                continue
            for kind, n, key in (("point", 3, "click"), ("contour", 1, "contour"), ("stroke", 1, "stroke")):
                if kind not in self.net.arch.input_types:
                    continue
                session = Session(s.image, pred)
                user = SimulatedUser(idx)
                for k in range(n):
                    session.add(user.next(kind, s.gt, session.mask, s.ignore, session.interactions))
                    if k in (0, 2):
                        res[f"{key}{k + 1}"].append(iou(s.gt, session.mask, s.ignore))
        self._train_mode()
        return {k: float(np.mean(v)) for k, v in res.items() if v}

    def _train_mode(self) -> None:
        """Back to training mode after a pass without gradients; frozen layers stay frozen (TRAIN.FREEZE)."""
        self.net.train()
        freeze(self.net, self.recipe.TRAIN.FREEZE)

    def _visualize(self) -> None:
        batch, its, logits = self.last_batch
        img = batch["image"][0].permute(1, 2, 0).numpy()
        gt = batch["gt"][0].numpy()
        pred = (torch.sigmoid(logits[0, 0]) > DEFAULT_THRESHOLD).cpu().numpy()
        panel = np.concatenate([overlay(img, pred, its[0]), overlay(img, gt, its[0])], 1)
        save_rgb(self.exp_dir / "vis" / f"{self.step:07d}.png", panel)

    # -- loop ---------------------------------------------------------------------------------
    def run(self) -> Path | None:
        self._setup_outputs()
        t = self.recipe.TRAIN
        if self.rank == 0:
            settings = ", ".join(f"{k}={v['value']!r} ({v['source']})" for k, v in self.recipe.seed_settings().items())
            print(f"run folder: {self.exp_dir} (TensorBoard: tensorboard --logdir {self.exp_dir / 'tb'})", flush=True)
            log.info("run folder: %s", self.exp_dir)
            print(f"effective settings: {settings}", flush=True)
            log.info("effective settings: %s", settings)
            log.info("recipe %s: %s, %s; %d iterations/epoch x %d epochs, batch %d x %d process(es)",
                     self.recipe.name, self.net.arch.backbone, self.init_note, self.iters_per_epoch, t.EPOCHS,
                     self.batch, self.world)
            if t.PRECISION == "bf16" and self.device.type == "cpu":
                warning = bf16_warning("TRAIN.PRECISION bf16")
                if warning:
                    print(f"warning: {warning} (--set TRAIN.PRECISION=fp32)", flush=True)
                    log.warning("%s (--set TRAIN.PRECISION=fp32)", warning)
        loader = torch.utils.data.DataLoader(
            self.stream, batch_size=self.batch, shuffle=False, num_workers=self.opts.workers, collate_fn=collate,
            persistent_workers=False, drop_last=True)
        done = False
        while self.epoch < t.EPOCHS and not done:
            self.stream.set_epoch(self.epoch)
            skip = self.step - self.epoch * self.iters_per_epoch  # resumed mid-epoch: skip seen batches
            bar = tqdm(total=self.iters_per_epoch, initial=max(0, skip), desc=f"epoch {self.epoch + 1}/{t.EPOCHS}",
                       disable=self.rank != 0, dynamic_ncols=True)
            losses: list[float] = []
            t0 = time.perf_counter()
            try:
                for i, batch in enumerate(loader):
                    if i >= self.iters_per_epoch:
                        break
                    if i < skip:
                        continue
                    rng = np.random.default_rng([t.SEED, self.rank, self.epoch, i, 7])
                    vals = self.train_step(batch, rng)
                    self.step += 1
                    losses.append(vals["loss"])
                    if self.rank == 0:
                        for k, v in vals.items():
                            self.writer.add_scalar(f"train/{k}", v, self.step)
                        self.writer.add_scalar("train/lr", self.opt.param_groups[1]["lr"], self.step)
                        rate = (i + 1 - max(0, skip)) * self.batch * self.world / (time.perf_counter() - t0)
                        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", img_s=f"{rate:.1f}")
                        bar.update(1)
                        if self.step % t.VIS_EVERY == 0:
                            self._visualize()
                    if self.opts.max_iters is not None and self.step >= self.opts.max_iters:
                        done = True
                        break
            except RuntimeError as e:
                if "DataLoader worker" in str(e):
                    raise TrainingError(f"a data loader worker crashed ({e}); the last good checkpoint is in "
                                        f"{self.ckpt_dir}. Try --workers 0 to see the failing sample.") from None
                raise
            finally:
                bar.close()
            if done and self.step % self.iters_per_epoch:
                break  # stopped mid-epoch (max_iters): no epoch-end checkpoint
            self.epoch += 1
            val = None
            if self.rank == 0:
                metrics = self.validate() if self.epoch % t.VAL_EVERY == 0 else {}
                val = metrics.get("click3", metrics.get("contour1", metrics.get("stroke1")))
                for k, v in metrics.items():
                    self.writer.add_scalar(f"val/iou_{k}", v, self.step)
                entry = {"epoch": self.epoch, "step": self.step, "loss": float(np.mean(losses)) if losses else None,
                         **{f"val_{k}": v for k, v in metrics.items()}}
                self.history.append(entry)
                log.info("epoch %d: %s", self.epoch, json.dumps(entry))
                best = val is not None and val > self.best
                self._save(val)
                ious = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
                print(f"epoch {self.epoch}/{t.EPOCHS}: loss {entry['loss'] or float('nan'):.4f}"
                      + (f"; held-out IoU {ious}" if ious else "")
                      + f"; saved {self.ckpt_dir / 'last.safetensors'}" + (" (new best)" if best else ""), flush=True)
            if self.world > 1:
                dist.barrier()
        if self.rank == 0 and self.writer is not None:
            self.writer.close()
        return self.exp_dir


def setup_distributed(device: str) -> tuple[int, int, str]:
    """(rank, world size, device) from torchrun's environment; initialises the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        if device.startswith("cuda"):
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
    return rank, world, device
