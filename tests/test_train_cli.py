"""`interseg train` as a user sees it: resume keeps the run's recorded settings, the console shows the
run folder, held-out IoU and checkpoint saves, a failed start leaves no folder, and checkpoints are as
readable as the run's other files."""

from __future__ import annotations

import stat

import yaml

from interseg.cli import main

from .conftest import require_data
from .test_training import TINY


def _train(cfg, recipe, *args):
    return main(["--config", str(cfg.source), "train", str(recipe), "--cpu", "--workers", "0", *args])


def test_resume_keeps_the_recorded_settings_and_the_console_shows_the_run(cfg, tmp_path, capsys):
    require_data("COCO_MVal_train")
    require_data("ECSSD")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY)     # EPOCHS 2, EPOCH_LEN 6, LR 0.001
    # the first start: 4 samples per epoch (2 iterations of 2), another LR; stopped after epoch 1
    assert _train(cfg, recipe, "--epoch-len", "4", "--set", "TRAIN.LR=0.002", "--max-iters", "2",
                  "--exp-name", "a") == 0
    out = capsys.readouterr().out
    run = cfg.EXPS_PATH / "tiny" / "000_a"
    assert out.startswith("interseg train tiny: reading COCO_MVal_train, ECSSD")
    assert f"run folder: {run}" in out
    assert "epoch 1/2: loss " in out and "held-out IoU click1 " in out
    assert f"saved {run / 'checkpoints' / 'last.safetensors'} (new best)" in out
    # resuming without the flags continues with them (the recipe file says 6 and 0.001)
    assert _train(cfg, recipe, "--resume", str(run)) == 0
    out = capsys.readouterr().out
    assert "epoch 2/2: loss " in out
    recorded = yaml.safe_load((run / "config.yaml").read_text())["TRAIN"]
    assert recorded["EPOCH_LEN"] == 4 and recorded["LR"] == 0.002
    # a flag that changes a recorded setting is refused with the reason; repeating one is fine
    assert _train(cfg, recipe, "--resume", str(run), "--epochs", "3") == 2
    err = capsys.readouterr().err
    assert "TRAIN.EPOCHS=3 differs from the run's recorded TRAIN.EPOCHS=2" in err and "Traceback" not in err
    other = tmp_path / "other.yaml"
    other.write_text(TINY)
    assert _train(cfg, other, "--resume", str(run)) == 2
    assert "is a run of recipe 'tiny', not 'other'" in capsys.readouterr().err
    # checkpoints: the mode of the run's other files (safetensors alone would write 0600)
    mode = stat.S_IMODE((run / "checkpoints" / "last.safetensors").stat().st_mode)
    assert mode == stat.S_IMODE((run / "config.yaml").stat().st_mode) and mode & stat.S_IROTH


def test_failed_start_leaves_no_folder_and_names_the_dataset_and_its_variable(cfg, tmp_path, capsys):
    recipe = tmp_path / "needs_duts.yaml"
    recipe.write_text(TINY.replace("[{NAME: COCO_MVal_train, WEIGHT: 1.0}, {NAME: ECSSD, WEIGHT: 1.0}]",
                                   "[{NAME: DUTS, WEIGHT: 1.0}]"))
    cfg_file = tmp_path / "missing.yml"
    cfg_file.write_text(f"EXPS_PATH: {tmp_path / 'exps'}\nDUTS_TR_PATH: {tmp_path / 'nowhere' / 'DUTS-TR'}\n"
                        f"COCO_MVAL_TRAIN_PATH: {tmp_path / 'nowhere' / 'COCO_MVal_train'}\n")
    assert main(["--config", str(cfg_file), "train", str(recipe), "--cpu"]) == 2
    err = capsys.readouterr().err
    assert "DUTS not found" in err and "INTERSEG_TRAIN_DATA" in err and "DUTS_TR_PATH" in err
    assert not (tmp_path / "exps").exists()
    # the name of the set, not of the reader it shares (COCO_MVal_train is read as COCO MVal)
    assert main(["--config", str(cfg_file), "train", str(recipe), "--cpu",
                 "--set", "TRAIN.DATASETS=[{NAME: COCO_MVal_train, WEIGHT: 1.0}]"]) == 2
    err = capsys.readouterr().err
    assert "COCO_MVal_train not found" in err and "$INTERSEG_DATA/COCO_MVal_train" in err
    assert not (tmp_path / "exps").exists()
