"""`interseg evaluate` end to end on real GrabCut objects with the GrabCut baseline."""

import json

import numpy as np
import pytest
from PIL import Image

from interseg.cli import main
from interseg.errors import ConfigError
from interseg.evaluation.benchmark import run_benchmark
from interseg.evaluation.protocol import EvalSettings
from interseg.inference.grabcut import GrabCutPredictor

from .conftest import require_data


def _run(cfg, *args):
    return main(["--config", str(cfg.source), "evaluate", "--baseline", "grabcut", "--workers", "1", *args])


def test_noi_mode_writes_reports(cfg, tmp_path, capsys):
    require_data("GrabCut")
    out = tmp_path / "noi"
    assert _run(cfg, "--datasets", "GrabCut", "--noi", "--limit", "2", "--input-types", "point,stroke",
                "--output", str(out), "--vis-preds") == 0
    printed = capsys.readouterr().out
    assert "NoI@85" in printed and "NoI@90" in printed and "NoI@95" in printed and ">=20@90" in printed
    res = json.loads((out / "results.json").read_text())
    rows = res["predictors"]["grabcut"]["GrabCut"]["noi"]
    assert set(rows) == {"point", "stroke"}
    for row in rows.values():
        assert 1 <= row["NoI@85"] <= row["NoI@90"] <= row["NoI@95"] <= 20
        assert row["objects"] == 2 and len(row["miou_curve"]) == 20
        t = row["timing"]
        assert t["spc"] > 0 and t["prediction"] > 0 and t["simulation"] > 0
    assert (out / "results.csv").read_text().startswith("predictor,dataset,input,NoI@85")
    assert (out / "miou_curves.png").stat().st_size > 1000
    assert len(list((out / "vis" / "grabcut" / "GrabCut").glob("*.png"))) == 4


def test_iou_mode_is_the_default_and_noi_switches(cfg, tmp_path):
    require_data("GrabCut")
    out = tmp_path / "iou"
    assert _run(cfg, "--datasets", "GrabCut", "--limit", "1", "--input-types", "point,contour",
                "--n-interactions", "4", "--boundary-iou", "--output", str(out)) == 0
    res = json.loads((out / "results.json").read_text())["predictors"]["grabcut"]["GrabCut"]
    assert "noi" not in res
    r = res["iou"]
    assert r["sequences"] == 8  # {point, contour}^3
    vals = np.array(list(r["per_sequence_iou"].values()))
    assert r["iou_mean"] == vals.mean() and abs(r["iou_std"] - vals.std()) < 1e-9
    assert 0 < r["biou_mean"] <= 100
    assert r["biou_mean"] < r["iou_mean"]  # boundaries are harder than areas
    assert set(r["per_sequence_iou"]) >= {"ppp", "ccc", "cpc"}


def test_resume_skips_done_records(cfg, tmp_path):
    require_data("GrabCut")
    out = tmp_path / "resume"
    args = ["--datasets", "GrabCut", "--noi", "--limit", "3", "--input-types", "point", "--output", str(out)]
    assert _run(cfg, *args) == 0
    rec_file = out / "records" / "grabcut" / "GrabCut.jsonl"
    lines = rec_file.read_text().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    first["ious"] = [0.123] * 20  # a marker: kept if not recomputed
    first["n"] = 20
    rec_file.write_text(json.dumps(first) + "\n" + lines[1] + "\n")  # and the third is "lost"
    assert _run(cfg, *args) == 0
    recs = [json.loads(x) for x in rec_file.read_text().splitlines()]
    assert len(recs) == 3
    assert recs[0]["ious"] == [0.123] * 20
    assert recs[2]["key"] == "2|point"
    res = json.loads((out / "results.json").read_text())
    assert res["predictors"]["grabcut"]["GrabCut"]["noi"]["point"][">=20@85"] >= 1


def test_resume_with_other_settings_is_refused(cfg, tmp_path, capsys):
    require_data("GrabCut")
    out = tmp_path / "x"
    assert _run(cfg, "--datasets", "GrabCut", "--noi", "--limit", "1", "--input-types", "point",
                "--max-interactions", "2", "--output", str(out)) == 0
    assert _run(cfg, "--datasets", "GrabCut", "--noi", "--limit", "1", "--input-types", "point",
                "--max-interactions", "3", "--output", str(out)) == 2
    assert "max_interactions" in capsys.readouterr().err


def test_records_of_another_predictor_with_the_same_name_are_refused(cfg, tmp_path):
    require_data("GrabCut")
    out = tmp_path / "fp"
    settings = EvalSettings(mode="noi", input_types=("point",), max_interactions=2, limit=1)
    run_benchmark({"grabcut": GrabCutPredictor()}, ["GrabCut"], cfg, settings, out, log=lambda *_: None)
    info = json.loads((out / "records" / "grabcut" / "predictor.json").read_text())
    assert info["fingerprint"] == GrabCutPredictor().fingerprint
    # the same predictor resumes; one with other parameters under the same name does not
    run_benchmark({"grabcut": GrabCutPredictor()}, ["GrabCut"], cfg, settings, out, log=lambda *_: None)
    with pytest.raises(ConfigError, match="another predictor named 'grabcut'.*delete that folder"):
        run_benchmark({"grabcut": GrabCutPredictor(iterations=1)}, ["GrabCut"], cfg, settings, out,
                      log=lambda *_: None)
    assert len((out / "records" / "grabcut" / "GrabCut.jsonl").read_text().splitlines()) == 1


def test_grabcut_baseline_does_not_depend_on_opencvs_global_random_state(grabcut_samples):
    """OpenCV's GrabCut seeds its colour models from OpenCV's global generator, whose state depends on
    earlier calls (in an evaluation: on which worker got which object). The baseline reseeds it, so
    its masks depend only on the image and the interactions (on this object, unseeded runs differ)."""
    import cv2

    from interseg.interactions.users import SimulatedUser

    s = grabcut_samples[0]
    click = SimulatedUser(0).next("point", s.gt, np.zeros_like(s.gt), s.ignore)
    predictor = GrabCutPredictor()
    masks = []
    for state in (0, 1, 2, 3):
        cv2.setRNGSeed(state)
        masks.append(predictor.predict(predictor.prepare(s.image), [click], np.zeros(s.gt.shape, np.float32)))
    assert 0.02 < masks[0].mean() < 0.5  # a real segmentation, not an empty or full mask
    assert all(np.array_equal(masks[0], m) for m in masks[1:])
    assert "rng_seed=0" in predictor.fingerprint  # records of the unseeded baseline are not reused


def test_bad_samples_are_skipped_and_counted(cfg, tmp_path, capsys):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        img = rng.integers(0, 60, (48, 64, 3), np.uint8)
        img[10:30, 10:40] = 220
        Image.fromarray(img).save(root / "images" / f"{k}.png")
        m = np.zeros((48, 64), np.uint8)
        m[10:30, 10:40] = 255
        Image.fromarray(m).save(root / "masks" / f"{k}.png")
    (root / "images" / "1.png").write_bytes(b"broken")
    out = tmp_path / "o"
    assert _run(cfg, "--datasets", f"folder:{root}", "--noi", "--input-types", "point",
                "--max-interactions", "3", "--output", str(out)) == 0
    printed = capsys.readouterr().out
    assert "1 of 3 samples skipped" in printed and "1.png" in printed
    res = json.loads((out / "results.json").read_text())["predictors"]["grabcut"]
    (ds,) = res.values()
    assert ds["objects"] == 2 and len(ds["skipped"]) == 1


def test_datasets_stats(cfg, capsys):
    require_data("DAVIS")
    assert main(["--config", str(cfg.source), "datasets", "stats", "DAVIS", "GrabCut"]) == 0
    out = capsys.readouterr().out
    assert "345" in out and "0.41" in out and "50" in out


def test_unknown_dataset_and_bad_types(cfg, capsys):
    assert _run(cfg, "--datasets", "Nope") == 2
    assert "unknown evaluation dataset 'Nope'" in capsys.readouterr().err
    assert _run(cfg, "--input-types", "tap") == 2
    assert "unknown input type 'tap'" in capsys.readouterr().err


def test_own_data_training_readers_folders_limits_and_subsets(tmp_path, monkeypatch, capsys):
    """--datasets ECSSD (a registered reader), folder:PATH finding ECSSD's own ground_truth_mask/, safe
    record file names, raising --limit extends the run, --subset random draws a seeded subset."""
    ecssd = require_data("ECSSD")
    monkeypatch.setenv("INTERSEG_DATA", str(ecssd.parent))
    out = tmp_path / "run"
    base = ["evaluate", "--baseline", "grabcut", "--noi", "--input-types", "point", "--max-interactions", "2",
            "--workers", "1", "--output", str(out)]
    assert main([*base, "--datasets", f"ECSSD,folder:{ecssd}", "--limit", "2"]) == 0
    records = sorted(p.name for p in (out / "records" / "grabcut").glob("*.jsonl"))
    assert records == ["ECSSD.jsonl", f"folder_{str(ecssd).strip('/').replace('/', '_')}.jsonl"]
    ecssd_lines = (out / "records" / "grabcut" / "ECSSD.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in ecssd_lines] == ["0|point", "1|point"]
    assert main([*base, "--datasets", "ECSSD", "--limit", "3"]) == 0        # extends, not refused
    lines = (out / "records" / "grabcut" / "ECSSD.jsonl").read_text().splitlines()
    assert lines[:2] == ecssd_lines and len(lines) == 3
    res = json.loads((out / "results.json").read_text())
    assert res["predictors"]["grabcut"]["ECSSD"]["objects"] == 3
    rand = tmp_path / "rand"
    assert main([*base[:-1], str(rand), "--datasets", "ECSSD", "--limit", "2", "--subset", "random"]) == 0
    lines = (rand / "records" / "grabcut" / "ECSSD.jsonl").read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    expected = sorted(np.random.default_rng(0).permutation(300)[:2].tolist())
    assert sorted(int(k.split("|")[0]) for k in keys) == expected and expected != [0, 1]


def test_stats_and_evaluate_agree_on_skipped_files_and_say_when_a_mask_is_missing(tmp_path, capsys):
    """A folder with a good pair, a corrupt image, a truncated JPEG, an empty mask and an image without
    a mask: `datasets stats` and `evaluate` count the same 3 skipped samples, and both report the image
    that has no mask instead of leaving it out silently."""
    import shutil

    src = require_data("GrabCut")
    d = tmp_path / "mine"
    (d / "images").mkdir(parents=True)
    (d / "masks").mkdir()
    gt = (np.asarray(Image.open(src / "boundary_GT" / "106024.bmp")) > 128).astype(np.uint8) * 255
    jpg = (src / "data_GT" / "106024.jpg").read_bytes()
    for name in ("good", "corrupt", "cut", "empty"):
        Image.fromarray(gt if name != "empty" else gt * 0).save(d / "masks" / f"{name}.png")
    shutil.copy(src / "data_GT" / "106024.jpg", d / "images" / "good.jpg")
    shutil.copy(src / "data_GT" / "106024.jpg", d / "images" / "empty.jpg")
    shutil.copy(src / "data_GT" / "106024.jpg", d / "images" / "lonely.jpg")      # no mask
    (d / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8not really a jpeg")
    (d / "images" / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    assert main(["datasets", "stats", f"folder:{d}"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split("|")
    assert [c.strip() for c in row[-2:]] == ["3", "1"]              # skipped, images without mask
    out = tmp_path / "run"
    assert main(["evaluate", "--baseline", "grabcut", "--datasets", f"folder:{d}", "--noi", "--input-types", "point",
                 "--max-interactions", "1", "--workers", "1", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 image(s) without a mask left out, e.g. lonely.jpg" in printed
    assert "3 of 4 samples skipped" in printed


class _Scripted:
    """A predictor whose probabilities are ``fn(image, interactions)``."""

    def __init__(self, name, fn):
        from interseg.inference.predictor import BasicOptions

        self.name = self.fingerprint = name
        self.options = BasicOptions()
        self.fn = fn

    def prepare(self, image):
        from interseg.inference.predictor import PredictorState

        return PredictorState(image)

    def predict(self, state, interactions, prev_prob=None):
        return self.fn(state.image, interactions)


def test_ignored_clicks_are_counted(tmp_path):
    """A click whose pixel ends on the wrong side of the mask it produced is counted as ignored: a model
    that never changes its (empty) mask ignores every positive click; the GrabCut baseline follows them."""
    deaf = _Scripted("deaf", lambda image, its: np.zeros(image.shape[:2], np.float32))

    from interseg.config import load_config

    cfg = load_config()
    cfg.GRABCUT_PATH = require_data("GrabCut")
    res = run_benchmark({"deaf": deaf, "grabcut": GrabCutPredictor()}, ["GrabCut"], cfg,
                        EvalSettings(mode="noi", input_types=("point",), max_interactions=3, limit=3),
                        tmp_path / "run", log=lambda *_: None)
    deaf = res["predictors"]["deaf"]["GrabCut"]["noi"]["point"]
    assert deaf["ignored_clicks"] == 1.0
    assert res["predictors"]["grabcut"]["GrabCut"]["noi"]["point"]["ignored_clicks"] < 0.34
    assert "ignored clicks" in (tmp_path / "run" / "table.md").read_text()


def test_first_run_is_quick_shows_progress_per_sequence_and_names_the_full_protocol(cfg, tmp_path, capsys):
    """`interseg evaluate` alone: single-type sequences on the bundled sample (the README's first command
    stays under 90 s on 2 cores), a progress bar counting sequences, and the full protocol one flag away."""
    out = tmp_path / "first"
    assert main(["--config", str(cfg.source), "evaluate", "--limit", "2", "--workers", "1", "--n-interactions", "2",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr()
    assert "protocol: IoU over 3 single-type sequences of 2 interactions" in printed.out
    assert "--schedule product" in printed.out
    assert "/6 [" in printed.err      # 2 objects x 3 sequences: the bar moves per sequence, with an ETA
    res = json.loads((out / "results.json").read_text())
    assert res["settings"]["schedule"] == "single"
    assert res["predictors"]["interseg_lite0"]["sample"]["iou"]["sequences"] == 3


def test_max_size_is_the_networks_and_sample_max_size_the_samples(cfg, tmp_path, capsys):
    """In evaluate, --max-size sets the network input as in every other command; --sample-max-size
    downscales the samples (the reference protocol's option), each with its own check."""
    out = tmp_path / "sizes"
    assert main(["--config", str(cfg.source), "evaluate", "--limit", "1", "--workers", "1", "--n-interactions", "1",
                 "--input-types", "point", "--max-size", "256", "--sample-max-size", "200",
                 "--output", str(out)]) == 0
    assert json.loads((out / "run.json").read_text())["settings"]["sample_max_size"] == 200
    fingerprint = json.loads((out / "records" / "interseg_lite0" / "predictor.json").read_text())["fingerprint"]
    assert "max_size=256" in fingerprint
    capsys.readouterr()
    assert main(["--config", str(cfg.source), "evaluate", "--sample-max-size", "8", "--output", str(out)]) == 2
    assert "--sample-max-size must be an integer >= 16, not 8" in capsys.readouterr().err
    assert main(["--config", str(cfg.source), "evaluate", "--max-size", "8", "--output", str(out)]) == 2
    assert "max_size must be an integer >= 32, not 8" in capsys.readouterr().err


def test_threshold_is_the_predictors_in_the_benchmark(cfg, tmp_path):
    """--thresh reaches the predictor (its fingerprint), not a setting of the run: two thresholds are two
    predictors, and the run's settings hold none."""
    out = tmp_path / "thresh"
    assert _run(cfg, "--datasets", "sample", "--limit", "1", "--n-interactions", "1", "--input-types", "point",
                "--thresh", "0.7", "--output", str(out)) == 0
    assert "prob_threshold" not in json.loads((out / "run.json").read_text())["settings"]
    fp = json.loads((out / "records" / "grabcut" / "predictor.json").read_text())["fingerprint"]
    assert "threshold=0.7" in fp


def test_harmful_interactions_are_counted(tmp_path):
    """A predictor that throws its mask away at the second click: that click lowers the IoU by more than
    0.2 (harmful, and the object is wrecked); the other steps do no harm."""
    import interseg
    from interseg.config import load_config

    cfg = load_config()
    cfg.GRABCUT_PATH = require_data("GrabCut")
    gt = interseg.open_dataset("GrabCut", cfg.GRABCUT_PATH)[0].gt
    half = gt.copy()
    half[: gt.shape[0] // 2] = False

    forgetful = _Scripted("forgetful", lambda image, its: np.zeros(gt.shape, np.float32) if len(its) == 2
                          else half.astype(np.float32))
    res = run_benchmark({"forgetful": forgetful}, ["GrabCut"], cfg,
                        EvalSettings(mode="noi", input_types=("point",), max_interactions=3, limit=1),
                        tmp_path / "run", log=lambda *_: None)
    row = res["predictors"]["forgetful"]["GrabCut"]["noi"]["point"]
    first = interseg.iou(gt, half)
    assert first > 0.2
    assert row["harmful"] == 0.5 and row["wrecked"] == 1 and abs(row["largest_drop"] - first) < 1e-5
    table = (tmp_path / "run" / "table.md").read_text()
    assert "harmful" in table and "50.00 %" in table
