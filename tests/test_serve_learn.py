"""interseg serve learns from the team: Basic Auth and the pinned Label Studio, the webhook's annotation
events stored on disk (created, updated, deleted, duplicate, malformed, unfetchable), a restart that
keeps them, the version swap rule, and one real fine-tuning round in the background process."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import interseg
from interseg.cli import main
from interseg.models.checkpoint import load_checkpoint
from interseg.serve.app import ServeSettings, create_app
from interseg.serve.brush_rle import encode_mask
from interseg.serve.learner import Learner, LearnSettings, swap_decision

from .conftest import require_data, serve_folder

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <BrushLabels name="brush" toName="image"><Label value="Garment"/></BrushLabels>
  <PolygonLabels name="poly" toName="image"><Label value="Garment"/></PolygonLabels>
  <KeyPointLabels name="kp" toName="image" smart="true"><Label value="Garment" smart="true"/></KeyPointLabels>
</View>"""
NAMES = ["106024", "124080", "153077", "153093", "181079", "189080"]


@pytest.fixture(scope="module")
def grabcut():
    ds = interseg.open_dataset("GrabCut", require_data("GrabCut"))
    return [ds[ds.index_of(n)] for n in NAMES]


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """Label Studio's stand-in: serves /data/upload/<name>.jpg, recording the Authorization headers."""
    root = tmp_path_factory.mktemp("ls")
    (root / "data" / "upload").mkdir(parents=True)
    for n in NAMES:
        (root / "data" / "upload" / f"{n}.jpg").write_bytes((require_data("GrabCut") / "data_GT" / f"{n}.jpg")
                                                            .read_bytes())
    httpd = serve_folder(root)
    yield httpd
    httpd.shutdown()


def _brush(mask, rid="r1"):
    h, w = mask.shape
    return {"id": rid, "type": "brushlabels", "from_name": "brush", "to_name": "image", "original_width": w,
            "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": encode_mask(mask), "brushlabels": ["Garment"]}}


def _polygon(mask, rid="p1"):
    import cv2

    h, w = mask.shape
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pts = max(contours, key=cv2.contourArea)[:, 0, :]
    return {"id": rid, "type": "polygonlabels", "from_name": "poly", "to_name": "image", "original_width": w,
            "original_height": h, "value": {"points": [[100 * x / w, 100 * y / h] for x, y in pts],
                                            "polygonlabels": ["Garment"]}}


def _event(action, ann_id, task_id, name, regions):
    return {"action": action, "project": {"id": 3},
            "task": {"id": task_id, "data": {"image": f"/data/upload/{name}.jpg"}},
            "annotation": {"id": ann_id, "task": task_id, "result": regions}}


AUTH = ("team", "s3cret")


def _headers(user=AUTH[0], password=AUTH[1]):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def served(tmp_path, host, cfg):
    """An app that learns into tmp (no automatic rounds), pinned to the stand-in host, with Basic Auth."""
    predictor = interseg.load_predictor()
    learner = Learner(tmp_path / "learn", predictor, cfg, LearnSettings(every=1000, replay=()))
    app = create_app(predictor, ServeSettings(basic_auth=AUTH, label_studio_url=host.url), learner)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/setup", json={"project": "3.1700000000", "schema": CONFIG, "hostname": host.url,
                                   "access_token": "ls-token"}, headers=_headers())
        assert r.status_code == 200 and r.json()["model_version"] == "interseg-interseg_lite0-v0"
        c.learner = learner
        yield c


def test_basic_auth_on_every_endpoint_but_health(served):
    assert served.get("/health").status_code == 200
    for path in ("/predict", "/setup", "/webhook", "/v1/segment", "/train"):
        r = served.post(path, json={})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic"), path
        assert served.post(path, json={}, headers=_headers(password="wrong")).status_code == 401
    assert served.post("/webhook", json={"action": "PROJECT_UPDATED"}, headers=_headers()).json()["status"] == "ignored"


def test_setup_from_an_unpinned_host_is_refused_and_gets_no_token(served, host):
    r = served.post("/setup", json={"project": "4.1", "schema": CONFIG, "hostname": "http://10.0.0.9:8080",
                                    "access_token": "stolen"}, headers=_headers())
    assert r.status_code == 403 and "works for http://127.0.0.1" in r.json()["error"]
    server = served.app.state.server
    assert set(server.fetcher.tokens) == {f"http://127.0.0.1:{host.server_port}"}


def test_serve_refuses_to_listen_beyond_loopback_without_credentials(capsys, monkeypatch):
    monkeypatch.delenv("INTERSEG_BASIC_AUTH", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--basic-auth USER:PASS" in capsys.readouterr().err
    monkeypatch.setenv("INTERSEG_BASIC_AUTH", "nopassword")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "INTERSEG_BASIC_AUTH: expected USER:PASS" in capsys.readouterr().err


def test_webhook_stores_updates_deletes_and_survives_bad_events(served, grabcut, host, cfg):
    store = served.learner.store
    h = _headers()
    a, b = grabcut[0], grabcut[1]
    ev = _event("ANNOTATION_CREATED", 11, 1, NAMES[0], [_brush(a.gt)])
    r = served.post("/webhook", json=ev, headers=h).json()
    assert r == {"status": "stored", "action": "ANNOTATION_CREATED", "annotation": 11, "objects": 1}
    assert host.auth[-1] == "Token ls-token"               # the image came from the pinned host, with its token
    assert served.post("/webhook", json=ev, headers=h).json()["status"] == "stored"   # a duplicate delivery
    assert len(store) == 1
    sample = store.dataset("all")[0]
    assert sample.masks[0].shape == a.gt.shape and np.array_equal(sample.masks[0], a.gt.astype(bool))
    # an update replaces: now a polygon and a brush region, two objects
    upd = _event("ANNOTATION_UPDATED", 11, 1, NAMES[0], [_polygon(a.gt), _brush(~a.gt.astype(bool), "r2")])
    assert served.post("/webhook", json=upd, headers=h).json()["objects"] == 2
    assert len(store) == 1 and len(store.dataset("all")[0].masks) == 2
    assert served.post("/webhook", json=_event("ANNOTATION_CREATED", 12, 2, NAMES[1], [_brush(b.gt)]),
                       headers=h).json()["status"] == "stored"
    # bad events: logged and skipped with the reason, never an error for Label Studio
    bad = [({"action": "ANNOTATION_CREATED"}, "no annotation"),
           (_event("ANNOTATION_CREATED", 13, 3, NAMES[2], [{"type": "brushlabels", "value": {"rle": [1, 2]}}]),
            "original_width"),
           ({**_event("ANNOTATION_CREATED", 14, 4, NAMES[3], [_brush(b.gt)]),
             "task": {"id": 4, "data": {"image": "http://10.1.2.3/x.jpg"}}}, "images are fetched only from"),
           (_event("ANNOTATION_CREATED", 15, 6, "missing", [_brush(b.gt)]), "answered 404")]
    for body, reason in bad:
        r = served.post("/webhook", json=body, headers=h)
        assert r.status_code == 200 and r.json()["status"] == "skipped" and reason in r.json()["reason"], r.text
    r = served.post("/webhook", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "skipped"
    assert len(store) == 2
    # deleted: gone, and the task's image with it
    r = served.post("/webhook", json={"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 12}, {"id": 99}]},
                    headers=h).json()
    assert r["annotations"] == [12] and len(store) == 1 and not store.has_image(2)
    # a restart reads the folder as it is
    again = Learner(served.learner.root, interseg.load_predictor(), cfg, LearnSettings(replay=()))
    assert len(again.store) == 1 and [v.version for v in again.versions] == ["v0"]
    with pytest.raises(interseg.IntersegError, match="holds versions learned from another model"):
        Learner(served.learner.root, interseg.load_predictor("interseg_segformer_b0"), cfg)


def test_swap_rule():
    base = {"objects": 10, "noi85": 4.0, "noi90": 6.0}
    assert swap_decision(base, {"objects": 10, "noi85": 3.0, "noi90": 5.0}, 3)[:3:2] == (True, "all")
    assert swap_decision(base, {"objects": 10, "noi85": 3.5, "noi90": 6.0}, 3)[0]          # tie at 90, better at 85
    keep, why, _ = swap_decision(base, {"objects": 10, "noi85": 3.0, "noi90": 6.5}, 3)
    assert not keep and "no better" in why and "6.00 → 6.50" in why
    keep, why, _ = swap_decision(base, {"objects": 2, "noi85": 1.0, "noi90": 1.0}, 3)
    assert not keep and "2 held-out object(s)" in why
    # better for the team but forgetting what it knew (the replay sets' held-out objects): kept ...
    better = {"objects": 10, "noi85": 3.0, "noi90": 5.0}
    forgot = ({"objects": 20, "noi90": 2.0}, {"objects": 20, "noi90": 2.5})
    keep, why, _ = swap_decision(base, better, 3, *forgot, 0.3, forgetting="keep")
    assert not keep and "it forgets" in why and "replay held-out NoI@90 2.00 → 2.50" in why
    # ... or served to the team's own projects only
    accept, why, scope = swap_decision(base, better, 3, *forgot, 0.3, forgetting="team")
    assert accept and scope == "team" and "team's projects only" in why and "2.00 → 2.50" in why
    assert swap_decision(base, better, 3, {"objects": 20, "noi90": 2.0}, {"objects": 20, "noi90": 2.25}, 0.3,
                         forgetting="team")[:3:2] == (True, "all")
    # no better for the team: kept, whatever the replay says
    assert not swap_decision(base, base, 3, *forgot, 0.3, forgetting="team")[0]
    with pytest.raises(interseg.IntersegError, match="--learn-forgetting must be team or keep"):
        LearnSettings(forgetting="maybe").validate()
    with pytest.raises(interseg.IntersegError, match="--learn-freeze must be one of none, bn, backbone"):
        LearnSettings(freeze="all").validate()
    with pytest.raises(interseg.IntersegError, match="the L2-SP weight must be >= 0, not -1"):
        LearnSettings(l2sp=-1).validate()
    with pytest.raises(interseg.IntersegError, match=r"--learn-mix must be in \(0, 1\], not 1.5"):
        LearnSettings(mix=1.5).validate()


def test_a_round_fine_tunes_in_the_background_and_the_rule_decides(served, grabcut, capsys):
    """A real (tiny) round in the learner's process: a version v1 with held-out figures; the swap
    follows the rule, and a swap changes the model version the server reports."""
    h = _headers()
    # tasks 5 and 10 are held out (every 5th task), the others train
    for k, (task, sample) in enumerate(zip([1, 2, 3, 5, 10, 7], grabcut, strict=True)):
        ev = _event("ANNOTATION_CREATED", 100 + k, task, NAMES[k], [_brush(sample.gt)])
        assert served.post("/webhook", json=ev, headers=h).json()["status"] == "stored"
    learner = served.learner
    assert len(learner.store.records("heldout")) == 2 and len(learner.store.records("train")) == 4
    # one replay set, distilled towards v0 (the teacher path too)
    object.__setattr__(learner, "settings", LearnSettings(steps=2, batch=2, crop=64, noi_max=2, replay=("ECSSD",),
                                                          replay_objects=1, min_heldout=1, distill=0.5))
    r = served.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 3}}, headers=h).json()
    assert r["status"] == "training"
    learner.wait(600)
    v1 = learner.versions[-1]
    assert v1.version == "v1" and v1.annotations == 4 and v1.heldout["objects"] == 2, learner.message
    assert (learner.root / v1.checkpoint).is_file() and interseg.load_predictor(str(learner.root / v1.checkpoint))
    log = next((learner.root / "runs" / "team").glob("*_v1/train.log")).read_text()
    assert "(effnet_lite0) on ECSSD samples" in log, log[-2000:]
    # the default fine-tunes the decoder, input encoders and heads only (--learn-freeze backbone)
    w0 = load_checkpoint(learner.root / "versions" / "v0.safetensors")[0].state_dict()
    w1 = load_checkpoint(learner.root / v1.checkpoint)[0].state_dict()
    assert all(torch.equal(w0[k], w1[k]) for k in w0 if k.startswith("backbone."))
    assert any(not torch.equal(w0[k], w1[k]) for k in w0 if not k.startswith("backbone."))
    # ... and the version is v0 moved 0.7 of the way to the fine-tuned weights (--learn-mix)
    result = json.loads((learner.root / "runs" / "v1.result.json").read_text())
    wt = load_checkpoint(Path(result["checkpoint"]).with_name("last.safetensors"))[0].state_dict()
    changed = [k for k in w0 if w0[k].is_floating_point() and not torch.equal(w0[k], wt[k])]
    assert changed and all(torch.allclose(w1[k], w0[k] + 0.7 * (wt[k] - w0[k]), atol=1e-6) for k in changed)
    health = served.get("/health").json()
    assert health["learning"]["versions"][-1]["reason"] == v1.reason
    expected = "interseg-interseg_lite0-v1" if v1.accepted else "interseg-interseg_lite0-v0"
    assert health["model_version"] == expected
    # the rule decides: a result that is better swaps at once
    served.app.state.server.engine.generation = "before"
    learner._finish("v2", learner.current, {"checkpoint": str(_copy(learner.root / v1.checkpoint)),
                                            "before": {"objects": 5, "noi85": 3.0, "noi90": 4.0},
                                            "after": {"objects": 5, "noi85": 2.0, "noi90": 3.0},
                                            "annotations": 4, "cpu_seconds": 1.0}, 4)
    assert served.get("/health").json()["model_version"] == "interseg-interseg_lite0-v2"
    assert served.app.state.server.engine.generation == "interseg-interseg_lite0-v2"
    versions = json.loads((learner.root / "versions.json").read_text())
    assert [v["version"] for v in versions] == ["v0", "v1", "v2"] and versions[-1]["accepted"]
    # a restart serves the latest accepted version
    base = interseg.load_predictor()
    restarted = Learner(learner.root, base, learner.cfg, LearnSettings(replay=()))
    assert restarted.current.version == "v2"
    assert restarted.served(base).weights_hash == learner.predictor_of(learner.versions[-1]).weights_hash
    # --model-version pins (a rollback): served, and no round swaps it
    pinned = restarted.pin("v1")
    assert pinned.weights_hash == learner.predictor_of(learner.versions[1]).weights_hash
    assert restarted.pinned and restarted.model_version == "interseg-interseg_lite0-v1"
    with pytest.raises(interseg.IntersegError, match=r"no model version 'v9' .* \(versions: v0, v1, v2\)"):
        restarted.pin("v9")
    assert main(["models", "list", "--learn", str(learner.root)]) == 0
    listed = capsys.readouterr().out.split("learned versions in")[1]
    assert "v2" in listed and "2.00 / 3.00 (5)" in listed and "swapped: held-out NoI@90 4.00 → 3.00" in listed


def _copy(path):
    import shutil

    dst = path.with_name("copy.safetensors")
    shutil.copy(path, dst)
    return dst


def _click(served, project, sample, name):
    h, w = sample.gt.shape
    ys, xs = np.nonzero(sample.gt)
    region = {"id": "k", "type": "keypointlabels", "from_name": "kp", "to_name": "image", "original_width": w,
              "original_height": h, "is_positive": True,
              "value": {"x": 100 * float(np.median(xs)) / w, "y": 100 * float(np.median(ys)) / h, "width": 1,
                        "keypointlabels": ["Garment"]}}
    r = served.post("/predict", headers=_headers(), json={
        "tasks": [{"id": 1, "data": {"image": f"/data/upload/{name}.jpg"}}], "project": project,
        "label_config": CONFIG, "params": {"context": {"result": [region]}}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["results"][0]["result"] and body["results"][0]["model_version"] == body["model_version"]
    return body["model_version"]


def test_a_version_that_forgets_is_served_to_the_team_project_only(served, grabcut, cfg, capsys):
    """Better for the team but forgetting what the model knew: project 3 (whose annotations it learned)
    gets it, every other project and the plain API keep the base; a restart keeps the split; forgetting
    is judged against the model the server started with (v0), so that small losses cannot add up."""
    h = _headers()
    for k, task in enumerate((1, 2)):
        ev = _event("ANNOTATION_CREATED", 200 + k, task, NAMES[k], [_brush(grabcut[k].gt)])
        assert served.post("/webhook", json=ev, headers=h).json()["status"] == "stored"
    learner, server = served.learner, served.app.state.server
    assert {r["project"] for r in learner.store.records()} == {"3"}
    v0 = learner.root / "versions" / "v0.safetensors"

    def finish(version, replay_after, projects=("3",)):
        learner._finish(version, learner.current, {
            "checkpoint": str(_copy(v0)), "before": {"objects": 5, "noi85": 3.0, "noi90": 4.0},
            "after": {"objects": 5, "noi85": 2.0, "noi90": 3.0},
            "replay_before": {"objects": 20, "noi85": 2.0, "noi90": learner.current.replay_heldout.get("noi90", 2.0)},
            "replay_after": {"objects": 20, "noi85": 2.0, "noi90": replay_after}, "annotations": 2,
            "projects": list(projects), "cpu_seconds": 1.0}, 2)
        return learner.versions[-1]

    v1 = finish("v1", 3.0)     # the replay sets' NoI@90 2.00 → 3.00: it forgets
    assert v1.accepted and v1.scope == "team" and v1.projects == ["3"] and "team's projects only" in v1.reason
    base, team = "interseg-interseg_lite0-v0", "interseg-interseg_lite0-v1"
    assert served.post("/setup", json={"project": "3.17", "schema": CONFIG}, headers=h).json()["model_version"] == team
    assert served.post("/setup", json={"project": "8.17", "schema": CONFIG}, headers=h).json()["model_version"] == base
    assert _click(served, "3.17", grabcut[2], NAMES[2]) == team
    assert _click(served, "8.17", grabcut[2], NAMES[2]) == base
    health = served.get("/health").json()
    assert health["model_version"] == base
    assert health["learning"]["team_version"] == "v1" and health["learning"]["team_projects"] == ["3"]
    assert server.model_for(None)[1] == base                  # the plain API
    # a restart serves the same split
    restarted = create_app(interseg.load_predictor(), ServeSettings(),
                           Learner(learner.root, interseg.load_predictor(), cfg, LearnSettings(replay=())))
    assert restarted.state.server.model_for("3")[1] == team and restarted.state.server.model_for("8")[1] == base
    # a round from v1 that is better than v1 on the replay sets but still forgets against v0's 2.00: team only
    v2 = finish("v2", 2.9)
    assert v2.scope == "team" and "replay held-out NoI@90 2.00 → 2.90" in v2.reason
    assert server.model_for("3")[1].endswith("-v2") and server.model_for("8")[1] == base
    # one that forgets nothing is served to everyone
    v3 = finish("v3", 2.1)
    assert v3.accepted and v3.scope == "all" and server.team is None
    assert server.model_for("3")[1] == server.model_for("8")[1] == "interseg-interseg_lite0-v3"
    assert main(["models", "list", "--learn", str(learner.root)]) == 0
    listed = capsys.readouterr().out.split("learned versions in")[1]
    assert "served to project(s) 3 only" in listed
    # a version that forgets, learned from annotations of no known project: there is no one to serve it to
    v4 = finish("v4", 3.0, projects=())
    assert not v4.accepted and "name no Label Studio project" in v4.reason and server.team is None
    # rounds that each forget a little cannot add up: from v3 (2.10), 2.35 is +0.25 on v3 but +0.35 on v0
    v5 = finish("v5", 2.35)
    assert v5.scope == "team" and "replay held-out NoI@90 2.00 → 2.35" in v5.reason
    assert server.model_for("3")[1].endswith("-v5") and server.model_for("8")[1].endswith("-v3")
