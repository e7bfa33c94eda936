"""The network predictor (NoBRS): interactions + previous mask → probability map.

Per step: choose the region (whole image or ZoomIn crop), resize it to the network input
(``fixed_size`` stretches it to exactly h x w; otherwise the longest side is limited by
``max_size``, or set to ZoomIn's target size on a crop; sides are padded to multiples of 32), encode
the interactions at that resolution, run the network (averaged with its horizontal flip by
default, logits averaged before the sigmoid), upsample the probabilities to the region's size,
optionally refine them along the image's edges (``refine``: the guided filter, its radius given in
network-input pixels), paste them back at image size (zero outside a ZoomIn crop; a prediction that
reaches a crop's inner edge is made again on a larger crop, or on the whole image: zoom_in.py), and,
if ``click_guard`` is on (it is off by default), correct them locally around any click the network
ignored (click_guard.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import write_atomically
from ..errors import DataError
from ..interactions.types import Interaction
from ..models.folding import FoldedForward
from ..models.inputs import build_maps, select_interactions
from ..models.network import IntersegNet
from .click_guard import guard_clicks
from .options import PredictorOptions
from .predictor import PredictorState, options_fingerprint
from .refine import refine
from .zoom_in import reaches_edge, regrow, zoom_roi

__all__ = ["NetPredictor", "PredictorOptions"]


#: regions above this many pixels are downsampled from the 8-bit image (see NetPredictor._network_image)
LARGE_REGION = 4_000_000


def _round32(v: float) -> int:
    return max(32, int(np.ceil(v / 32)) * 32)


class NetPredictor:
    """A trained network as a predictor (load one with :func:`interseg.load_predictor`).

    Its options are read-only: change them with :meth:`set_options`, which keeps :attr:`fingerprint`
    true to what the predictor computes.
    """

    def __init__(self, net: IntersegNet, name: str = "model", options: PredictorOptions | None = None,
                 device: str = "cpu", fold_bn: bool = True) -> None:
        # channels-last runs the convolutions 2-3x faster on CPUs (oneDNN) and on tensor cores
        self.net = net.to(device, memory_format=torch.channels_last).eval()
        self.name = name
        self.device = device
        #: run the network with batch norm folded into its convolutions (the same outputs up to
        #: rounding; EfficientNet-Lite0 1.17x faster with flip averaging, benchmarks/latency.py); off:
        #: the network as it is
        self.fold_bn = fold_bn
        self._options = options or PredictorOptions()
        self._ort = self._onnx_session() if self._options.backend == "onnx" else None

    @property
    def options(self) -> PredictorOptions:
        """The current options (frozen; see :meth:`set_options`)."""
        return self._options

    def set_options(self, options: PredictorOptions | None = None, **changes) -> PredictorOptions:
        """Change options for the next predictions: a whole :class:`PredictorOptions`, or flat keywords
        (``zoom_in_skip_clicks=3``, ``refine="guided"``…; see ``inference.options.OPTION_NAMES``).

        Returns:
            The new options.
        """
        new = (options or self._options).with_changes(**changes)
        if new.backend != self._options.backend:
            self._ort = self._onnx_session() if new.backend == "onnx" else None
        self._options = new
        self.__dict__.pop("fingerprint", None)
        return new

    def _onnx_session(self):
        """An ONNX Runtime session of the network, exported once per weights and kept in the cache
        folder (``$INTERSEG_CACHE``, default ``~/.cache/interseg``) under the weights' hash."""
        import os
        from pathlib import Path

        from ..errors import CheckpointError
        from ..extras import require
        from ..models.onnx_export import export_onnx

        ort = require("onnxruntime", "onnx", "the onnx backend")
        cache = Path(os.environ.get("INTERSEG_CACHE", Path.home() / ".cache" / "interseg")) / "onnx"
        path = cache / f"{self.weights_hash}.onnx"
        if not path.is_file():
            cache.mkdir(parents=True, exist_ok=True)

            def export(tmp: Path) -> None:
                diff = export_onnx(self.net, str(tmp), (256, 256), dynamic=True)
                if diff > 1e-3:
                    raise CheckpointError(f"{self.name}: ONNX export differs from PyTorch by {diff:.2e}")

            write_atomically(path, export)
            self.net.to(self.device, memory_format=torch.channels_last)
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    @functools.cached_property
    def weights_hash(self) -> str:
        """SHA-256 (16 hex digits) over the architecture and the weights."""
        h = hashlib.sha256(repr(self.net.arch).encode())
        for key, t in sorted(self.net.state_dict().items()):
            h.update(key.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    @functools.cached_property
    def fingerprint(self) -> str:
        """The weights' hash plus every option field (what the predictor computes: its masks)."""
        return f"{self.weights_hash} {options_fingerprint(self.options)}"

    def _forward(self, img: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        if self._ort is not None:
            out = self._ort.run(None, {"image": img.cpu().numpy(), "maps": maps.cpu().numpy()})[0]
            return torch.from_numpy(out)
        cl = torch.channels_last
        net = self._folded if self.fold_bn else self.net
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16,
                            enabled=self.options.precision == "bf16"):
            out = net(img.contiguous(memory_format=cl), maps.contiguous(memory_format=cl))["instances"]
        return out.float()

    @functools.cached_property
    def _folded(self) -> FoldedForward:
        return FoldedForward(self.net)

    def prepare(self, image: np.ndarray) -> PredictorState:
        """Per-image state: the image as a tensor (on the CPU it shares the array's memory: nothing is
        copied, whatever the image's size) and the current ZoomIn crop (none yet).

        Args:
            image: RGB uint8 array (H, W, 3).
        """
        state = PredictorState(image)
        state.cache["image_u8"] = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None]
        return state

    def _network_image(self, state: PredictorState, box: tuple[int, int, int, int], nh: int, nw: int) -> torch.Tensor:
        """The region ``box`` of the image, normalised, at the network's (nh, nw). A region of more than
        :data:`LARGE_REGION` pixels is area-averaged from the 8-bit image first (antialiased, and no
        full-size float copy); smaller ones are normalised and resized bilinearly."""
        x0, y0, x1, y1 = box
        if (y1 - y0) * (x1 - x0) > LARGE_REGION and (nh, nw) != (y1 - y0, x1 - x0):
            crop = np.ascontiguousarray(state.image[y0:y1, x0:x1])
            interp = cv2.INTER_AREA if nw < x1 - x0 else cv2.INTER_LINEAR
            small = torch.from_numpy(cv2.resize(crop, (nw, nh), interpolation=interp)).to(self.device)
            return self.net.normalize(small.permute(2, 0, 1)[None].float() / 255.0)
        img = self.net.normalize(state.cache["image_u8"][:, :, y0:y1, x0:x1].float() / 255.0)
        return F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)

    def _net_size(self, h: int, w: int, zoomed: bool) -> tuple[int, int]:
        o = self.options
        if o.fixed_size is not None:
            return o.fixed_size
        scale = 1.0
        if zoomed:
            scale = o.zoom_in.target_size / max(h, w)
        elif o.max_size is not None and max(h, w) > o.max_size:
            scale = o.max_size / max(h, w)
        return max(8, round(h * scale)), max(8, round(w * scale))

    def _predict_region(self, state: PredictorState, interactions: Sequence[Interaction], prev_prob: np.ndarray,
                        roi: tuple[int, int, int, int] | None) -> np.ndarray:
        """The probabilities on ``roi`` (the whole image if ``None``), at the region's size."""
        H, W = state.image.shape[:2]
        arch = self.net.arch
        x0, y0, x1, y1 = roi if roi is not None else (0, 0, W, H)
        ch, cw = y1 - y0, x1 - x0
        nh, nw = self._net_size(ch, cw, roi is not None)
        ph, pw = (_round32(nh), _round32(nw)) if self.options.fixed_size is None else (nh, nw)
        img = self._network_image(state, (x0, y0, x1, y1), nh, nw)
        prev = cv2.resize(prev_prob[y0:y1, x0:x1].astype(np.float32, copy=False), (nw, nh),
                          interpolation=cv2.INTER_LINEAR)
        its = select_interactions(interactions, arch.input_types, arch.accumulate_multi_input)
        maps = build_maps(its, prev, (nh, nw), arch.encoding, (nw / cw, nh / ch, x0, y0))
        maps_t = torch.from_numpy(maps)[None].to(self.device)
        if (ph, pw) != (nh, nw):
            img = F.pad(img, (0, pw - nw, 0, ph - nh))
            maps_t = F.pad(maps_t, (0, pw - nw, 0, ph - nh))
        if self.options.flip:  # one batch of the image and its mirror
            img, maps_t = torch.cat([img, img.flip(3)]), torch.cat([maps_t, maps_t.flip(3)])
        out = self._forward(img, maps_t)
        logits = (out[:1] + out[1:].flip(3)) / 2 if self.options.flip else out
        logits = logits[:, :, :nh, :nw]
        prob = torch.sigmoid(F.interpolate(logits, size=(ch, cw), mode="bilinear", align_corners=False))
        prob_np = prob[0, 0].float().cpu().numpy()
        rp = self.options.refine
        if rp.mode != "none":  # the radius follows the network's scale on this region
            rp = dataclasses.replace(rp, radius=max(1, round(rp.radius * max(ch / nh, cw / nw))))
            prob_np = refine(prob_np, state.image[y0:y1, x0:x1], rp, state.cache, (x0, y0, x1, y1))
        return prob_np

    @torch.inference_mode()
    def predict(self, state: PredictorState, interactions: Sequence[Interaction],
                prev_prob: np.ndarray | None = None) -> np.ndarray:
        """One prediction from all the interactions given so far (a stateless call: the caller keeps the
        interactions and, if it wants, the previous result).

        Args:
            state: from :meth:`prepare` for this image. It carries the ZoomIn crop between calls
                (``state.roi``; set it to ``None`` to decide the crop afresh).
            interactions: every interaction of the object, in order (clicks, contours, strokes).
            prev_prob: the previous probability map (H, W) in [0, 1]; ``None`` = no previous mask.

        Returns:
            Probability map (H, W) float32 in [0, 1] at the image's resolution; the mask is
            ``prob > predictor.options.threshold``.
        """
        H, W = state.image.shape[:2]
        if prev_prob is None:
            prev_prob = np.zeros((H, W), np.float32)
        elif prev_prob.shape != (H, W):
            raise DataError(f"previous probability map is {prev_prob.shape[1]}x{prev_prob.shape[0]} but the image "
                            f"is {W}x{H}")
        zp = self.options.zoom_in
        roi = zoom_roi(zp, interactions, prev_prob, state.roi)
        prob_np = self._predict_region(state, interactions, prev_prob, roi)
        for attempt in range(zp.max_regrow + 1 if zp.follow_object else 0):
            mask = prob_np > self.options.threshold if roi is not None else None
            if mask is None or not reaches_edge(mask, roi, H, W):
                break
            # the object goes on beyond the crop: frame a larger one, or see the whole image
            roi = regrow(zp, mask, roi, interactions, H, W) if attempt < zp.max_regrow else None
            prob_np = self._predict_region(state, interactions, prev_prob, roi)
        state.roi = roi
        x0, y0, x1, y1 = roi if roi is not None else (0, 0, W, H)
        if (y1 - y0, x1 - x0) == (H, W):
            out = np.ascontiguousarray(prob_np, np.float32)
        else:
            out = np.zeros((H, W), np.float32)
            out[y0:y1, x0:x1] = prob_np
        return guard_clicks(out, state.image, interactions, self.options.threshold, self.options.click_guard)
