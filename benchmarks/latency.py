"""Per-interaction latency of every architecture at 448x448 on this machine.

For each architecture: milliseconds per interaction (median of --reps runs after warm-up) of
  * torch eager, one forward (batch 1, channels-last), the network as it is, without flip averaging;
  * torch eager with horizontal-flip averaging (batch 2, the predictor's default);
  * the same two with batch norm folded into the convolutions, as the predictor runs them
    (``interseg.models.folding``; architectures without batch norm run unchanged);
  * ONNX Runtime (CPU), batch 1, from `interseg export-onnx`, whose logits are checked against torch.
For the Segformers, the whole network with the fused MLP decoder against the published concat-then-fuse
formulation (``MLPDecoder.forward_concat``). Then, for the shipped default model (or --checkpoint), the
end-to-end time of one interaction as a user sees it (Session.add: encoding, network, ZoomIn, upsampling,
threshold) over simulated clicks on a bundled 640x421 photo, for each backend with and without flip
averaging, without batch-norm folding, and with the guided-filter edge refinement (``--refine guided``).
With --bf16 MODELS, each model's predictor (its recommended options) with precision fp32 and bf16
(bfloat16 autocast) on the same simulated clicks: ms per prediction and the IoU between the two masks.
Usage: python benchmarks/latency.py [--archs effnet_lite0,mit_b0] [--reps 20] [--threads N] [--checkpoint NAME|PATH]
                                    [--bf16 interseg_lite0,interseg_segformer_b0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from interseg.commands.common import csv
from interseg.models.backbones import backbone_spec
from interseg.models.folding import FoldedForward
from interseg.models.network import ArchConfig, IntersegNet
from interseg.models.onnx_export import export_onnx
from interseg.timing import median_ms

DEFAULT = "effnet_lite0,effnet_lite2,mit_b0,mit_b1,hrnet18s,hrnet18,mit_b4"


def bench_arch(arch: str, s: int, reps: int, threads: int) -> tuple[float, ...]:
    import onnxruntime as ort

    torch.manual_seed(0)
    net = IntersegNet(ArchConfig(arch)).eval()
    params = sum(p.numel() for p in net.parameters()) / 1e6
    x1, m1 = torch.randn(1, 3, s, s), torch.zeros(1, 7, s, s)
    feed = {"image": x1.numpy(), "maps": m1.numpy()}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.onnx"
        diff = export_onnx(net, path, (s, s))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        onnx_ms = median_ms(lambda: sess.run(None, feed), reps)
    cl = torch.channels_last
    net = net.to(memory_format=cl)
    one = (x1.contiguous(memory_format=cl), m1.contiguous(memory_format=cl))
    two = (torch.cat([x1, x1]).contiguous(memory_format=cl), torch.cat([m1, m1]).contiguous(memory_format=cl))
    folded = FoldedForward(net)
    with torch.inference_mode():
        eager = median_ms(lambda: net(*one), reps)
        flip = median_ms(lambda: net(*two), reps)
        f_eager = median_ms(lambda: folded(*one), reps)
        f_flip = median_ms(lambda: folded(*two), reps)
    return params, eager, flip, f_eager, f_flip, onnx_ms, diff


def bench_mlp_decoder(arch: str, s: int, reps: int) -> None:
    """Whole-network torch+flip time with the fused MLP decoder vs the published concat-then-fuse one."""
    torch.manual_seed(0)
    net = IntersegNet(ArchConfig(arch)).eval()
    x, m = torch.randn(2, 3, s, s), torch.zeros(2, 7, s, s)
    with torch.inference_mode():
        fused = median_ms(lambda: net(x, m), reps)
        net.head.forward = net.head.forward_concat  # the instance attribute shadows the method
        concat = median_ms(lambda: net(x, m), reps)
    print(f"{arch:<14} MLP decoder, torch+flip: concatenate-then-fuse {concat:.1f} ms, fused {fused:.1f} ms "
          f"(x{concat / fused:.2f})", flush=True)


def sample_photo():
    """The bundled 640x421 photo and its object's mask."""
    from interseg.data.image_io import load_image, load_label_map
    from interseg.data.registry import SAMPLE_DIR

    return (load_image(SAMPLE_DIR / "img" / "horse00_000000281447.jpg"),
            load_label_map(SAMPLE_DIR / "gt" / "horse00_000000281447.png") > 0)


def bench_session(spec: str, reps: int) -> None:
    from interseg.inference.loading import resolve_checkpoint
    from interseg.inference.net_predictor import NetPredictor, PredictorOptions
    from interseg.inference.refine import RefineParams
    from interseg.inference.session import Session
    from interseg.interactions.users import SimulatedUser
    from interseg.models.checkpoint import load_checkpoint

    image, gt = sample_photo()
    net, _ = load_checkpoint(resolve_checkpoint(spec, None))
    print(f"\n{spec}: ms per interaction end to end (Session.add, clicks, ZoomIn on; the last line with the edge "
          f"refinement), image {image.shape[1]}x{image.shape[0]}")
    guided = RefineParams("guided", 8, 1e-3)
    for backend, flip, refine, fold in (("torch", True, RefineParams(), False), ("torch", False, RefineParams(), False),
                                        ("torch", True, RefineParams(), True), ("torch", False, RefineParams(), True),
                                        ("onnx", True, RefineParams(), True), ("onnx", False, RefineParams(), True),
                                        ("torch", True, guided, True)):
        opts = PredictorOptions(flip=flip, backend=backend, refine=refine)
        session = Session(image, NetPredictor(net, spec, opts, fold_bn=fold))
        user = SimulatedUser(0)
        times = []
        for i in range(reps + 3):
            if len(session.interactions) >= 10:
                session.reset()
            click = user.next("point", gt, session.mask, None, session.interactions)
            t0 = time.perf_counter()
            session.add(click)
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
        extra = (" + --refine guided" if refine.mode != "none" else "") + ("" if fold or backend == "onnx" else
                                                                           ", batch norm not folded")
        print(f"  {backend:<6} flip {'on ' if flip else 'off'}{extra:<24}  {statistics.median(times):7.1f} ms",
              flush=True)


def bench_bf16(spec: str, reps: int) -> None:
    """The predictor option precision fp32 vs bf16 for one model, on the clicks the float32 run chose,
    replayed identically in bfloat16."""
    from interseg.inference.loading import load_predictor
    from interseg.interactions.users import SimulatedUser

    image, gt = sample_photo()
    user, clicks = SimulatedUser(0), []
    results = {}
    for precision in ("fp32", "bf16"):
        predictor = load_predictor(spec, precision=precision)
        thr = predictor.options.threshold
        state, prev, times, masks = predictor.prepare(image), None, [], []
        for k in range(min(reps, 10)):
            if precision == "fp32":      # the click sequence, chosen on the float32 masks
                clicks.append(user.next("point", gt, np.zeros_like(gt) if prev is None else prev > thr, None,
                                        clicks))
            t0 = time.perf_counter()
            prev = predictor.predict(state, clicks[:k + 1], prev)
            times.append((time.perf_counter() - t0) * 1000)
            masks.append(prev > thr)
        results[precision] = (statistics.median(times[1:]), masks)
    (t32, m32), (t16, m16) = results["fp32"], results["bf16"]
    ious = [(a & b).sum() / max(1, (a | b).sum()) for a, b in zip(m32, m16, strict=True)]
    print(f"{spec:<24} ms per prediction float32 {t32:7.1f}, bfloat16 {t16:7.1f} (x{t32 / t16:.2f}); "
          f"mask IoU bf16 vs fp32 min {min(ious):.4f}, mean {sum(ious) / len(ious):.4f} over {len(clicks)} clicks",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", default=DEFAULT)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--checkpoint", default="interseg_lite0", help="model for the end-to-end figures ('' to skip)")
    ap.add_argument("--bf16", default="", help="models to time in float32 vs bfloat16 autocast (comma-separated)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.bf16:
        print(f"image 640x421, {args.threads} threads, each model's recommended predictor options")
        for spec in csv(args.bf16):
            bench_bf16(spec, args.reps)
        if not args.archs:
            return
    import onnxruntime as ort

    s = args.size
    print(f"{args.size}x{args.size}, {args.threads} threads, torch {torch.__version__}, onnxruntime {ort.__version__}")
    print(f"{'architecture':<14} {'params (M)':>10} {'torch ms':>9} {'torch+flip ms':>14} {'folded ms':>10} "
          f"{'folded+flip ms':>15} {'onnx ms':>8} {'onnx rel. diff':>15}")
    archs = csv(args.archs)
    for arch in archs:
        params, eager, flip, f_eager, f_flip, onnx_ms, diff = bench_arch(arch, s, args.reps, args.threads)
        print(f"{arch:<14} {params:>10.2f} {eager:>9.1f} {flip:>14.1f} {f_eager:>10.1f} {f_flip:>15.1f} "
              f"{onnx_ms:>8.1f} {diff:>15.2e}", flush=True)
    for arch in [a for a in archs if backbone_spec(a).family == "mit"]:
        bench_mlp_decoder(arch, s, args.reps)
    if args.checkpoint:
        bench_session(args.checkpoint, args.reps)


if __name__ == "__main__":
    main()
