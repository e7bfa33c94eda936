"""Dependencies by use: the base install runs the library, evaluate, predict and demo; serve, train and
onnx are extras (all = every one, dev = all + the test tools); a command whose extra is missing says in
one line what to install; the Dockerfile names only extras that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from interseg.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRA_DEPS = PYPROJECT["project"]["optional-dependencies"]

# a Python that cannot import the modules of the extras: what a base install is
BLOCKER = """
import sys, importlib.abc
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}} (blocked)")
sys.meta_path.insert(0, Block())
sys.argv = ["interseg", *{argv!r}]
from interseg.cli import main
raise SystemExit(main())
"""


def _base_install(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    blocked = sorted({m for mods in EXTRAS.values() for m in mods} | {"onnxruntime", "tensorboard"})
    return subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=blocked, argv=argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_extras_are_declared_by_use():
    assert set(EXTRAS) == {"serve", "train", "onnx"} <= set(EXTRA_DEPS)
    assert EXTRA_DEPS["all"] == ["interseg[serve,train,onnx]"]
    assert "interseg[all]" in EXTRA_DEPS["dev"]
    base = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for extra in EXTRAS:
        for dep in EXTRA_DEPS[extra]:
            name = re.split(r"[<>=\[ ]", dep)[0].lower()
            assert name not in base, f"{name} is in the base install and in the {extra} extra"


def test_dockerfile_installs_extras_that_exist():
    text = (ROOT / "Dockerfile").read_text()
    named = re.findall(r"pip install[^\n]*?\.\[([a-z,]+)\]", text)
    assert named, "the Dockerfile installs the package with an extra"
    for group in named:
        for extra in group.split(","):
            assert extra in EXTRA_DEPS, f"Dockerfile installs extra {extra!r}, which pyproject.toml lacks"


def test_base_install_runs_evaluate_and_predict(tmp_path, monkeypatch):
    from .conftest import DATA

    env_data = str(DATA)
    monkeypatch.setenv("INTERSEG_DATA", env_data)
    r = _base_install(["evaluate", "--limit", "1", "--n-interactions", "1", "--input-types", "point",
                       "--workers", "1", "--output", str(tmp_path / "ev")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "ev" / "results.json").is_file()
    from interseg.data.registry import SAMPLE_DIR

    image = next((SAMPLE_DIR / "img").glob("*.jpg"))
    r = _base_install(["predict", str(image), "--click", "100,100", "-o", str(tmp_path / "m.png")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "m.png").is_file()


@pytest.mark.parametrize("argv,extra", [
    (["serve"], "serve"),
    (["train", "lite0_cpu_multi", "--cpu"], "train"),
    (["export-onnx", "--checkpoint", "interseg_lite0", "-o", "m.onnx"], "onnx"),
    (["predict", "IMAGE", "--click", "100,100", "-o", "m.png", "--backend", "onnx"], "onnx"),
])
def test_a_missing_extra_is_one_line_naming_the_install(argv, extra, tmp_path):
    from interseg.data.registry import SAMPLE_DIR

    argv = [str(next((SAMPLE_DIR / "img").glob("*.jpg"))) if a == "IMAGE" else a for a in argv]
    r = _base_install(argv, tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"needs the '{extra}' extra" in lines[0] and f"pip install 'interseg[{extra}]'" in lines[0]


def test_extras_modules_are_importable_here():
    """The test command installs .[dev] (every extra): each module the extras promise is there."""
    import importlib

    for mods in EXTRAS.values():
        for m in mods:
            importlib.import_module(m)


@pytest.mark.parametrize("ci", [False, True])
def test_label_studio_env_is_optional_outside_ci(tmp_path, ci):
    """scripts/test.sh asks for Label Studio's environment with --optional: without a package index it
    prints no path (the end-to-end test is then skipped, saying why) and succeeds; in CI it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "CI"}
    env.update(INTERSEG_LS_VENV=str(tmp_path / "ls"), PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1", **({"CI": "true"} if ci else {}))
    r = subprocess.run(["bash", str(ROOT / "scripts" / "label_studio_env.sh"), "--optional"], env=env,
                       capture_output=True, text=True, timeout=300)
    if ci:
        assert r.returncode == 1 and "CI needs it" in r.stderr
    else:
        assert r.returncode == 0 and r.stdout == "" and "will be skipped" in r.stderr


def test_every_extra_the_docs_name_exists():
    """README and docs name extras (`pip install -e ".[serve]"`, "the `onnx` extra"): each one exists."""
    named = set()
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = doc.read_text()
        for group in re.findall(r"\.\[([a-z,]+)\]", text):
            named |= {(doc.name, e) for e in group.split(",")}
        named |= {(doc.name, e) for e in re.findall(r"the `([a-z]+)` extra", text)}
    assert {e for _, e in named} >= {"serve", "onnx"}
    for doc, extra in sorted(named):
        assert extra in EXTRA_DEPS, f"{doc} names the extra {extra!r}, which pyproject.toml lacks"


def test_no_module_imports_the_package_root():
    """The layers import downwards: nothing inside interseg imports the package root (its lazy public
    names are for users); the version comes from interseg/version.py."""
    import ast

    pkg = ROOT / "interseg"
    offenders = []
    for path in pkg.rglob("*.py"):
        if path == pkg / "__init__.py" or path.name == "__main__.py":
            continue
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1])
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                if target == "interseg":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name == "interseg" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"imports of the package root: {offenders}"
