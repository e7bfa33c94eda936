"""Command-line details: comma lists, mutually exclusive models, missing paths, unwritable outputs."""

from __future__ import annotations

import pytest

from interseg.cli import main
from interseg.commands.common import csv
from interseg.commands.train import parse_gpus
from interseg.errors import ConfigError

from .conftest import require_data


def test_comma_lists_ignore_spaces_and_empty_items():
    assert csv(" GrabCut, DAVIS,,") == ["GrabCut", "DAVIS"]
    assert csv(None) == []
    assert parse_gpus("0, 1") == ["0", "1"]
    with pytest.raises(ConfigError, match="expected comma-separated GPU numbers"):
        parse_gpus("0, cuda:1")


def test_demo_refuses_baseline_and_checkpoint_together(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")   # checked first; no window is opened on these errors
    image = require_data("GrabCut") / "data_GT" / "106024.jpg"
    assert main(["demo", str(image), "--baseline", "grabcut", "--checkpoint", "interseg_lite0"]) == 2
    assert "give either --baseline grabcut or --checkpoint interseg_lite0, not both" in capsys.readouterr().err
    assert main(["demo", str(tmp_path / "no_such_folder")]) == 2
    assert "no_such_folder: no such image or folder" in capsys.readouterr().err


def test_predict_checks_the_output_folder_before_predicting(tmp_path, capsys):
    image = require_data("GrabCut") / "data_GT" / "106024.jpg"
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["predict", str(image), "--click", "200,150", "-o", str(blocker / "mask.png")]) == 2
    assert "cannot create its folder" in capsys.readouterr().err
    assert main(["predict", str(image), "--click", "200,150", "--thresh", "1.5", "-o", str(tmp_path / "m.png")]) == 2
    assert "threshold must be a number between 0 and 1" in capsys.readouterr().err


def test_train_finds_packaged_recipe_by_name_and_refuses_unknown(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "lite0_cpu", "--cpu"]) == 2
    err = capsys.readouterr().err
    assert "lite0_cpu: no such recipe file, nor a packaged recipe" in err and "lite0_cpu_multi" in err
    assert main(["train", "lite0_cpu_multi", "--cpu", "--set", "TRAIN_SIZE=320"]) == 2
    assert "expected SECTION.KEY=VALUE" in capsys.readouterr().err
    assert main(["train", "lite0_cpu_multi", "--cpu", "--resume", "lite0_cpu_multi/000_x"]) == 2
    assert "--resume lite0_cpu_multi/000_x: no such experiment" in capsys.readouterr().err
