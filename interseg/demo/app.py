"""The Tk view of the annotation demo: widgets and bindings only; every action calls the controller.

Mouse: left = positive, right = negative (click, or press-drag-release to draw a contour/stroke);
wheel = zoom the view; middle-drag = pan. Keys: space = finish object, Ctrl+Z / Ctrl+Y = undo /
redo, Ctrl+S = save, Left / Right = previous / next image, Escape = reset object, F = fit the image
to the window. The Objects box: the label of the next object (pick or type one), the finished objects
(select one to highlight it, then relabel or delete it). The title shows ``*`` while changes are not
on disk.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

import cv2
from PIL import Image, ImageTk

from ..errors import IntersegError
from .controller import AnnotationController


class DemoApp:
    def __init__(self, root: tk.Tk, controller: AnnotationController) -> None:
        self.root = root
        self.c = controller
        self.c.on_change = self.refresh
        root.title("interseg — interactive segmentation")
        # 1120x760, or the screen when it is smaller (the panel fits a 1024x700 window; below that it scrolls)
        root.geometry(f"{min(1120, root.winfo_screenwidth())}x{min(760, root.winfo_screenheight())}")
        self._photo = None
        self._pan_start: tuple[int, int] | None = None

        # the status bar first, so that the window's bottom line is always its own
        self.status = ttk.Label(root, text=self.c.status, anchor="w", relief=tk.SUNKEN, padding=3)
        self.status.pack(side=tk.BOTTOM, fill=tk.X)
        main = ttk.Frame(root)
        main.pack(fill=tk.BOTH, expand=True)
        panel = self._scrolling_panel(main)
        self.canvas = tk.Canvas(main, bg="#202020", highlightthickness=0, cursor="crosshair")
        self.canvas.pack(side=tk.LEFT, fill=tk.BOTH, expand=True)
        self._build_panel(panel)
        panel.update_idletasks()
        self._fit_panel()    # the panel's width is known before the window maps: the image is fitted once
        self._bind()
        self.refresh()

    # -- widgets ---------------------------------------------------------------------------------
    def _scrolling_panel(self, parent: ttk.Frame) -> ttk.Frame:
        """The control panel on the right, in a canvas that scrolls (wheel or scrollbar) when the window is
        shorter than the panel; the scrollbar shows only then."""
        outer = ttk.Frame(parent)
        outer.pack(side=tk.RIGHT, fill=tk.Y)
        view = tk.Canvas(outer, highlightthickness=0, width=10)
        bar = ttk.Scrollbar(outer, orient=tk.VERTICAL, command=view.yview)
        view.configure(yscrollcommand=bar.set)
        view.pack(side=tk.LEFT, fill=tk.Y)
        panel = ttk.Frame(view, padding=(6, 4))
        view.create_window(0, 0, window=panel, anchor="nw")

        def fit(_event=None) -> None:
            view.configure(width=panel.winfo_reqwidth(), scrollregion=(0, 0, panel.winfo_reqwidth(),
                                                                       panel.winfo_reqheight()))
            if panel.winfo_reqheight() > view.winfo_height() > 1:
                bar.pack(side=tk.RIGHT, fill=tk.Y)
            else:
                bar.pack_forget()
                view.yview_moveto(0)

        panel.bind("<Configure>", fit)
        view.bind("<Configure>", fit)
        self._fit_panel = fit
        for seq, step in (("<Button-4>", -1), ("<Button-5>", 1)):
            view.bind_all(seq, lambda e, s=step: self._scroll_panel(view, e, s), add="+")
        view.bind_all("<MouseWheel>", lambda e: self._scroll_panel(view, e, -1 if e.delta > 0 else 1), add="+")
        self._panel_view = view
        return panel

    def _scroll_panel(self, view: tk.Canvas, event, step: int) -> None:
        """The wheel over the panel scrolls it (over the image it zooms: the canvas's own binding)."""
        widget = event.widget
        if isinstance(widget, str) or widget is self.canvas:
            return
        if str(widget).startswith(str(view)) and view.yview() != (0.0, 1.0):
            view.yview_scroll(step, "units")

    def _build_panel(self, panel: ttk.Frame) -> None:
        box = ttk.LabelFrame(panel, text="Interaction type", padding=(6, 2))
        box.pack(fill=tk.X)
        self.kind = tk.StringVar(value=self.c.kind)
        for label, value in (("Click", "point"), ("Contour", "contour"), ("Stroke", "stroke")):
            ttk.Radiobutton(box, text=label, value=value, variable=self.kind,
                            command=lambda: self.c.set_kind(self.kind.get())).pack(side=tk.LEFT, padx=2)

        zbox = ttk.LabelFrame(panel, text="ZoomIn", padding=(6, 2))
        zbox.pack(fill=tk.X, pady=3)
        z = self.c.zoom_in_settings()
        self.zoom_on = tk.BooleanVar(value=bool(z and z.enabled))
        ttk.Checkbutton(zbox, text="enabled", variable=self.zoom_on,
                        command=lambda: self.c.set_zoom_in(enabled=self.zoom_on.get())).grid(row=0, column=0,
                                                                                             sticky="w")
        self.zoom_vars = {}
        for i, (label, key, lo, hi, inc, default) in enumerate((
                ("Skip", "skip_clicks", 0, 10, 1, z.skip_clicks if z else 1),
                ("Target size", "target_size", 100, 1200, 20, z.target_size if z else 400),
                ("Expand ratio", "expand_ratio", 1.0, 3.0, 0.1, z.expand_ratio if z else 1.4)), start=1):
            row, col = divmod(i, 2)    # two settings a row: enabled | skip, target size | expand ratio
            ttk.Label(zbox, text=label).grid(row=row, column=2 * col, sticky="w", padx=(0 if col == 0 else 6, 2))
            var = tk.DoubleVar(value=default) if key == "expand_ratio" else tk.IntVar(value=default)
            self.zoom_vars[key] = var
            ttk.Spinbox(zbox, from_=lo, to=hi, increment=inc, textvariable=var, width=5,
                        command=lambda k=key: self._zoom_changed(k)).grid(row=row, column=2 * col + 1, sticky="e")

        rbox = ttk.LabelFrame(panel, text="Refinement", padding=(6, 2))
        rbox.pack(fill=tk.X)
        self.refine_on = tk.BooleanVar(value=bool(self.c.refine_enabled()))
        ttk.Checkbutton(rbox, text="snap to image edges (guided filter)", variable=self.refine_on,
                        command=lambda: self.c.set_refine(self.refine_on.get())).pack(anchor="w")

        sbox = ttk.LabelFrame(panel, text="Visualisation", padding=(6, 2))
        sbox.pack(fill=tk.X, pady=3)
        sbox.columnconfigure(1, weight=1)
        self.sliders = {}
        for row, (label, lo, hi, value, setter) in enumerate((
                ("Threshold", 0.01, 0.99, self.c.threshold, self.c.set_threshold),
                ("Alpha", 0.0, 1.0, self.c.alpha, self.c.set_alpha),
                ("Click radius", 1, 20, self.c.click_radius, lambda v: self.c.set_click_radius(round(float(v)))),
                ("Line width", 1, 20, self.c.line_width, lambda v: self.c.set_line_width(round(float(v)))))):
            ttk.Label(sbox, text=label).grid(row=row, column=0, sticky="w")   # label | slider | value
            shown = ttk.Label(sbox, text=self._fmt(value, hi), width=4, anchor="e")
            shown.grid(row=row, column=2, sticky="e")

            def changed(v: str, f=setter, lab=shown, top=hi) -> None:
                f(float(v))
                lab.configure(text=self._fmt(float(v), top))

            s = ttk.Scale(sbox, from_=lo, to=hi, value=value, command=changed, length=110)
            s.grid(row=row, column=1, sticky="ew", padx=4)
            self.sliders[label] = s

        obox = ttk.LabelFrame(panel, text="Objects", padding=(6, 2))
        obox.pack(fill=tk.X, pady=3)
        ttk.Label(obox, text="Label of the next object").pack(anchor="w")
        self.label_var = tk.StringVar(value=self.c.label)
        self.label_box = ttk.Combobox(obox, textvariable=self.label_var, values=self.c.labels)
        self.label_box.pack(fill=tk.X)
        self.label_box.bind("<<ComboboxSelected>>", lambda e: self.c.set_label(self.label_var.get()))
        self.label_box.bind("<Return>", lambda e: self.c.set_label(self.label_var.get()))
        self.objects = tk.Listbox(obox, height=4, exportselection=False)
        self.objects.pack(fill=tk.X, pady=2)
        self.objects.bind("<<ListboxSelect>>", lambda e: self._safe(lambda: self.c.select_object(
            self.objects.curselection()[0] if self.objects.curselection() else None)))
        row = ttk.Frame(obox)
        row.pack(fill=tk.X)
        ttk.Button(row, text="Relabel", command=lambda: self._safe(lambda: self._on_selected(
            lambda i: self.c.relabel_object(i, self.label_var.get())))).pack(side=tk.LEFT, expand=True, fill=tk.X)
        ttk.Button(row, text="Delete", command=lambda: self._safe(lambda: self._on_selected(
            self.c.delete_object))).pack(side=tk.LEFT, expand=True, fill=tk.X)

        bbox = ttk.LabelFrame(panel, text="Actions", padding=(6, 2))
        bbox.pack(fill=tk.X, pady=3)
        buttons = (("Open image…", self._open_image), ("Open folder…", self._open_folder),
                   ("◀ Previous", self.c.prev_image), ("Next ▶", self.c.next_image),
                   ("Load mask to refine…", self._load_mask), ("Save (Ctrl+S)", self.c.save),
                   ("Undo (Ctrl+Z)", self.c.undo), ("Redo (Ctrl+Y)", self.c.redo),
                   ("Reset object (Esc)", self.c.reset_object), ("Finish object (Space)", self.c.finish_object))
        for i, (label, fn) in enumerate(buttons):
            ttk.Button(bbox, text=label, command=lambda f=fn: self._safe(f)).grid(row=i // 2, column=i % 2,
                                                                                    sticky="ew", padx=1, pady=1)

    def _on_selected(self, fn) -> None:
        if self.c.selected is None:
            self.c.status = "select an object in the list first"
            self.refresh()
            return
        fn(self.c.selected)

    @staticmethod
    def _fmt(value: float, top: float) -> str:
        return f"{value:.2f}" if top <= 1 else str(round(value))

    def _bind(self) -> None:
        cv = self.canvas
        for button, positive in (("1", True), ("3", False)):
            cv.bind(f"<ButtonPress-{button}>", lambda e, p=positive: self._safe(lambda: self.c.press(
                *self.c.view_to_image(e.x, e.y), p)))
            cv.bind(f"<B{button}-Motion>", lambda e: self.c.drag(*self.c.view_to_image(e.x, e.y)))
            cv.bind(f"<ButtonRelease-{button}>", lambda e: self._safe(lambda: self.c.release(
                *self.c.view_to_image(e.x, e.y))))
        cv.bind("<ButtonPress-2>", lambda e: setattr(self, "_pan_start", (e.x, e.y)))
        cv.bind("<B2-Motion>", self._pan)
        cv.bind("<MouseWheel>", lambda e: self.c.zoom_view(1.2 if e.delta > 0 else 1 / 1.2, e.x, e.y))
        cv.bind("<Button-4>", lambda e: self.c.zoom_view(1.2, e.x, e.y))
        cv.bind("<Button-5>", lambda e: self.c.zoom_view(1 / 1.2, e.x, e.y))
        r = self.root
        r.bind("<space>", lambda e: self._safe(self.c.finish_object))
        r.bind("<Control-z>", lambda e: self._safe(self.c.undo))
        r.bind("<Control-y>", lambda e: self._safe(self.c.redo))
        r.bind("<Control-s>", lambda e: self._safe(self.c.save))
        r.bind("<Escape>", lambda e: self._safe(self.c.reset_object))
        r.bind("<Left>", lambda e: self._safe(self.c.prev_image))
        r.bind("<Right>", lambda e: self._safe(self.c.next_image))
        for key, kind in (("1", "point"), ("2", "contour"), ("3", "stroke")):
            r.bind(f"<Key-{key}>", lambda e, k=kind: self._set_kind(k))
        r.bind("<Key-f>", lambda e: self._fit())
        cv.bind("<Configure>", lambda e: setattr(self.c, "viewport", (max(e.width, 1), max(e.height, 1))))
        r.protocol("WM_DELETE_WINDOW", self._close)

    def _set_kind(self, kind: str) -> None:
        self.kind.set(kind)
        self.c.set_kind(kind)

    # -- callbacks -------------------------------------------------------------------------------
    def _safe(self, fn) -> None:
        try:
            fn()
        except IntersegError as e:
            self.c.status = str(e)
            self.refresh()

    def _zoom_changed(self, key: str) -> None:
        with contextlib.suppress(tk.TclError, ValueError):  # a half-typed number in the spinbox
            self.c.set_zoom_in(**{key: self.zoom_vars[key].get()})

    def _pan(self, e) -> None:
        if self._pan_start is not None:
            self.c.pan_view(e.x - self._pan_start[0], e.y - self._pan_start[1])
            self._pan_start = (e.x, e.y)

    def _open_image(self) -> None:
        p = filedialog.askopenfilename(title="Open image")
        if p:
            self.c.open(p)
            self._fit()

    def _open_folder(self) -> None:
        p = filedialog.askdirectory(title="Open folder")
        if p:
            self.c.open(p)
            self._fit()

    def _load_mask(self) -> None:
        p = filedialog.askopenfilename(title="Mask to refine")
        if p:
            self.c.load_mask(p)

    def _fit(self) -> None:
        self.root.update_idletasks()
        self.c.fit_view(max(self.canvas.winfo_width(), 200), max(self.canvas.winfo_height(), 200))

    def _close(self) -> None:
        if not self.c.autosave():
            from tkinter import messagebox

            if not messagebox.askyesno("interseg", f"{self.c.status}\n\nClose anyway and lose them?"):
                self.refresh()
                return
        self.root.destroy()

    def refresh(self) -> None:
        self.status.configure(text=self.c.status)
        self.root.title(self.c.title())
        if hasattr(self, "objects") and self.c.session is not None:
            names = [f"{i + 1}: {o.label}" for i, o in enumerate(self.c.session.objects)]
            if list(self.objects.get(0, tk.END)) != names:
                self.objects.delete(0, tk.END)
                for n in names:
                    self.objects.insert(tk.END, n)
            self.objects.selection_clear(0, tk.END)
            if self.c.selected is not None:
                self.objects.selection_set(self.c.selected)
            self.label_box.configure(values=self.c.labels)
        img = self.c.render()
        self.canvas.delete("all")
        if img is None:
            return
        s = self.c.view_scale
        ox, oy = self.c.view_offset
        h, w = img.shape[:2]
        vw, vh = max(self.canvas.winfo_width(), 1), max(self.canvas.winfo_height(), 1)
        x0, y0 = max(0, int(ox)), max(0, int(oy))
        x1, y1 = min(w, int(ox + vw / s) + 1), min(h, int(oy + vh / s) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        crop = img[y0:y1, x0:x1]
        size = (max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST if s > 1 else cv2.INTER_AREA)
        self._photo = ImageTk.PhotoImage(Image.fromarray(crop))
        self.canvas.create_image(round((x0 - ox) * s), round((y0 - oy) * s), anchor="nw", image=self._photo)


def run_demo(controller: AnnotationController, start: Path | None = None) -> None:
    root = tk.Tk()
    app = DemoApp(root, controller)
    if start is not None:
        root.update_idletasks()
        controller.open(start)
        root.after(50, app._fit)
    root.mainloop()
