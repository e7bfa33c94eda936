"""``interseg models create | list | publish | recommend | import``"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from ..errors import ConfigError
from ..models.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from ..models.network import ArchConfig, IntersegNet, load_imagenet_weights
from ..schema import from_dict
from .common import csv


def run(args: argparse.Namespace) -> int:
    if args.models_command == "create" and args.recipe:
        from ..config import load_config
        from ..training.recipe import load_recipe
        from ..training.trainer import build_net

        cfg = load_config(args.config)
        recipe = load_recipe(args.recipe, cfg)
        torch.manual_seed(recipe.TRAIN.SEED)  # exactly the network a training run starts from
        net, note = build_net(recipe, cfg)
        save_checkpoint(args.output, net, {"name": args.output.stem, "trained": False, "init": note})
        print(f"wrote {args.output} ({net.arch.backbone} of recipe {recipe.name} at initialisation: {note})")
        return 0
    if args.models_command == "create":
        torch.manual_seed(args.seed)
        types = csv(args.input_types)
        arch = from_dict(ArchConfig, {"backbone": args.backbone, "input_types": types}, "arguments:")
        net = IntersegNet(arch)
        meta = {"name": args.output.stem, "trained": False}
        if args.imagenet:
            report = load_imagenet_weights(net)
            meta["imagenet"] = True
            print(f"ImageNet weights: {len(report['missing'])} missing, {len(report['unexpected'])} unused keys")
        save_checkpoint(args.output, net, meta)
        print(f"wrote {args.output} ({arch.backbone}, inputs: {', '.join(arch.input_types)})")
        return 0
    if args.models_command == "list":
        return list_models(args)
    if args.models_command == "publish":
        return publish(args)
    if args.models_command == "recommend":
        return recommend(args)
    if args.models_command == "import":
        return import_reference(args)
    raise ConfigError(f"unknown models command {args.models_command}")


def list_models(args: argparse.Namespace) -> int:
    """Shipped models and those in INTERACTIVE_MODELS_PATH, read from their checkpoint metadata."""
    from ..config import load_config
    from ..data.terms import data_terms, weights_note
    from ..evaluation.report import format_table
    from ..inference.loading import DEFAULT_MODEL, SHIPPED_DIR

    cfg = load_config(args.config)
    rows, details = [], []
    for folder, where in ((SHIPPED_DIR, "shipped"), (cfg.INTERACTIVE_MODELS_PATH, "local")):
        for p in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
            arch, meta = read_metadata(p)
            name = p.stem + (" (default)" if where == "shipped" and p.stem == DEFAULT_MODEL else "")
            rows.append([name, arch.backbone, ",".join(arch.input_types), f"{p.stat().st_size / 1e6:.1f} MB", where])
            res = meta.get("results", {})
            data = meta.get("training_data", [])
            lines = [f"{p.stem}:", *_wrapped("training data", "+".join(data) or "-")]
            for line in data_terms(data):
                lines += _wrapped("  terms", line)
            if data:
                lines += _wrapped("  weights", weights_note(data))
            lines += _wrapped("predictor", _recommended(meta, p))
            lines += _wrapped("results", "; ".join(f"{k} {v}" for k, v in res.items()) or "-")
            details.append("\n".join(lines))
    if not rows:
        print("no models found (shipped models live in interseg/resources/models)")
        return 0
    print(format_table(["name", "architecture", "inputs", "size", "where"], rows))
    for block in details:
        print()
        print(block)
    if getattr(args, "learn", None) is not None:
        print()
        print(learned_versions(args.learn))
    return 0


def learned_versions(folder: Path) -> str:
    """The versions a learning server made in ``folder`` (``versions.json``), as a table."""
    import json

    from ..evaluation.report import format_table
    from ..serve.learner import VERSIONS_FILE

    path = Path(folder) / VERSIONS_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no model versions there (is it the folder of interseg serve --learn?)")
    try:
        versions = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not a versions file interseg wrote ({e})") from None
    rows = []
    for v in versions:
        held = v.get("heldout") or {}
        figures = f"{held['noi85']:.2f} / {held['noi90']:.2f} ({held['objects']})" if held else "-"
        rows.append([v["version"], str(Path(folder) / v["checkpoint"]), str(v.get("annotations", 0)), figures,
                     _served_to(v), v.get("reason", "")])
    return f"learned versions in {folder}:\n" + format_table(
        ["version", "checkpoint", "team annotations", "held-out NoI@85 / @90 (objects)", "", "why"], rows)


def _served_to(v: dict) -> str:
    """Who a learned version is (or was) served to."""
    if not v.get("accepted"):
        return "kept aside"
    if v.get("scope") == "team":
        return f"served to project(s) {', '.join(v.get('projects') or []) or '?'} only"
    return "served"


def _wrapped(label: str, text: str, width: int = 100) -> list[str]:
    """``  label: text`` wrapped to ``width`` columns, continuation lines indented."""
    import textwrap

    return textwrap.wrap(text, width, initial_indent=f"  {label}: ", subsequent_indent=" " * 4,
                         break_on_hyphens=False) or [f"  {label}:"]


def _recommended(meta: dict, source: str | Path) -> str:
    """The predictor settings a model's metadata recommends, in words (read as the predictors read them)."""
    from ..inference.options import recommended_options

    rec = recommended_options(meta, source)
    parts = [f"ZoomIn after {rec['zoom_in_skip_clicks']} clicks"] if "zoom_in_skip_clicks" in rec else []
    if rec.get("zoom_in") is False:
        parts = ["no ZoomIn"]
    if "fixed_size" in rec:
        parts.append(f"network input stretched to {rec['fixed_size'][0]}x{rec['fixed_size'][1]}")
    if rec.get("max_size"):
        parts.append(f"network input {rec['max_size']} px")
    if rec.get("click_guard") is not None:
        parts.append("click guard" if rec["click_guard"] else "no click guard")
    if rec.get("zoom_in_follow_object") is False:
        parts.append("the reference's crop rule")
    if rec.get("refine", "none") != "none":
        parts.append(f"refine {rec['refine']} r={rec['refine_radius']} eps={rec['refine_eps']}")
    return "; ".join(parts) or "-"


def publish(args: argparse.Namespace) -> int:
    """Copy a trained checkpoint into the shipped models; the metadata keeps what a user needs to know
    (training data, recipes, iterations, time) and drops the run-specific rest."""
    from ..inference.loading import SHIPPED_DIR

    net, meta = load_checkpoint(args.checkpoint)
    if not meta.get("trained"):
        raise ConfigError(f"{args.checkpoint}: not a trained checkpoint (metadata says trained={meta.get('trained')})")
    out = (args.output_dir or SHIPPED_DIR) / f"{args.name}.safetensors"
    clean = {"name": args.name, "trained": True, "training_data": meta.get("training_data", []),
             "recipes": csv(args.recipes) or [meta.get("name", "")],
             "iterations": meta.get("iterations"), "epochs": meta.get("epoch"), "init": meta.get("init", ""),
             "teacher": meta.get("recipe", {}).get("TRAIN", {}).get("TEACHER", ""),
             "training_time": args.training_time, "source": args.checkpoint.name, "results": {}}
    inference = inference_block(args)
    if inference:
        clean["inference"] = inference
    save_checkpoint(out, net, clean)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {net.arch.backbone}, "
          f"inputs: {', '.join(net.arch.input_types)})")
    return 0


def inference_block(args: argparse.Namespace, current: dict | None = None, source: str = "") -> dict:
    """The ``inference`` metadata (predictor settings a model recommends) from ``--zoom-in-skip-clicks``
    and ``--refine`` / ``--refine-radius`` / ``--refine-eps``, over ``current``."""
    from ..inference.options import PredictorOptions, recommended_options

    block = dict(current or {})
    skip = getattr(args, "zoom_in_skip_clicks", None)
    if skip is not None:
        if skip < 0:
            raise ConfigError(f"--zoom-in-skip-clicks must be >= 0, not {skip}")
        block["zoom_in_skip_clicks"] = skip
    max_size = getattr(args, "max_size", None)
    if max_size is not None:
        if max_size < 32:
            raise ConfigError(f"--max-size must be >= 32, not {max_size}")
        block["max_size"] = max_size
    given = [getattr(args, k, None) for k in ("refine", "refine_radius", "refine_eps")]
    if given[0] is None and any(v is not None for v in given[1:]) and "refine" not in block:
        raise ConfigError("--refine-radius / --refine-eps need --refine guided")
    if any(v is not None for v in given):
        rec = recommended_options({"inference": block}, source)
        opts = PredictorOptions().with_changes(**rec).with_changes(
            refine=given[0], refine_radius=given[1], refine_eps=given[2])
        block["refine"] = dataclasses.asdict(opts.refine)
    return block


def recommend(args: argparse.Namespace) -> int:
    """Set the predictor settings a model recommends in its metadata (weights unchanged)."""
    from ..config import load_config
    from ..inference.loading import resolve_checkpoint
    from ..models.checkpoint import update_metadata

    path = resolve_checkpoint(args.model, load_config(args.config).INTERACTIVE_MODELS_PATH)
    _, meta = read_metadata(path)
    block = inference_block(args, meta.get("inference"), str(path))
    if block == meta.get("inference", {}):
        print(f"{path}: nothing to change (inference: {block or 'none'})")
        return 0
    update_metadata(path, {"inference": block})
    print(f"{path}: inference recommendations now {block}")
    return 0


def import_reference(args: argparse.Namespace) -> int:
    """A SAIC-IS/RITM ``.pth`` as an interseg checkpoint: the same weights, the architecture read from
    the file, and metadata naming the source and the reference's predictor settings."""
    from ..errors import CheckpointError
    from ..models.reference import ReferenceNet, is_pickle_file, load_reference_checkpoint

    src: Path = args.checkpoint
    if not src.is_file():
        raise CheckpointError(f"{src}: checkpoint file not found")
    if not is_pickle_file(src):
        raise CheckpointError(f"{src}: not a PyTorch .pth file (interseg checkpoints need no import)")
    out: Path = args.output
    if out.suffix != ".safetensors":
        raise ConfigError(f"{out}: the output must be a .safetensors file")
    net, meta = load_reference_checkpoint(src)
    assert isinstance(net, ReferenceNet)
    meta["name"] = out.stem
    save_checkpoint(out, net, meta)
    a = net.arch
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {meta['source_project']} "
          f"{a.model_class.split('.')[-1]}, {a.backbone}, inputs {', '.join(a.input_types)}, "
          f"{'disks' if a.use_disks else 'distance maps'} radius {a.norm_radius:g}; "
          f"predictor: {_recommended(meta, out)}")
    return 0
