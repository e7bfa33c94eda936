"""Learning from the team: fine-tune the served model on the annotations Label Studio saved.

After ``every`` new annotations (or when Label Studio sends its training action) one round starts in a
separate process — never a request worker: lowest CPU priority (``nice``), one thread — that

1. fine-tunes a copy of the served model for ``steps`` optimizer steps on the team's annotations mixed
   with a replay of training sets the model was trained on (``replay``; so that it does not forget),
   with the iterative click / contour / stroke simulation of training (training/trainer.py); the backbone
   and every batch-norm layer stay frozen by default (``freeze``): fine-tuned, their statistics drift to
   the team's images and the model forgets what it knew (docs/serve.md); the round's model is then the
   model the server started with plus a share (``mix``) of what fine-tuning changed: an interpolation of
   the weights that keeps most of the team's gain and about half of what it would forget;
2. measures both models on the held-out slice of the team's annotations (every 5th task, never trained
   on, team_data.py): click NoI@85 and @90 with the simulated user, at most ``noi_max`` clicks;
3. reports back. The server swaps the served model only if the held-out NoI@90 fell (NoI@85 breaks a
   tie); otherwise it keeps the old one and says why.

A team's object definition can contradict what the model knew (a team that labels garments wants the
shirt where the model returns the person wearing it), so a version that is better for the team but
forgets — its NoI@90 on the replay sets' held-out objects rises by more than ``forget_margin`` — is
served to the team's own Label Studio projects only (the projects its annotations came from: its
``scope`` is ``"team"``), while every other project and the plain API keep the last version that
forgets nothing (``scope`` ``"all"``). Forgetting is judged against ``v0``, the model the server started
with, so that rounds that each forget a little cannot add up. ``forgetting="keep"`` serves such a
version to no one.

Every round is a version ``vN`` (``DIR/versions/vN.safetensors``, a normal checkpoint usable by
``predict``, ``evaluate`` and ``demo``; ``v0`` is the model the server started with), listed with its
data and held-out figures in ``DIR/versions.json``, ``/health`` and ``interseg models list --learn DIR``.
``--model-version vN`` serves one and makes no automatic swap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomically
from ..config import Config
from ..errors import ConfigError
from .team_data import HOLDOUT_EVERY, TeamStore

log = logging.getLogger("interseg.serve")

VERSIONS_FILE = "versions.json"
#: what a round's fine-tuning may leave as it is (recipe TRAIN.FREEZE's choices but ``network``)
FREEZE_CHOICES = ("none", "bn", "backbone")


@dataclass(frozen=True)
class LearnSettings:
    every: int = 20                 # new (training) annotations that start a round
    steps: int = 300                # optimizer steps per round
    batch: int = 8
    crop: int = 256
    lr: float = 5e-5
    team_weight: float = 0.5        # share of the team's samples in a batch (the rest: replay)
    replay: tuple[str, ...] = ("COCO_MVal_train", "ECSSD")
    noi_max: int = 10               # clicks per held-out object when judging a round
    heldout_objects: int = 40       # held-out objects measured (the first ones)
    min_heldout: int = 3            # fewer held-out objects: no swap (nothing to judge by)
    #: > 0: on the replay samples the fine-tuned model also learns v0's probabilities (distillation, this
    #: weight; the team's samples learn from their masks alone): measured, it keeps no more (docs/serve.md)
    distill: float = 0.0
    replay_objects: int = 20        # held-out objects of the replay sets that guard against forgetting
    forget_margin: float = 0.3      # their NoI@90 may rise by at most this much
    threads: int = 1
    nice: int = 10
    #: "better": swap only when the held-out NoI improved; "always": serve every round's model (a team that
    #: prefers the newest model, or a demonstration); the figures are recorded either way
    swap: str = "better"
    #: a version better for the team that forgets: "team" serves it to the team's projects only, "keep" to no one
    forgetting: str = "team"
    #: what fine-tuning leaves as it is (recipe TRAIN.FREEZE): "backbone" (and every batch norm), "bn", "none"
    freeze: str = "backbone"
    #: the round's model: v0's weights + this share of (fine-tuned − v0); 1: the fine-tuned weights as they are
    mix: float = 0.7
    #: > 0: fine-tuning also holds the weights near the base's (recipe TRAIN.L2SP_WEIGHT): measured, it
    #: keeps no more than ``mix`` does (docs/serve.md)
    l2sp: float = 0.0

    def validate(self) -> None:
        if self.every < 1 or self.steps < 1 or self.batch < 1 or self.noi_max < 1:
            raise ConfigError("--learn-every, --learn-steps, the batch and the NoI cap must be >= 1")
        if self.crop % 32:
            raise ConfigError(f"the fine-tuning crop must be a multiple of 32, not {self.crop}")
        if self.swap not in ("better", "always"):
            raise ConfigError(f"--learn-swap must be better or always, not {self.swap!r}")
        if self.forgetting not in ("team", "keep"):
            raise ConfigError(f"--learn-forgetting must be team or keep, not {self.forgetting!r}")
        if self.freeze not in FREEZE_CHOICES:
            raise ConfigError(f"--learn-freeze must be one of {', '.join(FREEZE_CHOICES)}, not {self.freeze!r}")
        if self.l2sp < 0:
            raise ConfigError(f"the L2-SP weight must be >= 0, not {self.l2sp:g}")
        if not 0 < self.mix <= 1:
            raise ConfigError(f"--learn-mix must be in (0, 1], not {self.mix:g}")


@dataclass
class Version:
    version: str
    checkpoint: str                 # relative to the learn folder
    annotations: int = 0            # training annotations it was fine-tuned on (0 for v0)
    heldout: dict = field(default_factory=dict)   # {"objects", "noi85", "noi90"} of this version
    replay_heldout: dict = field(default_factory=dict)   # the same on the replay sets' held-out objects
    base: str | None = None         # the version it was fine-tuned from
    accepted: bool = True           # served (a rejected round is kept, not served)
    #: "all": served to every project; "team": only to ``projects`` (it forgets what the others need)
    scope: str = "all"
    projects: list[str] = field(default_factory=list)   # Label Studio projects of its training annotations
    reason: str = ""
    created: float = field(default_factory=time.time)
    cpu_seconds: float = 0.0        # the whole round (fine-tuning and judging)
    train_cpu_seconds: float = 0.0  # the fine-tuning alone


def swap_decision(before: dict, after: dict, min_heldout: int, replay_before: dict | None = None,
                  replay_after: dict | None = None, forget_margin: float = 0.3,
                  forgetting: str = "keep") -> tuple[bool, str, str]:
    """Whether a fine-tuned model replaces the served one, for whom, and why: ``(accept, why, scope)``.

    The team's held-out NoI@90 must fall (a tie is broken by NoI@85). The NoI@90 on held-out objects of
    the replay sets (what the model knew before) may not rise by more than ``forget_margin``; a version
    that forgets is served to the team's projects only (``forgetting="team"``, scope ``"team"``) or to no
    one (``"keep"``). With fewer than ``min_heldout`` team held-out objects nothing is judged."""
    n = int(after.get("objects", 0))
    if n < min_heldout:
        return False, (f"kept the served model: {n} held-out object(s), at least {min_heldout} are needed to judge "
                       f"(every {HOLDOUT_EVERY}th task is held out)"), "all"
    b90, a90, b85, a85 = before["noi90"], after["noi90"], before["noi85"], after["noi85"]
    figures = f"held-out NoI@90 {b90:.2f} → {a90:.2f}, NoI@85 {b85:.2f} → {a85:.2f} on {n} objects"
    if not (a90 < b90 or (a90 == b90 and a85 < b85)):
        return False, f"kept the served model: {figures} (no better)", "all"
    if replay_before and replay_after and replay_after.get("objects"):
        rb, ra = replay_before["noi90"], replay_after["noi90"]
        figures += f"; replay held-out NoI@90 {rb:.2f} → {ra:.2f} on {replay_after['objects']} objects"
        if ra > rb + forget_margin:
            if forgetting == "team":
                return True, (f"served to the team's projects only: {figures} (it forgets: more than "
                              f"+{forget_margin:g}; other projects keep the model that does not)"), "team"
            return False, f"kept the served model: {figures} (it forgets: more than +{forget_margin:g})", "all"
    return True, f"swapped: {figures}", "all"


def _objects(dataset, indices, limit: int, every_mask: bool = True) -> list:
    """Up to ``limit`` one-object samples of ``dataset``'s samples ``indices`` (every object of a sample,
    or only its largest)."""
    from ..data.sample import Sample
    from ..errors import DataError

    out = []
    for i in indices:
        if len(out) >= limit:
            break
        try:
            sample = dataset[i]
        except DataError:
            continue
        masks = sample.masks if every_mask else [max(sample.masks, key=lambda m: int(m.sum()))]
        out += [Sample(sample.image, [m], sample.ignore, f"{sample.name}#{k}") for k, m in enumerate(masks)]
    return out[:limit]


def _clicks_noi(predictor, objects: list, noi_max: int) -> dict:
    """Mean click NoI@85/@90 of ``predictor`` on one-object samples (RITM clicks, at most ``noi_max``)."""
    from ..evaluation.metrics import noi
    from ..evaluation.protocol import EvalSettings, user_seed
    from ..evaluation.runner import run_sequence
    from ..interactions.schedules import single

    ev = EvalSettings(mode="noi", input_types=("point",), max_interactions=noi_max, noi_thresholds=(0.85, 0.90))
    n85, n90 = [], []
    for i, obj in enumerate(objects):
        rec, _ = run_sequence(obj, predictor, single("point", noi_max), ev, user_seed(0, "learn", i, obj.name))
        n85.append(noi(rec["ious"], 0.85, noi_max))
        n90.append(noi(rec["ious"], 0.90, noi_max))
    return {"objects": len(n90), "noi85": float(np.mean(n85)) if n85 else float(noi_max),
            "noi90": float(np.mean(n90)) if n90 else float(noi_max)}


def finetune_round(job: dict) -> dict:
    """One round (run in the learner's process): fine-tune, then measure before and after. ``job``:
    ``root``, ``config``, ``base`` (checkpoint), ``version``, ``options`` (flat predictor options),
    ``settings`` (LearnSettings as a dict). Returns the figures and the new checkpoint's path."""
    import torch

    from ..config import load_config
    from ..data.registry import build_train_dataset
    from ..errors import IntersegError
    from ..inference.net_predictor import NetPredictor
    from ..inference.options import PredictorOptions
    from ..models.checkpoint import load_checkpoint, save_checkpoint
    from ..schema import from_dict
    from ..training.data import split_indices
    from ..training.recipe import Recipe
    from ..training.trainer import Trainer, TrainOptions

    t0, c0 = time.time(), time.process_time()
    settings = LearnSettings(**{**job["settings"], "replay": tuple(job["settings"]["replay"])})
    torch.set_num_threads(settings.threads)
    root = Path(job["root"])
    cfg: Config = load_config(job["config"])
    cfg.EXPS_PATH = root / "runs"
    store = TeamStore(root)
    team = store.dataset("train")
    base_net, _ = load_checkpoint(job["base"])
    datasets: dict[str, Any] = {"team": team}
    notes = []
    for name in settings.replay:
        try:
            datasets[name] = build_train_dataset(name, cfg)
        except IntersegError as e:
            notes.append(f"replay {name} left out ({e})")
    replay = [n for n in datasets if n != "team"]
    weights = [{"NAME": "team", "WEIGHT": settings.team_weight if replay else 1.0}]
    weights += [{"NAME": n, "WEIGHT": (1 - settings.team_weight) / len(replay)} for n in replay]
    arch = base_net.arch
    origin = job.get("origin") or job["base"]   # v0, the model the server started with
    # distillation towards v0 on the replay samples only (the team's samples learn from their masks)
    distill = ({"TEACHER": str(origin), "DISTILL_WEIGHT": settings.distill,
                "DISTILL_DATASETS": replay} if settings.distill > 0 and replay else {})
    recipe = from_dict(Recipe, {
        "MODEL": {"BACKBONE": arch.backbone, "BATCH_SIZE": settings.batch, "TRAIN_SIZE": settings.crop,
                  "IMAGENET_PRETRAINED": False, "PRETRAINED_PATH": str(job["base"])},
        "TRAIN": {"DATASETS": weights, "EPOCHS": 1, "EPOCH_LEN": settings.steps * settings.batch, "LR": settings.lr,
                  "LR_TYPE": "cosine", "WARMUP_ITERS": min(20, settings.steps // 5), "VAL_EVERY": 2,
                  "VIS_EVERY": 10**9, "PRECISION": "fp32", "FREEZE": settings.freeze, "L2SP_WEIGHT": settings.l2sp,
                  **distill}},
        "fine-tuning recipe:")
    recipe.name = "team"
    exp = Trainer(recipe, cfg, TrainOptions(exp_name=job["version"], workers=0, device="cpu",
                                            datasets=datasets)).run()
    new_ckpt = exp / "checkpoints" / "last.safetensors"
    tuned, meta = load_checkpoint(new_ckpt)
    if settings.mix < 1:   # moved back towards v0 (the base itself in the first round)
        mix_weights(base_net if origin == job["base"] else load_checkpoint(origin)[0], tuned, settings.mix)
        new_ckpt = save_checkpoint(new_ckpt.with_name("mixed.safetensors"), tuned, meta)
    train_cpu = time.process_time() - c0
    opts = PredictorOptions().with_changes(**job["options"])
    old, new = NetPredictor(base_net, "before", opts), NetPredictor(tuned, "after", opts)
    team_objects = []
    if store.records("heldout"):
        heldout = store.dataset("heldout")
        team_objects = _objects(heldout, range(len(heldout)), settings.heldout_objects)
    # the replay sets' validation split (recipe TRAIN.VAL_FRACTION: never trained on by the fine-tuning, nor
    # by the shipped models' recipes), largest object of each image: does the model still know them?
    replay_objects = []
    for name in replay:
        ds = datasets[name]
        replay_objects += _objects(ds, split_indices(ds, recipe.TRAIN.VAL_FRACTION, "val"),
                                   settings.replay_objects // len(replay), every_mask=False)
    before, after = _clicks_noi(old, team_objects, settings.noi_max), _clicks_noi(new, team_objects, settings.noi_max)
    # what the new model is judged against on the replay sets: v0's figures, measured once (job's
    # ``replay_reference``; the objects are the same every round), or the base's when there are none yet
    replay_before = (job.get("replay_reference") or _clicks_noi(old, replay_objects, settings.noi_max)) \
        if replay_objects else None
    replay_after = _clicks_noi(new, replay_objects, settings.noi_max) if replay_objects else None
    projects = sorted({str(r["project"]) for r in team.items if r.get("project") is not None})
    return {"checkpoint": str(new_ckpt), "before": before, "after": after, "replay_before": replay_before,
            "replay_after": replay_after, "annotations": len(team), "projects": projects,
            "seconds": time.time() - t0, "cpu_seconds": time.process_time() - c0, "train_cpu_seconds": train_cpu,
            "notes": notes}


def mix_weights(origin, tuned, share: float) -> None:
    """Set ``tuned``'s floating-point weights to ``origin``'s + ``share`` × (``tuned``'s − ``origin``'s), in
    place (two networks of one architecture); integer buffers stay ``tuned``'s."""
    import torch

    before = origin.state_dict()
    with torch.no_grad():
        for k, v in tuned.state_dict().items():
            if v.is_floating_point():
                v.copy_(before[k] + share * (v - before[k]))


def _child(job: dict, out: str, log_file: str) -> None:
    """The learner process: lowest priority, its output in a log file, the result as JSON."""
    import sys

    with contextlib.suppress(OSError):
        os.nice(job["settings"]["nice"])
    with open(log_file, "a") as f:
        sys.stdout = sys.stderr = f
        try:
            result = finetune_round(job)
        except Exception as e:  # reported to the server, which keeps serving the old model
            import traceback

            traceback.print_exc()
            result = {"error": f"{e.__class__.__name__}: {e}"}
        Path(out).write_text(json.dumps(result))


class Learner:
    """The server's side of learning: stores versions, starts rounds, applies the swap rule."""

    def __init__(self, root: str | Path, predictor, cfg: Config, settings: LearnSettings | None = None) -> None:
        from ..inference.net_predictor import NetPredictor
        from ..models.checkpoint import save_checkpoint

        if not isinstance(predictor, NetPredictor):
            raise ConfigError("--learn fine-tunes a network: serve a --checkpoint, not a --baseline")
        self.root = Path(root)
        self.settings = settings or LearnSettings()
        self.settings.validate()
        self.cfg = cfg
        self.store = TeamStore(self.root)
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        self.name = predictor.name
        self.options = predictor.options
        self.device = predictor.device
        self._lock = threading.Lock()
        self.versions: list[Version] = self._read_versions()
        if self.versions:
            v0 = self.predictor_of(self.versions[0])
            if v0.weights_hash != predictor.weights_hash:
                raise ConfigError(f"{self.root}: holds versions learned from another model than {predictor.name} "
                                  f"(its v0 has other weights); give that model, or another --learn folder")
        else:
            path = self.root / "versions" / "v0.safetensors"
            save_checkpoint(path, predictor.net, {"name": f"{self.name}-v0", "learned": {"version": "v0"}})
            self.versions = [Version("v0", "versions/v0.safetensors", reason="the model the server started with")]
            self._write_versions()
        self.current, self.general = self._served_at_start()
        self.pinned = False
        self.training = False
        self.message = f"serving {self.current.version}" + (
            f" to the team's projects ({', '.join(self.current.projects)}), {self.general.version} to the others"
            if self.current is not self.general else "")
        self.on_swap: Callable[[], None] | None = None  # after a swap: the server reloads
        self.trained_on = self.current.annotations
        self._thread: threading.Thread | None = None

    # -- versions ----------------------------------------------------------------------------------
    def _read_versions(self) -> list[Version]:
        path = self.root / VERSIONS_FILE
        if not path.is_file():
            return []
        try:
            return [Version(**v) for v in json.loads(path.read_text())]
        except (json.JSONDecodeError, TypeError) as e:
            raise ConfigError(f"{path}: not a versions file interseg wrote ({e})") from None

    def _write_versions(self) -> None:
        text = json.dumps([asdict(v) for v in self.versions], indent=2)
        write_atomically(self.root / VERSIONS_FILE, lambda p: p.write_text(text))

    def _served_at_start(self) -> tuple[Version, Version]:
        """(the latest accepted version: the team's model and the next round's base; the latest accepted
        version that forgets nothing: every other project's model)."""
        accepted = [v for v in self.versions if v.accepted]
        return accepted[-1], [v for v in accepted if v.scope == "all"][-1]

    def version(self, name: str) -> Version:
        for v in self.versions:
            if v.version == name:
                return v
        raise ConfigError(f"no model version {name!r} in {self.root} (versions: "
                          f"{', '.join(v.version for v in self.versions)})")

    def predictor_of(self, version: Version):
        from ..inference.net_predictor import NetPredictor
        from ..models.checkpoint import load_checkpoint

        net, _ = load_checkpoint(self.root / version.checkpoint)
        return NetPredictor(net, self.name, self.options, str(self.device))

    def served(self, started_with):
        """What to serve at start to every project (the team's own version, if any, comes from
        :meth:`predictor_of`): the latest accepted version that forgets nothing (the model given, when
        that is v0)."""
        return started_with if self.general.version == "v0" else self.predictor_of(self.general)

    def pin(self, name: str):
        """Serve ``name`` to every project and make no automatic swap (``--model-version``)."""
        v = self.version(name)
        self.current = self.general = v
        self.pinned = True
        self.message = f"serving {v.version}, pinned (--model-version): rounds still run, no swap"
        return self.predictor_of(v)

    def version_name(self, v: Version) -> str:
        return f"interseg-{self.name}-{v.version}"

    @property
    def model_version(self) -> str:
        """The version every project but the team's gets."""
        return self.version_name(self.general)

    def status(self) -> dict:
        train = len(self.store.records("train"))    # one read of the records (/health is polled)
        team = {"team_version": self.current.version, "team_projects": self.current.projects} \
            if self.current is not self.general else {}
        return {"version": self.general.version, **team, "pinned": self.pinned, "training": self.training,
                "annotations": len(self.store), "train_annotations": train,
                "new_since_last_round": max(0, train - self.trained_on), "every": self.settings.every,
                "message": self.message,
                "versions": [{"version": v.version, "annotations": v.annotations, "heldout": v.heldout,
                              "accepted": v.accepted, "scope": v.scope, "projects": v.projects,
                              "reason": v.reason} for v in self.versions]}

    # -- rounds --------------------------------------------------------------------------------------
    def new_annotations(self) -> int:
        return max(0, len(self.store.records("train")) - self.trained_on)

    def note_new(self) -> None:
        """Called after an annotation is stored: start a round once enough new ones arrived."""
        new = self.new_annotations()
        if new >= self.settings.every:
            self.start(f"{new} new annotations")

    def start(self, reason: str) -> bool:
        """Start a round in the background unless one runs; whether it started."""
        with self._lock:
            if self.training:
                self.message = f"a round is already running ({reason} waits for the next)"
                return False
            if not self.store.records("train"):
                self.message = "nothing to learn from yet: no stored training annotations"
                return False
            self.training = True
            n = len(self.versions)
            self.message = f"round v{n} started: {reason}"
        log.info("learning: %s", self.message)
        self._thread = threading.Thread(target=self._round, args=(f"v{n}",), daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running round (tests, benchmarks)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _round(self, version: str) -> None:
        base = self.current
        job = {"root": str(self.root), "config": str(self.cfg.source), "base": str(self.root / base.checkpoint),
               "version": version, "options": self.options.as_flat(), "settings": asdict(self.settings),
               "replay_reference": self.versions[0].replay_heldout or None,
               "origin": str(self.root / self.versions[0].checkpoint)}
        out = self.root / "runs" / f"{version}.result.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        trained_on = len(self.store.records("train"))
        proc = mp.get_context("spawn").Process(target=_child, args=(job, str(out), str(self.root / "learn.log")),
                                               daemon=True)
        proc.start()
        proc.join()
        try:
            result = json.loads(out.read_text())
        except (OSError, json.JSONDecodeError):
            result = {"error": f"the learner process ended with code {proc.exitcode} and no result"}
        try:
            self._finish(version, base, result, trained_on)
        finally:
            with self._lock:
                self.training = False

    def _finish(self, version: str, base: Version, result: dict, trained_on: int) -> None:
        from ..models.checkpoint import update_metadata

        if "error" in result:
            self.message = f"round {version} failed: {result['error']} (serving {self.current.version}; " \
                           f"{self.root / 'learn.log'})"
            log.warning("learning: %s", self.message)
            return
        # forgetting is judged against the model the server started with (v0; the replay objects are the
        # same every round), so that rounds that each forget a little cannot add up to more than the margin
        origin = self.versions[0]
        replay_ref = origin.replay_heldout or result.get("replay_before")
        if not origin.replay_heldout and base is origin and result.get("replay_before"):
            origin.replay_heldout = result["replay_before"]   # measured once, the reference from now on
        accept, why, scope = swap_decision(result["before"], result["after"], self.settings.min_heldout,
                                           replay_ref, result.get("replay_after"), self.settings.forget_margin,
                                           self.settings.forgetting)
        if accept and scope == "team" and not result.get("projects"):
            accept, why = False, f"{why}; but its annotations name no Label Studio project to serve it to"
        if self.settings.swap == "always" and (not accept or scope != "all"):
            accept, why, scope = True, f"swapped (--learn-swap always); the rule would have {why}", "all"
        if self.pinned and accept:
            accept, why = False, f"{why}; not served: {self.current.version} is pinned (--model-version)"
        path = self.root / "versions" / f"{version}.safetensors"
        Path(result["checkpoint"]).replace(path)
        measured = result["after"] if result["after"].get("objects") else {}
        v = Version(version, f"versions/{version}.safetensors", annotations=result["annotations"],
                    heldout=measured, replay_heldout=result.get("replay_after") or {}, base=base.version,
                    accepted=accept, reason=why, scope=scope,
                    projects=result.get("projects") or [],
                    cpu_seconds=round(result["cpu_seconds"], 1),
                    train_cpu_seconds=round(result.get("train_cpu_seconds", 0.0), 1))
        if result["before"].get("objects"):   # the served model's figures on the latest held-out slice
            base.heldout = result["before"]
        update_metadata(path, {"name": f"{self.name}-{version}", "learned": asdict(v)})
        self.versions.append(v)
        self._write_versions()
        self.trained_on = trained_on
        self.message = f"round {version}: {why} ({result['cpu_seconds'] / 60:.1f} CPU-min)"
        log.info("learning: %s", self.message)
        if accept:
            self.current = v
            if scope == "all":
                self.general = v
            if self.on_swap is not None:
                self.on_swap()
