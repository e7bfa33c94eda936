import pytest

from interseg.config import load_config
from interseg.errors import ConfigError

from .conftest import ROOT


def _write(tmp_path, text):
    p = tmp_path / "config.yml"
    p.write_text(text)
    return p


def default_text():
    return (ROOT / "config.yml.default").read_text()


def test_default_config_loads_and_resolves_relative_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("INTERSEG_DATA", raising=False)
    cfg = load_config(_write(tmp_path, default_text()))
    assert tmp_path / "datasets" / "GrabCut" == cfg.GRABCUT_PATH
    # the training keys are unset: recipes decide unless a user's config.yml sets them
    assert cfg.MODEL.TRAIN_SIZE is None and cfg.MODEL.OPTIMIZER_TYPE is None
    assert cfg.SEGFORMER.LR_TYPE is None


def test_env_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERSEG_DATA", "/data/bench")
    cfg = load_config(_write(tmp_path, default_text()))
    assert str(cfg.DAVIS_PATH) == "/data/bench/DAVIS"


def test_misspelled_key_is_named_with_suggestion(tmp_path):
    p = _write(tmp_path, default_text().replace("GRABCUT_PATH:", "GRABCUT_PAHT:"))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "GRABCUT_PAHT" in msg and "did you mean 'GRABCUT_PATH'" in msg


def test_missing_key_takes_the_default(tmp_path):
    """A user's file needs only the keys it changes (the packaged default fills in the rest, resolved
    against the user's file's folder)."""
    text = "\n".join(line for line in default_text().splitlines() if not line.startswith("EXPS_PATH"))
    cfg = load_config(_write(tmp_path, text))
    assert tmp_path / "experiments" == cfg.EXPS_PATH


def test_nested_wrong_values(tmp_path):
    bad = default_text().replace("OPTIMIZER_TYPE: null", "OPTIMIZER_TYPE: lion")
    with pytest.raises(ConfigError, match=r"MODEL.OPTIMIZER_TYPE: 'lion' is not one of"):
        load_config(_write(tmp_path, bad))
    bad = default_text().replace("BATCH_SIZE: null", "BATCH_SIZE: many")
    with pytest.raises(ConfigError, match=r"MODEL.BATCH_SIZE: expected an integer"):
        load_config(_write(tmp_path, bad))
    bad = default_text().replace("WITH_AUX_HEAD: null", "WITH_AUX_HED: true")
    with pytest.raises(ConfigError, match=r"SEGFORMER.WITH_AUX_HED: unknown key"):
        load_config(_write(tmp_path, bad))


def test_malformed_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "EXPS_PATH: [unclosed"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yml")
