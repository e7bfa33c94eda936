"""The prepared training pool (`interseg datasets prepare`): same samples, same names, faster reads."""

import json

import numpy as np
import pytest
from PIL import Image

from interseg.data.prepared import PreparedDataset, prepare_dataset
from interseg.data.readers.folder import FolderDataset
from interseg.data.registry import build_train_dataset
from interseg.errors import DataError

from .conftest import require_data


def test_prepared_ecssd_matches_the_raw_reader(cfg, tmp_path):
    require_data("ECSSD")
    cfg.PREPARED_PATH = tmp_path / "prepared"
    raw = build_train_dataset("ECSSD", cfg)
    assert not isinstance(raw, PreparedDataset)
    index = prepare_dataset(build_train_dataset("ECSSD", cfg, raw=True), cfg.PREPARED_PATH / "ECSSD")
    assert len(index["samples"]) == len(raw) > 200 and index["skipped"] == []
    prepared = build_train_dataset("ECSSD", cfg)
    assert isinstance(prepared, PreparedDataset)
    assert [prepared.sample_name(i) for i in range(len(prepared))] == [raw.sample_name(i) for i in range(len(raw))]
    for i in (0, 57, len(raw) - 1):   # ECSSD's photos are 400 px wide: their JPEG bytes are kept as they are
        a, b = raw[i], prepared[i]
        assert np.array_equal(a.image, b.image) and np.array_equal(a.ignore, b.ignore)
        assert len(a.masks) == len(b.masks) and all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks, strict=True))
    # an index made from another folder is not used
    data = json.loads((cfg.PREPARED_PATH / "ECSSD" / "index.json").read_text())
    data["source"] = str(tmp_path / "elsewhere")
    (cfg.PREPARED_PATH / "ECSSD" / "index.json").write_text(json.dumps(data))
    assert not isinstance(build_train_dataset("ECSSD", cfg), PreparedDataset)


def test_large_images_are_capped_and_bad_files_named(tmp_path):
    root = tmp_path / "src"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (600, 900, 3), np.uint8)).save(root / "images" / "big.png")
    m = np.zeros((600, 900), np.uint8)
    m[100:400, 200:700] = 255
    Image.fromarray(m).save(root / "masks" / "big.png")
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).save(root / "images" / "empty.png")
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(root / "masks" / "empty.png")
    index = prepare_dataset(FolderDataset(root), tmp_path / "out", short_side=300)
    assert [n for n, _ in index["samples"]] == ["big"]
    assert len(index["skipped"]) == 1 and "empty" in index["skipped"][0]
    s = PreparedDataset(tmp_path / "out")[0]
    assert s.image.shape == (300, 450, 3) and s.masks[0].shape == (300, 450)
    assert s.masks[0][50:200, 100:350].all() and not s.masks[0][:45].any()
    (tmp_path / "out" / "000000.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="000000.npz.*prepare again"):
        PreparedDataset(tmp_path / "out")[0]
    with pytest.raises(DataError, match="not a prepared training set"):
        PreparedDataset(root)


def test_prepare_command(tmp_path, capsys, monkeypatch):
    from interseg.cli import main

    data = require_data("ECSSD").parent
    monkeypatch.setenv("INTERSEG_DATA", str(data))
    (tmp_path / "c.yml").write_text(f"PREPARED_PATH: {tmp_path / 'prep'}\nECSSD_PATH: {data / 'ECSSD'}\n")
    assert main(["datasets", "prepare", "ECSSD", "--config", str(tmp_path / "c.yml")]) == 0
    out = capsys.readouterr().out
    assert "ECSSD: 263 samples (0 unreadable, skipped)" in out and str(tmp_path / "prep" / "ECSSD") in out
    assert (tmp_path / "prep" / "ECSSD" / "index.json").is_file()
    assert main(["datasets", "prepare", "GrabCut", "--config", str(tmp_path / "c.yml")]) == 2
    assert "GrabCut: not a training set" in capsys.readouterr().err


def test_scaling_a_sample_up_is_smooth_and_keeps_the_object(grabcut_samples):
    s = grabcut_samples[0]
    big = s.scaled(854 / max(s.shape))
    assert max(big.shape) == 854 and big.gt.dtype == bool and big.gt.shape == big.shape == big.ignore.shape
    assert abs(big.gt.mean() - s.gt.mean()) < 0.01           # nearest-neighbour mask: same object share
    # bilinear when it grows: a step between neighbours is spread over two pixels, which halves the mean
    # squared difference of a pixel-repeating (blocky) copy
    double = s.scaled(2.0).image.astype(int)
    blocky = np.repeat(np.repeat(s.image, 2, axis=0), 2, axis=1).astype(int)
    assert double.shape == blocky.shape
    assert (np.diff(double, axis=1) ** 2).mean() < 0.8 * (np.diff(blocky, axis=1) ** 2).mean()
    assert s.scaled(0.5).shape == (round(s.shape[0] * 0.5), round(s.shape[1] * 0.5))
