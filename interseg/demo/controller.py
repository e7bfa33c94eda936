"""The demo's controller: all annotation logic, no Tk state, unit-tested headless.

Every control of the GUI maps to one method here: mouse press/drag/release (positive with the left
button, negative with the right), finish object (space), interaction type, ZoomIn settings, the
threshold / alpha / click radius / line width sliders, undo/redo, reset object, open / next /
previous image, load a mask to refine, save, view zoom and pan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data.base import IMAGE_EXTS
from ..data.image_io import MAX_PIXELS, load_image, load_label_map
from ..errors import DataError, IntersegError
from ..inference.options import PredictorOptions
from ..inference.predictor import Predictor
from ..inference.session import FinishedObject, Session
from ..interactions.encoding import draw_polyline
from ..interactions.types import INTERACTION_TYPES, Contour, InteractionType, Stroke
from ..visualize import blend_masks, draw_interactions, object_color
from .annotations import annotation_paths, load_annotations, load_labels, save_annotations


def _image_files(folder: Path) -> list[Path]:
    """The images of a folder, without our own instance-ID annotation PNGs."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and not p.name.endswith(".ids.png"))


class AnnotationController:
    def __init__(self, predictor: Predictor, output_dir: Path | None = None,
                 on_change: Callable[[], None] | None = None, max_pixels: int = MAX_PIXELS,
                 labels: list[str] | None = None) -> None:
        self.predictor = predictor
        self.max_pixels = max_pixels
        #: class names offered for objects (``--labels``); a new name typed in is added
        self.labels: list[str] = list(dict.fromkeys(labels or ["object"]))
        self.label = self.labels[0]          # the label the next finished object gets
        self.selected: int | None = None     # a finished object picked in the list
        self.dirty = False                   # changes not yet on disk
        self.viewport: tuple[int, int] | None = None
        self.output_dir = output_dir
        self.on_change = on_change or (lambda: None)
        self.images: list[Path] = []
        self.index = -1
        self.image_path: Path | None = None
        self.session: Session | None = None
        self.kind: InteractionType = "point"
        self.alpha = 0.5
        self.click_radius = 5
        self.line_width = 3
        self.status = "open an image (File → Open)"
        self.view_scale = 1.0
        self.view_offset = (0.0, 0.0)  # image coordinates of the view's top-left corner
        self._drawing: list[tuple[float, float]] | None = None
        self._drawing_positive = True

    # -- images --------------------------------------------------------------------------------
    def open(self, path: str | Path) -> bool:
        """Open an image, or a folder (its first readable image; next/previous walk the folder)."""
        path = Path(path)
        if path.is_dir():
            self.images = _image_files(path)
            if not self.images:
                self.status = f"{path}: no images"
                self.on_change()
                return False
            return self._go(0, +1)
        folder = path.parent
        self.images = _image_files(folder) if folder.is_dir() else [path]
        if path not in self.images:
            self.images.append(path)
        i = self.images.index(path)
        skipped: list[str] = []
        return self._go(i, +1, skipped) or self._go(i - 1, -1, skipped)

    def next_image(self) -> bool:
        return self._go(self.index + 1, +1) if self.index + 1 < len(self.images) else False

    def prev_image(self) -> bool:
        return self._go(self.index - 1, -1) if self.index > 0 else False

    def _go(self, index: int, step: int, skipped: list[str] | None = None) -> bool:
        """Load image ``index``; unreadable images are reported and skipped in direction ``step``. The
        current image's annotations are saved first; if that fails, it stays open."""
        if not self.autosave():
            return False
        skipped = [] if skipped is None else skipped
        while 0 <= index < len(self.images):
            path = self.images[index]
            try:
                image = load_image(path, self.max_pixels)
            except DataError as e:
                skipped.append(str(e))
                index += step
                continue
            self.index, self.image_path = index, path
            self.session = Session(image, self.predictor)
            masks, its = load_annotations(path, image.shape[:2], self.output_dir)
            names = load_labels(annotation_paths(path, self.output_dir)["coco"], len(masks))
            self.session.objects = [FinishedObject(m, i, n) for m, i, n in zip(masks, its, names, strict=True)]
            for n in names:
                if n not in self.labels:
                    self.labels.append(n)
            self.selected, self.dirty = None, False
            self.view_scale, self.view_offset = 1.0, (0.0, 0.0)
            if self.viewport is not None:
                self.fit_view(*self.viewport)
            restored = f", {len(masks)} saved object(s) restored" if masks else ""
            self.status = f"{path.name} ({index + 1}/{len(self.images)}){restored}" + (
                f" — skipped unreadable: {'; '.join(skipped)}" if skipped else "")
            self.on_change()
            return True
        self.status = "no readable image: " + "; ".join(skipped)
        self.on_change()
        return False

    # -- interactions --------------------------------------------------------------------------
    def _need_session(self) -> Session:
        if self.session is None:
            raise IntersegError("no image is open")
        return self.session

    def set_kind(self, kind: str) -> None:
        if kind not in INTERACTION_TYPES:
            raise ValueError(f"unknown interaction type {kind!r}")
        self.kind = kind  # earlier interactions of other types stay
        self.on_change()

    def press(self, x: float, y: float, positive: bool) -> None:
        s = self._need_session()
        h, w = s.shape
        x, y = float(np.clip(x, 0, w - 1)), float(np.clip(y, 0, h - 1))
        if self.kind == "point":
            self._apply(lambda: s.add_click(x, y, positive))
        else:
            self._drawing, self._drawing_positive = [(x, y)], positive
            self.on_change()

    def drag(self, x: float, y: float) -> None:
        if self._drawing is not None and self.session is not None:
            h, w = self.session.shape
            self._drawing.append((float(np.clip(x, 0, w - 1)), float(np.clip(y, 0, h - 1))))
            self.on_change()

    def release(self, x: float, y: float) -> None:
        if self._drawing is None:
            return
        self.drag(x, y)
        pts, positive = self._drawing, self._drawing_positive
        self._drawing = None
        s = self._need_session()
        if len(pts) < 3 and self.kind == "contour":
            self.status = "contour too short: draw a closed outline"
            self.on_change()
            return
        cls = Contour if self.kind == "contour" else Stroke
        self._apply(lambda: s.add(cls.from_points(pts, positive)))

    def _apply(self, step) -> None:
        s = self._need_session()
        try:
            res = step()
        except IntersegError as e:
            self.status = str(e)
        else:
            self.dirty = True
            self.status = (f"object {len(s.objects) + 1}: {len(s.interactions)} interaction(s), "
                           f"{res.seconds * 1000:.0f} ms")
        self.on_change()

    def undo(self) -> None:
        s = self._need_session()
        if not s.undo() and s.objects:
            last = s.objects.pop()  # nothing to undo in the current object: reopen the last finished one
            s.start_from(last.mask)
            self.status = "reopened the last finished object"
        self.on_change()

    def redo(self) -> None:
        self._need_session().redo()
        self.on_change()

    def reset_object(self) -> None:
        self._need_session().reset()
        self.on_change()

    def finish_object(self) -> bool:
        s = self._need_session()
        if not s.mask.any():
            self.status = "the current object is empty: nothing to finish"
            self.on_change()
            return False
        s.finish_object()
        s.objects[-1].label = self.label
        self.dirty = True
        if self.autosave():
            self.status = f"object {len(s.objects)} finished and saved"
        self.on_change()
        return True

    # -- objects and labels ----------------------------------------------------------------------
    def set_label(self, name: str) -> None:
        """The label for the next finished object; a new name is added to the list."""
        name = name.strip()
        if not name:
            return
        if name not in self.labels:
            self.labels.append(name)
        self.label = name
        self.on_change()

    def select_object(self, index: int | None) -> None:
        s = self._need_session()
        self.selected = index if index is not None and 0 <= index < len(s.objects) else None
        self.on_change()

    def relabel_object(self, index: int, name: str) -> None:
        s = self._need_session()
        self.set_label(name)
        s.objects[index].label = name.strip()
        self.dirty = True
        if self.autosave():
            self.status = f"object {index + 1} is now {name.strip()!r}"
        self.on_change()

    def delete_object(self, index: int) -> None:
        s = self._need_session()
        del s.objects[index]
        self.selected = None
        self.dirty = True
        if self.autosave():
            self.status = f"object {index + 1} deleted ({len(s.objects)} left)"
        self.on_change()

    def title(self) -> str:
        """The window title: the image, and ``*`` while changes are not on disk."""
        name = self.image_path.name if self.image_path else "interactive segmentation"
        return f"interseg — {'* ' if self.dirty else ''}{name}"

    def load_mask(self, path: str | Path) -> None:
        """Start the current object from an existing mask (any nonzero pixel is object)."""
        s = self._need_session()
        mask = load_label_map(path) > 0
        s.start_from(mask)
        self.status = f"refining {Path(path).name}"
        self.on_change()

    # -- settings ------------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """The predictor's threshold: the slider changes it, the mask on screen follows."""
        return self.predictor.options.threshold

    def set_threshold(self, t: float) -> None:
        self.predictor.set_options(threshold=float(t))
        self.on_change()

    def set_alpha(self, a: float) -> None:
        self.alpha = float(a)
        self.on_change()

    def set_click_radius(self, r: int) -> None:
        self.click_radius = int(r)
        self.on_change()

    def set_line_width(self, w: int) -> None:
        self.line_width = int(w)
        self.on_change()

    def _net_options(self) -> PredictorOptions | None:
        """The options of a network predictor (None for the GrabCut baseline: no ZoomIn, no refinement)."""
        opts = self.predictor.options
        return opts if isinstance(opts, PredictorOptions) else None

    def zoom_in_settings(self):
        opts = self._net_options()
        return opts.zoom_in if opts is not None else None

    def set_zoom_in(self, enabled: bool | None = None, skip_clicks: int | None = None,
                    target_size: int | None = None, expand_ratio: float | None = None) -> None:
        opts = self._net_options()
        if opts is None:
            self.status = "ZoomIn applies to network models only"
            self.on_change()
            return
        z = opts.zoom_in
        if expand_ratio is not None:  # not a flat option: a whole ZoomIn setting
            opts = dataclasses.replace(opts, zoom_in=dataclasses.replace(z, expand_ratio=expand_ratio))
        self.predictor.set_options(opts, zoom_in=enabled, zoom_in_skip_clicks=skip_clicks,
                                   zoom_in_target_size=target_size)
        self.on_change()

    def refine_enabled(self) -> bool | None:
        """Whether predictions are snapped to the image's edges (None: not a network model)."""
        opts = self._net_options()
        return opts.refine.mode != "none" if opts is not None else None

    def set_refine(self, enabled: bool) -> None:
        """Turn the guided-filter refinement on or off for the next predictions (keeping the model's
        recommended radius and eps, or the defaults)."""
        if self._net_options() is None:
            self.status = "Edge refinement applies to network models only"
        else:
            self.predictor.set_options(refine="guided" if enabled else "none")
            self.status = f"edge refinement {'on' if enabled else 'off'} from the next interaction"
        self.on_change()

    # -- files ---------------------------------------------------------------------------------
    def _write(self) -> dict | None:
        """Write the finished objects and the one in progress (if it has a mask, as the last object):
        what is on disk is always everything on screen. Raises OSError when it cannot."""
        s = self.session
        if s is None or self.image_path is None:
            return None
        masks = [o.mask for o in s.objects]
        its = [o.interactions for o in s.objects]
        labels = [o.label for o in s.objects]
        if s.mask.any():
            masks.append(s.mask)
            its.append(s.interactions)
            labels.append(self.label)
        if not masks:
            paths = annotation_paths(self.image_path, self.output_dir)
            for p in paths.values():        # every object deleted: no stale files
                p.unlink(missing_ok=True)
            self.dirty = False
            return None
        out = save_annotations(self.image_path, s.shape, masks, its, self.output_dir, labels)
        self.dirty = False
        return out

    def autosave(self) -> bool:
        """Save before leaving an image or closing; False (with the reason in ``status``) if it failed —
        then the caller stays, so nothing is lost."""
        try:
            self._write()
            return True
        except OSError as e:
            self.status = f"could not save the annotations of {self.image_path.name}: {e}; nothing was lost " \
                          f"yet — choose a writable folder (--output) or fix the permissions"
            self.on_change()
            return False

    def save(self) -> dict | None:
        """Save finished objects and the current one (Ctrl+S)."""
        self._need_session()
        try:
            paths = self._write()
        except OSError as e:
            self.status = f"could not save: {e}"
            self.on_change()
            return None
        if paths is None:
            self.status = "nothing to save yet"
        else:
            n = len(self.session.objects) + int(self.session.mask.any())
            self.status = f"saved {n} object(s) to {paths['ids'].name} and {paths['coco'].name}"
        self.on_change()
        return paths

    # -- view ----------------------------------------------------------------------------------
    def zoom_view(self, factor: float, cx: float, cy: float) -> None:
        """Zoom the view by ``factor`` around view pixel (cx, cy)."""
        ix, iy = self.view_to_image(cx, cy)
        self.view_scale = float(np.clip(self.view_scale * factor, 0.1, 16))
        self.view_offset = (ix - cx / self.view_scale, iy - cy / self.view_scale)
        self.on_change()

    def pan_view(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) view pixels."""
        ox, oy = self.view_offset
        self.view_offset = (ox - dx / self.view_scale, oy - dy / self.view_scale)
        self.on_change()

    def fit_view(self, width: int | None = None, height: int | None = None) -> None:
        """Fit the whole image in the view (``width`` x ``height``, default: the last viewport), centred."""
        if width is not None and height is not None:
            self.viewport = (int(width), int(height))
        if self.session is None or self.viewport is None:
            return
        width, height = self.viewport
        h, w = self.session.shape
        self.view_scale = float(min(width / w, height / h, 8.0))
        self.view_offset = (-(width / self.view_scale - w) / 2, -(height / self.view_scale - h) / 2)
        self.on_change()

    def view_to_image(self, vx: float, vy: float) -> tuple[float, float]:
        return self.view_offset[0] + vx / self.view_scale, self.view_offset[1] + vy / self.view_scale

    # -- rendering -----------------------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        """The picture at image resolution: finished objects in their colours, the current object,
        its interactions and the line being drawn."""
        s = self.session
        if s is None:
            return None
        masks = [o.mask for o in s.objects] + [s.mask]
        colors = [object_color(i) for i in range(len(masks))]
        out = blend_masks(s.image, masks, self.alpha, colors, highlight=self.selected)
        out = draw_interactions(out, s.interactions, self.click_radius, self.line_width)
        if self._drawing:
            line = draw_polyline(np.array(self._drawing), s.shape, self.line_width, closed=False)
            out[line] = (40, 220, 40) if self._drawing_positive else (230, 40, 40)
        return out
