"""The ``interseg`` command line: ``interseg <command> --help`` for each command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from .errors import IntersegError
from .inference.options import DEFAULT_THRESHOLD


def _add_predictor_args(p: argparse.ArgumentParser, multi: bool = False) -> None:
    g = p.add_argument_group("model")
    if multi:
        g.add_argument("--checkpoint", action="append", default=[], metavar="NAME|PATH",
                       help="shipped model name or checkpoint path (repeat to compare several)")
        g.add_argument("--baseline", action="append", default=[], choices=["grabcut"],
                       help="classical baseline to run (can be combined with --checkpoint)")
    else:
        g.add_argument("--checkpoint", metavar="NAME|PATH", help="shipped model name or checkpoint path")
    g.add_argument("--cpu", action="store_true", help="run on the CPU even if a GPU is present")
    g.add_argument("--fixed-h", type=int, help="network input height (image or ZoomIn crop is stretched)")
    g.add_argument("--fixed-w", type=int, help="network input width")
    g.add_argument("--max-size", type=int, metavar="N",
                   help="longest side of the network input on the whole image (default: the model's "
                        "recommendation, else 640; 0 = the image as it is)")
    if not multi:
        g.add_argument("--max-pixels", type=int, metavar="N",
                       help="largest image accepted, in pixels (default 80 million)")
    g.add_argument("--thresh", type=float, help=f"probability threshold (default {DEFAULT_THRESHOLD})")
    g.add_argument("--no-zoom-in", action="store_true", help="disable ZoomIn")
    g.add_argument("--zoom-in-skip-clicks", type=int, metavar="N",
                   help="clicks seen on the whole image before ZoomIn crops (default: the model's own "
                        "recommendation, else 1)")
    g.add_argument("--no-flip", action="store_true", help="disable horizontal-flip test-time averaging")
    g.add_argument("--click-guard", action=argparse.BooleanOptionalAction, default=None,
                   help="move the look-alike pixels around a click the network ignored to the click's side "
                        "(bounded: never erases most of the object); default off: the network's own mask")
    add_refine_args(g)
    g.add_argument("--backend", choices=["torch", "onnx"],
                   help="run the network with PyTorch (default) or ONNX Runtime (faster on CPUs)")
    g.add_argument("--bf16", action="store_true",
                   help="run the PyTorch network under bfloat16 autocast (about 1.5-1.6x faster on CPUs with "
                        "native bfloat16, slower on others; masks within 1 %% IoU of float32)")


def add_refine_args(p: argparse.ArgumentParser | argparse._ArgumentGroup, recommend: bool = False) -> None:
    """``--refine``, ``--refine-radius``, ``--refine-eps``: the edge refinement a predictor uses, or with
    ``recommend`` the one a model recommends (its metadata)."""
    default = "" if recommend else " (default: the model's own recommendation, else {})"
    p.add_argument("--refine", choices=["none", "guided"],
                   help=("recommend this " if recommend else "")
                   + "edge-aware refinement of the probabilities: guided = colour guided filter"
                   + default.format("none"))
    p.add_argument("--refine-radius", type=int, metavar="R",
                   help="guided filter window radius in network-input pixels" + default.format(8))
    p.add_argument("--refine-eps", type=float, metavar="E",
                   help="guided filter regularisation" + default.format(0.001))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interseg", description=__doc__)
    parser.add_argument("--config", help="config file (default: ./config.yml, else the packaged default)")
    # every command takes --config too, before or after its own arguments
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", dest="config_sub", metavar="CONFIG",
                        help="config file (default: ./config.yml, else the packaged default)")
    sub = _Subparsers(parser.add_subparsers(dest="command", required=True), common)

    ev = sub.add_parser("evaluate", help="benchmark models on datasets (NoI or IoU ± std)")
    ev.add_argument("--datasets", default="sample",
                    help="comma-separated: GrabCut, Berkeley, DAVIS, SBD, PascalVOC, SAIC_IS, COCO_MVal, a "
                         "training set's name (ECSSD, COCO_MVal_train, COCO, LVIS), sample (bundled), or "
                         "folder:PATH[?images=DIR&masks=DIR&ignore=V] (default: sample)")
    _add_predictor_args(ev, multi=True)
    ev.add_argument("--noi", action="store_true", help="number of interactions to 85/90/95 %% IoU instead "
                                                       "of IoU averaged over sequences")
    ev.add_argument("--boundary-iou", action="store_true", help="use Boundary IoU")
    ev.add_argument("--boundary-ratio", type=float, default=0.005,
                    help="boundary width as a fraction of the image diagonal, or pixels if >= 1 (default 0.005)")
    ev.add_argument("--n-interactions", type=int, default=10, help="steps per sequence in IoU mode (default 10)")
    ev.add_argument("--max-interactions", type=int, default=20, help="cap for NoI (default 20)")
    ev.add_argument("--input-types", default="point,contour,stroke", help="comma-separated input types")
    ev.add_argument("--schedule", choices=["product", "single", "csp"],
                    help="IoU mode: product = the full protocol's 27 type sequences (default, except on the "
                         "bundled sample alone: single), single = one type each, csp = contour, stroke, then clicks")
    ev.add_argument("--sample-max-size", type=int, metavar="N",
                    help="downscale each image and its masks to this longest side before the run, as the "
                         "reference protocol can (default: as they are)")
    ev.add_argument("--clicker", choices=["ritm", "saic"], default="ritm", help="click simulator")
    ev.add_argument("--user", choices=["reference", "human-like"], default="reference",
                    help="contours and strokes as the reference protocol draws them (default), or as people do: "
                         "one to three short scribbles 3-15 px wide, loose, partial or box outlines")
    ev.add_argument("--keep-all", action="store_true",
                    help="keep every contour/stroke in the input instead of the last step's only (what the "
                         "networks are trained with, and the demo, predict and the server give them)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--limit", type=int, metavar="N",
                    help="only N objects of each dataset: the first N by file name, or with --subset random a "
                         "random N drawn with --seed (raising N on an existing --output extends the run)")
    ev.add_argument("--subset", choices=["first", "random"], default="first",
                    help="which --limit objects (default: the first by file name)")
    ev.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                    help="parallel processes (default: the number of CPU cores, at most 4)")
    ev.add_argument("--output", type=Path, help="results folder (default: EXPS_PATH/evaluation/<name>)")
    ev.add_argument("--vis-preds", action="store_true", help="save final predictions over the images")

    pr = sub.add_parser("predict", help="segment one image from given interactions")
    pr.add_argument("image", type=Path)
    _add_predictor_args(pr)
    pr.add_argument("--click", action="append", default=[], metavar="X,Y[,neg]",
                    help="a click at pixel (X, Y); add ',neg' for a negative click (repeatable, in order)")
    pr.add_argument("--contour", action="append", default=[], type=Path, metavar="FILE.json",
                    help="JSON: [[x, y], ...] or {\"points\": [[x, y], ...], \"positive\": true}")
    pr.add_argument("--stroke", action="append", default=[], type=Path, metavar="FILE.json",
                    help="JSON, as --contour")
    pr.add_argument("-o", "--output", type=Path, required=True, help="mask, 1-channel PNG (0/255)")
    pr.add_argument("--overlay", type=Path, help="also write the mask and interactions over the image")
    pr.add_argument("--prob", type=Path, help="also write the probability map as 1-channel 8-bit PNG")

    mk = sub.add_parser("models", help="create, list and export models")
    mk_sub = _Subparsers(mk.add_subparsers(dest="models_command", required=True), common)
    cr = mk_sub.add_parser("create", help="write an untrained checkpoint of an architecture")
    cr.add_argument("--backbone", default="effnet_lite0")
    cr.add_argument("--input-types", default="point,contour,stroke")
    cr.add_argument("--imagenet", action="store_true", help="load ImageNet backbone weights")
    cr.add_argument("--seed", type=int, default=0)
    cr.add_argument("--recipe", type=Path, help="build the network a training recipe starts from")
    cr.add_argument("-o", "--output", type=Path, required=True)

    ls = mk_sub.add_parser("list", help="shipped and local models with their results")
    ls.add_argument("--learn", type=Path, metavar="DIR",
                    help="also the versions `interseg serve --learn DIR` made, with their data and held-out NoI")
    pb = mk_sub.add_parser("publish", help="copy a trained checkpoint into the shipped models with clean metadata")
    pb.add_argument("checkpoint", type=Path, help="trained checkpoint (e.g. a run's checkpoints/last.safetensors)")
    pb.add_argument("--name", required=True, help="model name (file interseg/resources/models/NAME.safetensors)")
    pb.add_argument("--recipes", default="", help="comma-separated recipe files that produced it, in order")
    pb.add_argument("--training-time", default="", help="wall-clock training time, e.g. '1 h 40 min on 2 CPU cores'")
    pb.add_argument("--output-dir", type=Path, help="where to write it (default: the package's shipped models)")
    pb.add_argument("--zoom-in-skip-clicks", type=int, metavar="N",
                    help="recommend ZoomIn after N clicks for this model (kept in its metadata; predictors "
                         "use it unless --zoom-in-skip-clicks is given)")
    add_refine_args(pb, recommend=True)
    rc = mk_sub.add_parser("recommend", help="set the predictor settings a model recommends (its metadata)")
    rc.add_argument("model", help="shipped model name or checkpoint path")
    rc.add_argument("--zoom-in-skip-clicks", type=int, metavar="N", help="recommend ZoomIn after N clicks")
    rc.add_argument("--max-size", type=int, metavar="N",
                    help="recommend this longest side of the network input on the whole image")
    add_refine_args(rc, recommend=True)

    im = mk_sub.add_parser("import", help="convert a SAIC-IS or RITM .pth checkpoint into an interseg checkpoint "
                                          "(read safely, once; later loads need no unpickling)")
    im.add_argument("checkpoint", type=Path, help="the reference's .pth (e.g. hrnet18_multi.pth)")
    im.add_argument("-o", "--output", type=Path, required=True, help="NAME.safetensors to write")

    ex = sub.add_parser("export-onnx", help="export a checkpoint to ONNX and check it against PyTorch")
    ex.add_argument("--checkpoint", required=True, metavar="NAME|PATH")
    ex.add_argument("--size", type=int, nargs=2, metavar=("H", "W"),
                    help="input size of the check (default: the backbone's default input, e.g. 320x320 for "
                         "effnet_lite0; the exported model takes any size)")
    ex.add_argument("-o", "--output", type=Path, required=True)

    tr = sub.add_parser("train", help="train a model from a recipe (a YAML file, or a packaged recipe's name)")
    tr.add_argument("recipe", help="recipe file, or the name of a packaged recipe (e.g. lite0_cpu_multi)")
    tr.add_argument("--gpus", help="comma-separated GPU ids; several start one process each (DDP)")
    tr.add_argument("--cpu", action="store_true", help="train on the CPU")
    tr.add_argument("--nprocs", type=int, default=1, help="CPU processes for data-parallel training (gloo)")
    tr.add_argument("--workers", type=int, default=2, help="data loader worker processes")
    tr.add_argument("--exp-name", default="exp")
    tr.add_argument("--resume", type=Path,
                    help="experiment folder (or its checkpoint) to continue; relative: to here or to EXPS_PATH")
    tr.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a recipe key, e.g. MODEL.TRAIN_SIZE=320 (wins over the recipe and config.yml)")
    tr.add_argument("--batch-size", type=int, help="the same as --set MODEL.BATCH_SIZE=N")
    tr.add_argument("--epochs", type=int, help="the same as --set TRAIN.EPOCHS=N")
    tr.add_argument("--epoch-len", type=int, help="samples per epoch (--set TRAIN.EPOCH_LEN=N)")
    tr.add_argument("--max-iters", type=int, help=argparse.SUPPRESS)

    dm = sub.add_parser("demo", help="the annotation GUI")
    dm.add_argument("path", nargs="?", type=Path, help="image or folder of images to open")
    _add_predictor_args(dm)
    dm.add_argument("--baseline", choices=["grabcut"], action="append", default=[],
                    help="use the GrabCut baseline instead of a network")
    dm.add_argument("--output", type=Path, help="folder for annotations (default: next to each image)")
    dm.add_argument("--labels", help="comma-separated class names for the objects (default: object); more can "
                                     "be typed in the demo")

    sv = sub.add_parser("serve", help="model server for annotation tools (Label Studio ML backend, JSON API)")
    _add_predictor_args(sv)
    sv.add_argument("--baseline", choices=["grabcut"], action="append", default=[],
                    help="serve the GrabCut baseline instead of a network")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=9090, help="port (default 9090)")
    sv.add_argument("--workers", type=int, default=1, help="predictions run in parallel (default 1)")
    sv.add_argument("--max-queue", type=int, default=8,
                    help="requests that may wait for a worker; beyond that the server answers 503 (default 8)")
    sv.add_argument("--allow-host", action="append", default=[], metavar="URL",
                    help="also fetch task images from this origin, e.g. https://images.example.org (the Label "
                         "Studio host that calls /setup is always allowed)")
    sv.add_argument("--max-image-mb", type=int, default=64, help="largest image download or upload (default 64)")
    sv.add_argument("--cache-mb", type=int, default=1024,
                    help="memory for decoded images, and as much for cached predictions (default 1024)")
    sv.add_argument("--cache-ttl", type=float, default=1800, help="seconds a cached image or prediction lives")
    sv.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    sv.add_argument("--label-studio-url", metavar="URL",
                    help="the Label Studio this server works for: images and its token go nowhere else and /setup "
                         "from another host is refused")
    sv.add_argument("--basic-auth", metavar="USER:PASS",
                    help="HTTP Basic Auth on every endpoint but /health (or INTERSEG_BASIC_AUTH); required when "
                         "--host is not a loopback address")
    sv.add_argument("--learn", type=Path, metavar="DIR",
                    help="learn from the team: store the annotations Label Studio saves (its webhook) in DIR and "
                         "fine-tune the served model on them in the background; model versions live in DIR")
    sv.add_argument("--learn-every", type=int, default=20, metavar="N",
                    help="fine-tune after N new annotations (default 20), or when Label Studio asks to train")
    sv.add_argument("--learn-steps", type=int, default=300, metavar="N",
                    help="optimizer steps of one fine-tuning round (default 300)")
    sv.add_argument("--learn-swap", choices=["better", "always"], default="better",
                    help="serve a round's model only if the held-out NoI improved (default), or always")
    sv.add_argument("--learn-forgetting", choices=["team", "keep"], default="team",
                    help="a round's model that is better for the team but forgets what the model knew (the replay "
                         "sets' held-out NoI@90 up by more than 0.3): serve it to the team's own Label Studio "
                         "projects only, every other project keeping the model that does not forget (default), "
                         "or to no one")
    sv.add_argument("--learn-freeze", choices=["none", "bn", "backbone"], default="backbone",
                    help="what fine-tuning leaves as it is: the backbone and every batch norm (default), batch "
                         "norm's statistics and scale alone (bn), or nothing (none)")
    sv.add_argument("--learn-mix", type=float, default=0.7, metavar="SHARE",
                    help="a round's model: the base model's weights plus this share of what fine-tuning changed "
                         "(default 0.7: most of the team's gain, about half the forgetting; 1: as fine-tuned)")
    sv.add_argument("--replay", default="COCO_MVal_train,ECSSD", metavar="NAMES",
                    help="training sets mixed into fine-tuning so that the model does not forget (default "
                         "COCO_MVal_train,ECSSD; those not found are left out, with a warning)")
    sv.add_argument("--model-version", metavar="VERSION",
                    help="serve this learned version (e.g. v2; v0 = the base model) and make no automatic swap")

    ds = sub.add_parser("datasets", help="dataset utilities")
    ds_sub = _Subparsers(ds.add_subparsers(dest="datasets_command", required=True), common)
    st = ds_sub.add_parser("stats", help="images, instances and median resolution of datasets")
    st.add_argument("names", nargs="+", help="dataset names (as in --datasets)")
    pr = ds_sub.add_parser("prepare", help="decode training sets once (shorter side capped, masks precomputed) "
                                           "into PREPARED_PATH; training then reads them from there")
    pr.add_argument("names", nargs="+", help="training set names (as in a recipe's TRAIN.DATASETS)")
    pr.add_argument("--short-side", type=int, default=512, help="largest shorter image side (default 512)")
    return parser


class _Subparsers:
    """``add_parser`` with the options every command shares (``--config``)."""

    def __init__(self, action, common: argparse.ArgumentParser) -> None:
        self.action, self.common = action, common

    def add_parser(self, name: str, **kw) -> argparse.ArgumentParser:
        return self.action.add_parser(name, parents=[self.common], **kw)


def _protect_negative_values(argv: list[str]) -> list[str]:
    """``--click -5,10`` → ``--click=-5,10``: argparse would take ``-5,10`` for an option and say
    "expected one argument"; joined, the value reaches our own check ("outside the image")."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a in ("--click", "--set"):
            nxt = next(it, None)
            if nxt is not None and nxt.startswith("-") and len(nxt) > 1 and (nxt[1].isdigit() or nxt[1] == "."):
                out.append(f"{a}={nxt}")
                continue
            out.append(a)
            if nxt is not None:
                out.append(nxt)
            continue
        out.append(a)
    return out


#: subcommand → module in interseg.commands (imported on use, so `interseg --help` stays fast)
COMMANDS = {"evaluate": "evaluate", "datasets": "datasets", "train": "train", "demo": "demo", "predict": "predict",
            "models": "models", "export-onnx": "export_onnx", "serve": "serve"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_protect_negative_values(list(sys.argv[1:] if argv is None else argv)))
    if getattr(args, "config_sub", None):
        args.config = args.config_sub
    try:
        module = COMMANDS.get(args.command)
        if module is not None:
            return importlib.import_module(f".commands.{module}", __package__).run(args)
    except IntersegError as e:
        print(f"interseg: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interseg: interrupted (results written so far are kept; run again to resume)", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
