"""A SAIC-IS/RITM checkpoint in interseg against the reference network's own outputs and speed.

Loads ``--checkpoint X.pth`` as interseg loads it (safe unpickling, architecture from the file) and
runs it on the fixed inputs of ``--fixture X.npz`` (written by the reference code: ``image``,
``prev_mask``, ``points``, ``contour_maps``, ``stroke_maps`` and the reference's ``instances``
logits). Prints, first, the largest absolute logit difference of the network as loaded (float32,
batch norm unfolded), then that of the predictor's optimised network (batch norm folded into the
convolutions, channels-last), then the milliseconds of one forward at 448 x 448 for both (median of
--reps after warm-up, --threads threads).

With ``--reference-code DIR`` (a checkout of the reference project holding ``isegm/``), the reference
network itself is built from the same file by the reference's own code and timed in the same run on
the same input; the ratio is what interseg's optimised network gains over it.

Usage: python benchmarks/reference_equivalence.py --checkpoint X.pth --fixture X.npz
           [--reps 10] [--threads 2] [--reference-code DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from interseg.models.checkpoint import load_checkpoint
from interseg.models.folding import FoldedForward
from interseg.models.reference import ReferenceNet
from interseg.timing import median_ms


def _fixture_inputs(net: ReferenceNet, fixture: dict[str, np.ndarray]) -> dict:
    image = torch.from_numpy(fixture["image"])[None]
    if net.arch.with_prev_mask:
        image = torch.cat([image, torch.from_numpy(fixture["prev_mask"])[None, None]], 1)
    kw: dict = {"points": torch.from_numpy(fixture["points"])}
    if net.arch.multi_input:
        for kind in ("contour", "stroke"):
            if kind in net.arch.input_types:
                kw[f"{kind}_maps"] = torch.from_numpy(fixture[f"{kind}_maps"])
    return {"image_and_prev": image, **kw}


def _reference_model(code: Path, checkpoint: Path):
    """The reference's own network from the file, by the reference's own loader (trusted code and
    file here: this is the one place that unpickles without the allow-list)."""
    sys.path.insert(0, str(code))
    if not hasattr(np, "int"):  # the reference code predates NumPy 2
        np.int = int  # type: ignore[attr-defined]
    from isegm.utils.serialization import load_model  # type: ignore[import-not-found]

    state = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
    model = load_model(state["config"])
    model.load_state_dict(state["state_dict"], strict=False)
    return model.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--fixture", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference-code", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net, _ = load_checkpoint(args.checkpoint)
    if not isinstance(net, ReferenceNet):
        print(f"{args.checkpoint}: not a SAIC-IS/RITM checkpoint", file=sys.stderr)
        return 2
    fixture = dict(np.load(args.fixture))
    ref = torch.from_numpy(fixture["instances"])
    inputs = _fixture_inputs(net, fixture)
    with torch.no_grad():
        out = net.forward_reference(**inputs)["instances"]
        print(f"max abs diff: {float((out - ref).abs().max()):.3g}")
        # the predictor's network: channels-last, batch norm folded (NetPredictor's default)
        net_cl = net.to(memory_format=torch.channels_last)
        folded = FoldedForward(net_cl)
        original = net.forward
        net.forward = lambda image, maps: folded(image.contiguous(memory_format=torch.channels_last),  # type: ignore[method-assign]
                                                 maps.contiguous(memory_format=torch.channels_last))
        out_opt = net.forward_reference(**inputs)["instances"]
        net.forward = original  # type: ignore[method-assign]
        print(f"max abs diff (optimised): {float((out_opt - ref).abs().max()):.3g}  "
              f"({folded.folded} batch norms folded)")
        # how far float32 rounding alone moves these logits: the reference's own float32 result and the
        # optimised one against the network computed in float64
        net64 = net.to(memory_format=torch.contiguous_format).double()
        exact = net64.forward_reference(**{k: v.double() for k, v in inputs.items()})["instances"]
        net.float()
        print(f"float32 rounding against float64: reference {float((ref.double() - exact).abs().max()):.3g}, "
              f"as loaded {float((out.double() - exact).abs().max()):.3g}, "
              f"optimised {float((out_opt.double() - exact).abs().max()):.3g}")
        g = torch.Generator().manual_seed(0)
        image = torch.rand(1, 3, 448, 448, generator=g)
        maps = torch.zeros(1, 7, 448, 448)
        maps[:, 0] = (torch.rand(1, 448, 448, generator=g) > 0.5).float()
        maps[:, 1, 200:206, 200:206] = 1
        plain = net.to(memory_format=torch.contiguous_format)
        ms_plain = median_ms(lambda: plain(image, maps), args.reps)
        img_cl, maps_cl = image.contiguous(memory_format=torch.channels_last), maps.contiguous(
            memory_format=torch.channels_last)
        net.to(memory_format=torch.channels_last)
        ms_opt = median_ms(lambda: folded(img_cl, maps_cl), args.reps)
        print(f"ms per forward at 448x448 ({args.threads} threads): as loaded {ms_plain:.1f}, "
              f"optimised {ms_opt:.1f}")
        if args.reference_code:
            model = _reference_model(args.reference_code, args.checkpoint)
            x = torch.cat([image, maps[:, :1]], 1)
            pts = torch.tensor([[[203.0, 203.0, 0.0], [-1.0, -1.0, -1.0]]])
            info = {"point_interactive_info": pts, "contour_interactive_info": torch.zeros(1, 2, 448, 448),
                    "stroke_interactive_info": torch.zeros(1, 2, 448, 448)}
            import inspect

            if "input_type" not in inspect.signature(model.forward).parameters:  # RITM's code
                def call():
                    return model(x, pts)
            else:
                from isegm.data.interaction_type import IType  # type: ignore[import-not-found]

                def call():
                    return model(x, info, IType.point)
            ms_ref = median_ms(call, args.reps)
            print(f"reference code: {ms_ref:.1f} ms per forward; interseg optimised is {ms_ref / ms_opt:.2f}x "
                  f"faster, as loaded {ms_ref / ms_plain:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
