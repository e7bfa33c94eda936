"""``interseg train RECIPE.yaml [--gpus 0,1 | --cpu] [--nprocs N] [--workers N] [--exp-name NAME]
[--resume PATH] [--batch-size N] [--epochs N]``

Several GPUs (``--gpus 0,1``) or ``--nprocs N`` CPU processes start one process each on PyTorch's
distributed engine (NCCL on GPUs, gloo on CPUs); ``torchrun --nproc_per_node N -m interseg train …``
works as well.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

import torch

from ..config import Config, load_config
from ..errors import ConfigError
from ..extras import require_extra
from ..training.recipe import load_recipe, load_recorded_recipe, parse_override
from ..training.trainer import Trainer, TrainOptions, setup_distributed
from .common import check_can_create, csv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, devices: list[str], args: argparse.Namespace) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    if devices[rank].startswith("cuda"):
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[rank].split(":")[1]
        devices = ["cuda:0"] * world
    if not devices[rank].startswith("cuda"):
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    _train(args, devices[rank])


def overrides_of(args: argparse.Namespace) -> dict[str, object]:
    """``--set SECTION.KEY=VALUE`` and the shortcut flags as recipe overrides."""
    out: dict[str, object] = dict(parse_override(s) for s in args.set)
    for flag, key in (("batch_size", "MODEL.BATCH_SIZE"), ("epochs", "TRAIN.EPOCHS"),
                      ("epoch_len", "TRAIN.EPOCH_LEN")):
        if getattr(args, flag) is not None:
            out[key] = getattr(args, flag)
    return out


def resolve_resume(path: Path, cfg: Config) -> Path:
    """An experiment folder (or a file in it) as given, or relative to EXPS_PATH."""
    candidates = [path]
    if not path.is_absolute():
        candidates.append(cfg.EXPS_PATH / path)
        if path.parts[0] == "experiments" and len(path.parts) > 1:
            candidates.append(cfg.EXPS_PATH / Path(*path.parts[1:]))
    for c in candidates:
        if c.exists():
            return c
    raise ConfigError(f"--resume {path}: no such experiment (looked in {', '.join(str(c) for c in candidates)})")


def _train(args: argparse.Namespace, device: str) -> None:
    cfg = load_config(args.config)
    resume = resolve_resume(args.resume, cfg) if args.resume else None
    if resume is not None:   # the run's recorded recipe, settings of its first start included
        recipe = load_recorded_recipe(resume if resume.is_dir() else resume.parent.parent, args.recipe,
                                      overrides_of(args))
    else:
        recipe = load_recipe(args.recipe, cfg, overrides_of(args))
    check_can_create(resume or cfg.EXPS_PATH / recipe.name)
    rank, world, device = setup_distributed(device)
    if rank == 0:
        print(f"interseg train {recipe.name}: reading {', '.join(d.NAME for d in recipe.TRAIN.DATASETS)}, building "
              f"{recipe.MODEL.BACKBONE}" + (f" from {recipe.MODEL.PRETRAINED_PATH}" if recipe.MODEL.PRETRAINED_PATH
                                            else "") + (f", resuming {resume}" if resume else "") + " …", flush=True)
    opts = TrainOptions(exp_name=args.exp_name, resume=resume, workers=args.workers, device=device,
                        max_iters=args.max_iters)
    exp = Trainer(recipe, cfg, opts, rank, world).run()
    if rank == 0:
        print(f"training finished: {exp}")


def parse_gpus(text: str | None) -> list[str]:
    """``"0, 1"`` → ``["0", "1"]``; anything but GPU numbers is an error."""
    gpus = csv(text)
    if any(not g.isdigit() for g in gpus):
        raise ConfigError(f"--gpus {text!r}: expected comma-separated GPU numbers, e.g. 0,1")
    return gpus


def run(args: argparse.Namespace) -> int:
    require_extra("train", "interseg train")
    gpus = parse_gpus(args.gpus)
    if gpus and (args.cpu or not torch.cuda.is_available()):
        if not args.cpu:
            raise ConfigError(f"--gpus {args.gpus}: no CUDA device is available (use --cpu)")
        gpus = []
    devices = [f"cuda:{g}" for g in gpus] or ["cpu"] * max(1, args.nprocs)
    if len(devices) > 1 and "WORLD_SIZE" not in os.environ:
        torch.multiprocessing.spawn(_worker, args=(len(devices), _free_port(), devices, args), nprocs=len(devices))
        return 0
    _train(args, devices[0])
    return 0
