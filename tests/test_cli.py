"""Command-line details: comma lists, mutually exclusive models, missing paths, unwritable outputs."""

from __future__ import annotations

import numpy as np
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


def test_negative_click_gets_our_message_not_argparse(capsys):
    image = require_data("GrabCut") / "data_GT" / "106024.jpg"
    assert main(["predict", str(image), "--click", "-5,10", "-o", "/tmp/never.png"]) == 2
    assert "click (-5.0, 10.0) is outside the 481x321 image" in capsys.readouterr().err
    assert main(["predict", str(image), "--click", "nan,10", "-o", "/tmp/never.png"]) == 2
    assert "not a finite number" in capsys.readouterr().err


def test_masks_are_one_channel_png_and_lossy_names_are_refused(tmp_path, capsys):
    import cv2

    image = require_data("GrabCut") / "data_GT" / "106024.jpg"
    assert main(["predict", str(image), "--click", "240,170", "-o", str(tmp_path / "m.jpg")]) == 2
    assert "1-channel PNG (lossless); use a .png name" in capsys.readouterr().err
    assert not (tmp_path / "m.jpg").exists()
    assert main(["predict", str(image), "--click", "240,170", "-o", str(tmp_path / "m.png")]) == 0
    m = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_UNCHANGED)
    assert m.ndim == 2 and set(np.unique(m)) == {0, 255}


def test_config_after_the_command_and_partial_config_files(tmp_path, capsys, monkeypatch):
    from interseg.config import load_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "my.yml").write_text(f"EXPS_PATH: {tmp_path / 'exps'}\n")   # one key; the rest: defaults
    cfg = load_config(tmp_path / "my.yml")
    assert tmp_path / "exps" == cfg.EXPS_PATH and cfg.GRABCUT_PATH.name == "GrabCut"
    (tmp_path / "bad.yml").write_text("GRABCUT_PAHT: x\n")
    assert main(["datasets", "stats", "GrabCut", "--config", str(tmp_path / "bad.yml")]) == 2
    assert "bad.yml:GRABCUT_PAHT: unknown key (did you mean 'GRABCUT_PATH'?)" in capsys.readouterr().err


def test_limit_must_be_positive(capsys):
    for bad in ("0", "-1"):
        assert main(["evaluate", "--limit", bad, "--output", "/tmp/never"]) == 2
        assert "--limit must be at least 1" in capsys.readouterr().err


def test_refused_pickle_on_resume_is_one_clear_line(cfg, tmp_path):

    import torch

    from interseg.errors import CheckpointError
    from interseg.models.checkpoint import save_checkpoint
    from interseg.models.network import ArchConfig, IntersegNet
    from interseg.training.recipe import load_recipe
    from interseg.training.trainer import Trainer, TrainOptions

    require_data("COCO_MVal_train")
    exp = tmp_path / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text("MODEL: {BACKBONE: effnet_lite0, IMAGENET_PRETRAINED: false, DECODER_WIDTH: 16}\n")
    save_checkpoint(exp / "checkpoints" / "last.safetensors", IntersegNet(ArchConfig(decoder_width=16)))

    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    torch.save({"optimizer": Evil()}, exp / "checkpoints" / "last.state.pt")
    with pytest.raises(CheckpointError) as e:
        Trainer(load_recipe(recipe_file), cfg, TrainOptions(workers=0, resume=exp))
    msg = str(e.value)
    assert "refused: it holds Python objects besides tensors" in msg and "\n" not in msg
    assert "weights_only" not in msg


@pytest.mark.parametrize("ratio,warned", [(0.6, True), (1.8, False)])
def test_bf16_on_a_cpu_where_it_is_slower_is_pointed_out(tmp_path, capsys, monkeypatch, ratio, warned):
    import interseg.models.bf16_probe as probe

    monkeypatch.setattr(probe, "bf16_conv_speedup", lambda: ratio)
    image = require_data("GrabCut") / "data_GT" / "106024.jpg"
    out = tmp_path / "m.png"
    assert main(["predict", str(image), "--click", "200,150", "--bf16", "--cpu", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("--bf16: bfloat16 convolutions are 1.7x slower than float32 on this CPU" in err) is warned
    assert out.is_file()
