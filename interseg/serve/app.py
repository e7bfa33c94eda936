"""``interseg serve``: the model server (FastAPI), for Label Studio and for plain JSON clients.

Label Studio's ML backend protocol: ``GET /health``, ``POST /setup``, ``POST /predict`` (the regions
the annotator just drew arrive in ``params.context.result``; the answer is a ``brushlabels`` mask),
``POST /webhook``. The plain API: ``POST /v1/images`` (upload → image id) and ``POST /v1/segment``
(image id + interactions → mask as PNG or COCO RLE). See docs/serve.md.

Requests run on ``workers`` threads; at most ``max_queue`` more wait, beyond that the server answers
503 at once instead of piling requests up in memory. Errors are JSON ``{"status": "ERROR",
"error": message}`` with a 4xx/5xx status; the server stays up.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..errors import ConfigError, IntersegError
from ..inference.options import check_threshold
from ..interactions.types import Interaction, MaskStroke, interaction_from_dict
from ..version import __version__
from .auth import OPEN_PATHS, authorized
from .engine import Engine
from .images import ImageFetcher, ServeError, decode, origin
from .labelstudio import LabelingConfig, brush_result, region_label, region_mask, region_to_interaction

MAX_JSON_BYTES = 64 << 20

log = logging.getLogger("interseg.serve")


@dataclass
class ServeSettings:
    workers: int = 1
    max_queue: int = 8
    allow_hosts: list[str] = field(default_factory=list)
    max_image_bytes: int = 64 << 20
    max_pixels: int | None = None
    image_cache_bytes: int = 1 << 30
    prediction_cache_bytes: int = 1 << 30
    cache_ttl_s: float = 1800.0
    #: a rectangle as the first region is segmented by the GrabCut baseline (see engine.Engine)
    box_prompts: bool = True
    #: (user, password) every endpoint but /health requires (auth.py)
    basic_auth: tuple[str, str] | None = None
    #: the one Label Studio this server works for: images and tokens go nowhere else, and /setup from
    #: another host is refused
    label_studio_url: str | None = None


@dataclass
class _Project:
    hostname: str | None = None
    config: LabelingConfig = field(default_factory=LabelingConfig)


def project_key(ident: Any) -> str | None:
    """A Label Studio project's id as a key: ``"3.1712345678"`` (/predict, /setup), ``3`` or
    ``{"id": 3}`` (webhooks) → ``"3"``; ``None`` when there is none."""
    if isinstance(ident, dict):
        ident = ident.get("id")
    key = str(ident if ident is not None else "").split(".")[0]
    return key or None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "ERROR", "error": message}, status_code=status)


class Server:
    """State shared by the routes: the engine, the fetcher, the projects, the admission counter."""

    def __init__(self, predictor, settings: ServeSettings, learner=None) -> None:
        self.predictor = predictor
        self.learner = learner
        self.settings = settings
        self.engine = Engine(predictor, settings.image_cache_bytes, settings.prediction_cache_bytes,
                             settings.cache_ttl_s)
        self.fetcher = ImageFetcher(max_bytes=settings.max_image_bytes)
        if settings.max_pixels:
            self.fetcher.max_pixels = settings.max_pixels
        for host in settings.allow_hosts:
            self.fetcher.allow(host)
        self.pinned = self.fetcher.allow(settings.label_studio_url) if settings.label_studio_url else None
        self.projects: dict[str, _Project] = {}
        self.default_project = _Project()
        self.limiter = anyio.CapacityLimiter(settings.workers)
        self.in_flight = 0
        self._lock = threading.Lock()
        fp = hashlib.sha256(predictor.fingerprint.encode()).hexdigest()[:8]
        self.model_version = learner.model_version if learner is not None else f"interseg-{predictor.name}-{fp}"
        #: a learned version served to the team's own projects only: (predictor, model version, project keys)
        self.team: tuple[Any, str, frozenset[str]] | None = None
        if learner is not None:
            self._loaded = {learner.general.version: predictor}
            learner.on_swap = self.reload
            self.reload()
        self.stats = {"requests": 0, "passes": 0, "reused": 0, "rejected": 0}
        self.box_prompts = settings.box_prompts

    async def run(self, fn, *args):
        """Run ``fn`` on a worker thread, or refuse with 503 when the queue is full."""
        with self._lock:
            if self.in_flight >= self.settings.workers + self.settings.max_queue:
                self.stats["rejected"] += 1
                raise ServeError(503, f"server busy: {self.in_flight} requests running or queued "
                                      f"(--workers {self.settings.workers}, --max-queue {self.settings.max_queue}); "
                                      f"retry shortly")
            self.in_flight += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            with self._lock:
                self.in_flight -= 1

    # -- Label Studio --------------------------------------------------------------------------
    def project(self, ident: Any) -> _Project:
        return self.projects.get(project_key(ident) or "", self.default_project)

    def model_for(self, key: str | None) -> tuple[Any, str]:
        """(predictor, model version) serving Label Studio project ``key`` (``None``: the plain API)."""
        team = self.team
        if team is not None and key is not None and key in team[2]:
            return team[0], team[1]
        return self.predictor, self.model_version

    def setup(self, body: dict) -> dict:
        key = project_key(body.get("project")) or ""
        host, token = body.get("hostname"), body.get("access_token")
        if self.pinned is not None:
            if host and origin(host) != self.pinned:
                raise ServeError(403, f"/setup from {origin(host)} refused: this server works for "
                                      f"{self.pinned} only (--label-studio-url)")
            host = host or self.settings.label_studio_url
        proj = _Project(config=LabelingConfig.parse(body.get("schema")))
        if host:
            proj.hostname = host
            self.fetcher.allow(host, token)
        self.projects[key] = proj
        self.default_project = proj
        return {"model_version": self.model_for(key or None)[1]}

    def predict_task(self, task: dict, project: _Project, regions: list, key: str | None = None) -> dict:
        """One task's answer; ``key``: the Label Studio project asking (which model serves it)."""
        if not isinstance(task, dict):
            raise ServeError(400, "each task must be an object")
        predictor, model_version = self.model_for(key)
        if not regions:   # not an interactive request: nothing to segment yet
            return {"model_version": model_version, "score": 0.0, "result": []}
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        raw_url = data.get(project.config.image_key)
        url = self.fetcher.resolve(raw_url, project.hostname)
        prepared = self.engine.image(f"url:{url}", lambda: self.fetcher.fetch(url))
        h, w = prepared.image.shape[:2]
        interactions = [region_to_interaction(r, w, h) for r in regions]
        box_first = isinstance(regions[0], dict) and regions[0].get("type") == "rectanglelabels"
        out = self.engine.predict(f"url:{url}", prepared, interactions, box_first=box_first and self.box_prompts,
                                  model=(predictor, model_version))
        self.stats["passes"] += out.passes
        self.stats["reused"] += out.reused
        mask = out.prob > predictor.options.threshold
        score = float(out.prob[mask].mean()) if mask.any() else 0.0
        label = next((lab for r in regions if (lab := region_label(r))), None) or (
            project.config.brush_labels[0] if project.config.brush_labels else "Object")
        result = brush_result(mask, label, project.config, round(score, 4))
        return {"model_version": model_version, "score": round(score, 4), "result": [result]}

    def swap(self, predictor, model_version: str) -> None:
        """Serve another model (a learned version) to every project: later requests use it; cached
        predictions of the old one are dropped (the engine keys them by model version)."""
        self.engine.swap(predictor, model_version)
        self.predictor = predictor
        self.model_version = model_version

    def reload(self) -> None:
        """Serve what the learner decided: its version for every project, and the team's own version
        (one that forgets what the others need) for the team's projects."""
        lr = self.learner
        loaded: dict[str, Any] = {}

        def get(v):
            loaded[v.version] = self._loaded.get(v.version) or lr.predictor_of(v)
            return loaded[v.version]

        general = get(lr.general)
        if lr.model_version != self.model_version:
            self.swap(general, lr.model_version)
        team = lr.current if lr.current is not lr.general else None
        self.team = (get(team), lr.version_name(team), frozenset(team.projects)) if team is not None else None
        self._loaded = loaded

    # -- learning from the team ----------------------------------------------------------------
    def webhook(self, body: dict) -> dict:
        """Label Studio's events: saved annotations go to the team's data (``--learn``); its training
        action starts a round. A bad or unfetchable event is logged and skipped, never an error."""
        action = body.get("action")
        if self.learner is None:
            return {"status": "ignored", "action": action, "reason": "not learning (start with --learn DIR)"}
        try:
            if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
                return self._store_annotation(body)
            if action == "ANNOTATIONS_DELETED":
                items = body.get("annotations")
                if not isinstance(items, list):
                    raise ValueError("annotations must be a list of {id}")
                gone = [int(a["id"]) for a in items if self.learner.store.delete(int(a["id"]))]
                return {"status": "deleted", "action": action, "annotations": gone}
            if action == "START_TRAINING":
                started = self.learner.start("Label Studio asked to train")
                return {"status": "training" if started else "not started", "action": action,
                        "message": self.learner.message}
        except (IntersegError, KeyError, TypeError, ValueError, OSError) as e:   # e.g. a full disk
            reason = f"{e.__class__.__name__}: {e}" if not isinstance(e, IntersegError) else str(e)
            log.warning("webhook %s skipped: %s", action, reason)
            return {"status": "skipped", "action": action, "reason": reason}
        return {"status": "ignored", "action": action}

    def _store_annotation(self, body: dict) -> dict:
        ann, task = body.get("annotation"), body.get("task")
        if not isinstance(ann, dict):
            raise ValueError("no annotation in the event")
        task = task if isinstance(task, dict) else {"id": ann.get("task")}
        ann_id, task_id = int(ann["id"]), int(task.get("id") or ann["task"])
        key = project_key(body.get("project") if body.get("project") is not None else ann.get("project"))
        project = self.project(key)
        regions = ann.get("result") or []
        if not isinstance(regions, list):
            raise ValueError("annotation.result must be a list")
        masks, labels = [], []
        for r in regions:
            m = region_mask(r)
            if m is not None and m.any():
                masks.append(m)
                labels.append(region_label(r) or "")
        store = self.learner.store
        if not masks or ann.get("was_cancelled"):
            store.delete(ann_id)
            return {"status": "ignored", "action": body.get("action"), "annotation": ann_id,
                    "reason": "no brush or polygon object in it"}
        image = None
        if not store.has_image(task_id):
            data = task.get("data") if isinstance(task.get("data"), dict) else {}
            url = self.fetcher.resolve(data.get(project.config.image_key),
                                       project.hostname or self.settings.label_studio_url)
            image = self.fetcher.fetch(url)
        store.put(ann_id, task_id, image, masks, labels, key)
        self.learner.note_new()
        return {"status": "stored", "action": body.get("action"), "annotation": ann_id, "objects": len(masks)}

    # -- plain API -----------------------------------------------------------------------------
    def upload(self, data: bytes, name: str) -> dict:
        if not data:
            raise ServeError(400, "empty upload: send the image file as the request body or a 'file' form field")
        if len(data) > self.settings.max_image_bytes:
            raise ServeError(413, f"{name}: image of {len(data)} bytes is over the limit of "
                                  f"{self.settings.max_image_bytes}")
        image_id = hashlib.sha256(data).hexdigest()[:20]
        prepared = self.engine.image(f"id:{image_id}", lambda: decode(data, name, self.fetcher.max_pixels))
        h, w = prepared.image.shape[:2]
        return {"image_id": image_id, "width": w, "height": h}

    def segment(self, body: dict) -> tuple[dict, np.ndarray]:
        image_id = body.get("image_id")
        if not isinstance(image_id, str):
            raise ServeError(400, "give image_id (from POST /v1/images)")
        prepared = self.engine.images.get(f"id:{image_id}")
        if prepared is None:
            raise ServeError(404, f"image {image_id} is not (or no longer) on the server: upload it again")
        h, w = prepared.image.shape[:2]
        raw = body.get("interactions")
        if not isinstance(raw, list) or not raw:
            raise ServeError(400, "interactions must be a non-empty list")
        interactions = [_interaction(d, h, w) for d in raw]
        try:   # a request may ask for its own threshold; the predictor's is the default
            threshold = check_threshold(body.get("threshold", self.predictor.options.threshold), "threshold")
        except ConfigError as e:
            raise ServeError(400, str(e)) from None
        use_cache = body.get("cache", True)
        if not isinstance(use_cache, bool):
            raise ServeError(400, f"cache must be true or false, not {use_cache!r}")
        out = self.engine.predict(f"id:{image_id}", prepared, interactions, use_cache=use_cache)
        self.stats["passes"] += out.passes
        self.stats["reused"] += out.reused
        mask = out.prob > threshold
        return {"width": w, "height": h, "passes": out.passes, "reused": out.reused}, mask


def _interaction(d: Any, h: int, w: int) -> Interaction:
    """A plain-API interaction: ``{"type", "positive", "points"}``, or a stroke ``{"type": "stroke",
    "mask": {"size": [H, W], "counts": COCO RLE}}`` painted at the image's size."""
    if not isinstance(d, dict):
        raise IntersegError(f"an interaction must be an object, not {d!r}")
    if d.get("type") == "stroke" and isinstance(d.get("mask"), dict) and "origin" not in d["mask"]:
        from pycocotools import mask as mask_utils

        m = d["mask"]
        if list(m.get("size", [])) != [h, w]:
            raise IntersegError(f"stroke mask size {m.get('size')} is not the image's [{h}, {w}]")
        try:
            counts = m["counts"].encode("ascii") if isinstance(m["counts"], str) else m["counts"]
            rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w) if isinstance(
                counts, list) else {"size": [h, w], "counts": counts}
            painted = mask_utils.decode(rle).astype(bool)
        except (KeyError, TypeError, ValueError) as e:
            raise IntersegError(f"stroke mask is not COCO RLE ({e})") from None
        return MaskStroke.from_mask(painted, d.get("positive", True) is not False)
    try:
        return interaction_from_dict(d)
    except (ValueError, TypeError) as e:
        raise IntersegError(f"interaction {d!r}: {e}") from None


async def _json(request: Request) -> dict:
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise ServeError(413, f"request body of {len(body)} bytes is over the limit of {MAX_JSON_BYTES}")
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ServeError(400, f"the request body is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ServeError(400, "the request body must be a JSON object")
    return data


def create_app(predictor, settings: ServeSettings | None = None, learner=None) -> FastAPI:
    """The ASGI application around a loaded predictor (the model is loaded before the port opens);
    with a :class:`~interseg.serve.learner.Learner`, it learns from the annotations Label Studio saves."""
    server = Server(predictor, settings or ServeSettings(), learner)
    app = FastAPI(title="interseg", version=__version__,
                  description="Interactive segmentation model server (Label Studio ML backend + JSON API)")
    app.state.server = server

    if server.settings.basic_auth is not None:
        credentials = server.settings.basic_auth

        @app.middleware("http")
        async def _basic_auth(request: Request, call_next):
            if request.url.path not in OPEN_PATHS and not authorized(request.headers.get("authorization"),
                                                                      credentials):
                return JSONResponse({"status": "ERROR", "error": "authentication required (HTTP Basic Auth: the "
                                     "user and password the server was started with)"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="interseg"'})
            return await call_next(request)

    @app.exception_handler(ServeError)
    async def _serve_error(_: Request, e: ServeError) -> JSONResponse:
        return _error(e.status, str(e))

    @app.exception_handler(IntersegError)
    async def _user_error(_: Request, e: IntersegError) -> JSONResponse:
        return _error(400, str(e))

    @app.exception_handler(Exception)
    async def _bug(_: Request, e: Exception) -> JSONResponse:
        return _error(500, f"internal error ({e.__class__.__name__}: {e})")

    @app.get("/health")
    @app.get("/")
    async def health() -> dict:
        out = {"status": "UP", "model_class": "interseg", "model_version": server.model_version,
               "model": server.predictor.name, "in_flight": server.in_flight,
               "cached_images": len(server.engine.images), "cached_predictions": len(server.engine.predictions),
               **server.stats}
        if server.learner is not None:
            out["learning"] = server.learner.status()
        return out

    @app.post("/setup")
    async def setup(request: Request) -> dict:
        return server.setup(await _json(request))

    @app.post("/webhook")
    async def webhook(request: Request) -> dict:
        try:
            body = await _json(request)
        except ServeError as e:   # never an error for Label Studio: logged and skipped
            log.warning("webhook skipped: %s", e)
            return {"status": "skipped", "reason": str(e)}
        # fetching an image can take a while: off the event loop, but not in the prediction queue
        return await anyio.to_thread.run_sync(server.webhook, body)

    @app.post("/train")
    async def train(request: Request) -> dict:
        """Label Studio's older training call: the tasks with their annotations; stored, then a round."""
        body = await _json(request)
        if server.learner is None:
            raise ServeError(400, "not learning: start the server with --learn DIR")
        project = body.get("project")
        stored = 0
        for task in body.get("annotations") or []:
            for ann in (task.get("annotations") or []) if isinstance(task, dict) else []:
                event = {"action": "ANNOTATION_UPDATED", "annotation": ann, "task": task, "project": project}
                stored += (await anyio.to_thread.run_sync(server.webhook, event)).get("status") == "stored"
        started = server.learner.start("Label Studio asked to train")
        return {"status": "training" if started else "not started", "stored": stored,
                "message": server.learner.message, "model_version": server.model_for(project_key(project))[1]}

    @app.post("/predict")
    async def predict(request: Request) -> dict:
        body = await _json(request)
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise ServeError(400, "tasks must be a non-empty list")
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        context = params.get("context") if isinstance(params.get("context"), dict) else {}
        regions = context.get("result") or []
        if not isinstance(regions, list):
            raise ServeError(400, "params.context.result must be a list of regions")
        key = project_key(body.get("project"))
        project = server.project(key)
        if body.get("label_config"):
            project.config = LabelingConfig.parse(body["label_config"])
        server.stats["requests"] += 1
        t0 = time.perf_counter()
        results = [await server.run(server.predict_task, task, project, regions, key) for task in tasks]
        # the version that answered (a swap between the tasks and this line must not relabel them)
        return {"results": results, "model_version": results[-1]["model_version"],
                "seconds": round(time.perf_counter() - t0, 4)}

    @app.post("/v1/images")
    async def upload(request: Request) -> dict:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            f = form.get("file")
            if f is None or isinstance(f, str):
                raise ServeError(400, "multipart upload needs a 'file' field")
            data, name = await f.read(), f.filename or "upload"
        else:
            data, name = await request.body(), "upload"
        return await server.run(server.upload, data, name)

    @app.post("/v1/segment")
    async def segment(request: Request) -> Response:
        body = await _json(request)
        fmt = body.get("format", "png")
        if fmt not in ("png", "rle"):
            raise ServeError(400, f"format must be 'png' or 'rle', not {fmt!r}")
        server.stats["requests"] += 1
        info, mask = await server.run(server.segment, body)
        if fmt == "png":
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray((mask * 255).astype(np.uint8), mode="L").save(buf, format="PNG")
            return Response(buf.getvalue(), media_type="image/png",
                            headers={"X-Passes": str(info["passes"]), "X-Reused": str(info["reused"])})
        from pycocotools import mask as mask_utils

        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        return JSONResponse({**info, "area": int(mask.sum()),
                             "rle": {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}})

    return app
