"""The seed's config.yml training keys act: each one set in config.yml changes what training does,
the command line wins over it, and the effective values are printed and stored in the checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interseg.config import load_config
from interseg.errors import ConfigError
from interseg.models.checkpoint import read_metadata, save_checkpoint
from interseg.models.network import ArchConfig, IntersegNet
from interseg.training.data import collate
from interseg.training.recipe import load_recipe, packaged_recipes, parse_override, resolve_recipe
from interseg.training.trainer import Trainer, TrainOptions

from .conftest import DATA, ROOT, require_data

RECIPE = """
MODEL:
  BACKBONE: {backbone}
  BATCH_SIZE: 2
  TRAIN_SIZE: 64
  IMAGENET_PRETRAINED: false
  DECODER_WIDTH: 16
TRAIN:
  DATASETS: [{{NAME: COCO_MVal_train, WEIGHT: 1.0}}]
  EPOCHS: 1
  EPOCH_LEN: 4
  LR_TYPE: cosine
  MAX_ITERATIVE_STEPS: 0
  VAL_FRACTION: 0.02
"""


def _setup(tmp_path, monkeypatch, section: str, key: str, value: str, backbone: str = "effnet_lite0"):
    """A config.yml that sets one key, and a recipe that leaves it at the recipe's default."""
    require_data("COCO_MVal_train")
    monkeypatch.setenv("INTERSEG_DATA", str(DATA))
    text = (ROOT / "config.yml.default").read_text().replace("EXPS_PATH: ./experiments",
                                                              f"EXPS_PATH: {tmp_path / 'exps'}")
    if key:
        before = f"  {key}: null"
        assert before in text
        text = text.replace(before, f"  {key}: {value}")
    (tmp_path / "config.yml").write_text(text)
    (tmp_path / "r.yaml").write_text(RECIPE.format(backbone=backbone))
    cfg = load_config(tmp_path / "config.yml")
    return cfg, load_recipe(tmp_path / "r.yaml", cfg)


def _trainer(tmp_path, monkeypatch, section, key, value, backbone="effnet_lite0"):
    cfg, recipe = _setup(tmp_path, monkeypatch, section, key, value, backbone)
    if key:
        assert recipe.sources[f"{section}.{key}"] == f"config {tmp_path / 'config.yml'}"
    return Trainer(recipe, cfg, TrainOptions(workers=0))


def _batch(tr):
    return next(iter(torch.utils.data.DataLoader(tr.stream, batch_size=tr.batch, collate_fn=collate)))


# key, value in config.yml, what the trainer does with the default, what it does with the value
CASES = [
    ("MODEL", "OPTIMIZER_TYPE", "sgd", lambda t: type(t.opt).__name__, "AdamW", "SGD"),
    ("MODEL", "BATCH_SIZE", "3", lambda t: t.batch, 2, 3),
    ("MODEL", "TRAIN_SIZE", "96", lambda t: tuple(_batch(t)["image"].shape[2:]), (64, 64), (96, 96)),
    ("MODEL", "INPUT_TYPE", "contour", lambda t: t.net.arch.input_types, ("point", "contour", "stroke"),
     ("contour",)),
    ("MODEL", "ACCUMULATE_MULTI_INPUT", "true", lambda t: t.net.arch.accumulate_multi_input, False, True),
    ("MODEL", "CONTOUR_FILLED", "false", lambda t: t.net.arch.contour_filled, True, False),
    ("MODEL", "WITH_FORCE_POINTS_LOSS", "false",
     lambda t: "points" in t.train_step(_batch(t), np.random.default_rng(0)), True, False),
]


@pytest.mark.parametrize(("section", "key", "value", "probe", "default", "changed"), CASES,
                         ids=[c[1] for c in CASES])
def test_each_model_key_in_config_changes_training(tmp_path, monkeypatch, section, key, value, probe, default,
                                                   changed):
    assert probe(_trainer(tmp_path, monkeypatch, section, "", "")) == default
    assert probe(_trainer(tmp_path, monkeypatch, section, key, value)) == changed


def test_pretrained_path_in_config_starts_from_those_weights(tmp_path, monkeypatch):
    torch.manual_seed(5)
    start = IntersegNet(ArchConfig("effnet_lite0", decoder_width=16))
    path = save_checkpoint(tmp_path / "start.safetensors", start, {"trained": True})
    fresh = _trainer(tmp_path, monkeypatch, "MODEL", "", "")
    tr = _trainer(tmp_path, monkeypatch, "MODEL", "PRETRAINED_PATH", str(path))
    w = "head.cls.weight"
    assert torch.equal(tr.net.state_dict()[w], start.state_dict()[w])
    assert not torch.equal(fresh.net.state_dict()[w], start.state_dict()[w])
    assert tr.init_note == f"weights from {path}"


def test_segformer_keys_in_config_change_segformer_training(tmp_path, monkeypatch):
    plain = _trainer(tmp_path, monkeypatch, "SEGFORMER", "", "", "mit_b0")
    no_aux = _trainer(tmp_path, monkeypatch, "SEGFORMER", "WITH_AUX_HEAD", "false", "mit_b0")
    assert plain.net.aux is not None and no_aux.net.aux is None
    step = _trainer(tmp_path, monkeypatch, "SEGFORMER", "LR_TYPE", "step", "mit_b0")
    assert (plain.recipe.lr_type, step.recipe.lr_type) == ("linear", "step")
    lrs = []
    for tr in (plain, step):
        for _ in range(2):
            tr.opt.step()
            tr.sched.step()
        lrs.append(tr.opt.param_groups[0]["lr"])
    assert lrs[0] != lrs[1]
    # the SEGFORMER section leaves other backbones alone (their schedule is TRAIN.LR_TYPE)
    eff = _trainer(tmp_path, monkeypatch, "SEGFORMER", "LR_TYPE", "step")
    assert eff.recipe.lr_type == "cosine"


def test_command_line_wins_over_config_and_recipe(tmp_path, monkeypatch):
    cfg, _ = _setup(tmp_path, monkeypatch, "MODEL", "BATCH_SIZE", "3")
    recipe = load_recipe(tmp_path / "r.yaml", cfg, dict([parse_override("MODEL.BATCH_SIZE=5")]))
    assert recipe.MODEL.BATCH_SIZE == 5 and recipe.sources["MODEL.BATCH_SIZE"] == "command line"
    assert recipe.MODEL.TRAIN_SIZE == 64 and recipe.sources["MODEL.TRAIN_SIZE"] == "recipe"
    settings = recipe.seed_settings()
    assert settings["MODEL.OPTIMIZER_TYPE"] == {"value": "adamw", "source": "default"}
    with pytest.raises(ConfigError, match="expected SECTION.KEY=VALUE"):
        parse_override("BATCH_SIZE=5")
    with pytest.raises(ConfigError, match=r"command line's settings\):MODEL.BATCH_SIZE: expected an integer"):
        load_recipe(tmp_path / "r.yaml", cfg, {"MODEL.BATCH_SIZE": "many"})
    with pytest.raises(ConfigError, match="MODEL.BATCH_SZE: unknown key .did you mean 'BATCH_SIZE'"):
        load_recipe(tmp_path / "r.yaml", cfg, {"MODEL.BATCH_SZE": 4})


def test_effective_settings_are_printed_and_stored(tmp_path, monkeypatch, capsys):
    tr = _trainer(tmp_path, monkeypatch, "MODEL", "OPTIMIZER_TYPE", "adam")
    exp = tr.run()
    out = capsys.readouterr().out
    assert "MODEL.OPTIMIZER_TYPE='adam' (config " in out and "MODEL.TRAIN_SIZE=64 (recipe)" in out
    _, meta = read_metadata(exp / "checkpoints" / "last.safetensors")
    assert meta["settings"]["MODEL.OPTIMIZER_TYPE"]["value"] == "adam"
    assert meta["settings"]["SEGFORMER.LR_TYPE"] == {"value": "linear", "source": "default"}


def test_config_rejects_bad_training_values(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"MODEL.OPTIMIZER_TYPE: 'rmsprop' is not one of"):
        _setup(tmp_path, monkeypatch, "MODEL", "OPTIMIZER_TYPE", "rmsprop")
    with pytest.raises(ConfigError, match="TRAIN_SIZE must be a multiple of 32"):
        _setup(tmp_path, monkeypatch, "MODEL", "TRAIN_SIZE", "100")


def test_packaged_recipes_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "lite0_cpu_multi" in packaged_recipes()
    assert resolve_recipe("lite0_cpu_multi").name == "lite0_cpu_multi.yaml"
    assert load_recipe("lite0_cpu_multi").MODEL.TRAIN_SIZE == 256
    with pytest.raises(ConfigError, match="no such recipe file, nor a packaged recipe .packaged: hrnet18"):
        resolve_recipe("lite0_cpu")


def test_recipe_base_gives_the_keys_a_recipe_does_not_set(tmp_path):
    """``BASE``: a packaged name or a file beside the recipe; sections merge key by key (an empty one keeps
    the base's), a list is replaced whole, the child's keys win, and the recipe keeps its own name."""
    (tmp_path / "parent.yaml").write_text("BASE: lite2_pool_s1\nMODEL:\n  TRAIN_SIZE: 384\n"
                                          "TRAIN:\n  DATASETS:\n    - {NAME: DUTS, WEIGHT: 1.0}\n")
    (tmp_path / "child.yaml").write_text("BASE: parent.yaml\nMODEL:\nTRAIN:\n  EPOCHS: 2\n")
    packaged = load_recipe("lite2_pool_s1")
    child = load_recipe(tmp_path / "child.yaml")
    assert child.name == "child"
    assert (child.MODEL.TRAIN_SIZE, child.TRAIN.EPOCHS) == (384, 2)
    assert [d.NAME for d in child.TRAIN.DATASETS] == ["DUTS"]
    assert child.MODEL.BACKBONE == packaged.MODEL.BACKBONE == "effnet_lite2"
    assert child.TRAIN.LR == packaged.TRAIN.LR and child.TRAIN.SEED == packaged.TRAIN.SEED
    assert child.sources["TRAIN.LR"] == "recipe"
    # the packaged stage 2 names stage 1 as its base: stage 1's pool and levers, its own crop and schedule
    s2 = load_recipe("lite2_pool_s2")
    assert s2.TRAIN.DATASETS == packaged.TRAIN.DATASETS and s2.TRAIN.SHORT_STROKE_PROB == 0.4
    assert (s2.MODEL.TRAIN_SIZE, s2.MODEL.PRETRAINED_PATH) == (320, "checkpoints/lite2_pool_s1.safetensors")


@pytest.mark.parametrize("base,msg", [
    ("nowhere", r"a.yaml: BASE: nowhere: no such recipe file"),
    ("a.yaml", r"a.yaml: BASE: the chain of base recipes loops \(a → a\)"),
    ("b.yaml", r"b.yaml: BASE: the chain of base recipes loops \(a → b → a\)"),
    ("[1, 2]", r"a.yaml: BASE: expected the name of a packaged recipe or a recipe file, got \[1, 2\]"),
])
def test_recipe_base_errors_name_the_file(tmp_path, base, msg):
    (tmp_path / "a.yaml").write_text(f"BASE: {base}\nTRAIN:\n  EPOCHS: 2\n")
    (tmp_path / "b.yaml").write_text("BASE: a.yaml\n")
    with pytest.raises(ConfigError, match=msg):
        load_recipe(tmp_path / "a.yaml")
