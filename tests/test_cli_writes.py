"""Write targets are checked before any work (evaluate, train), degenerate contours are refused, and the
ONNX backend exports once per weights."""

from __future__ import annotations

import pytest

import interseg
from interseg.cli import main

from .conftest import require_data


def test_unwritable_outputs_fail_at_once_with_one_line(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["evaluate", "--baseline", "grabcut", "--output", str(blocker / "run")]) == 2
    assert "cannot create its folder" in capsys.readouterr().err
    require_data("COCO_MVal_train")
    (tmp_path / "c.yml").write_text(f"EXPS_PATH: {blocker / 'exps'}\n")
    assert main(["train", "lite0_cpu_multi", "--cpu", "--config", str(tmp_path / "c.yml")]) == 2
    err = capsys.readouterr().err
    assert "cannot create its folder" in err and "Traceback" not in err


def test_degenerate_contours_are_refused():
    with pytest.raises(interseg.IntersegError, match="a contour needs at least 3 points"):
        interseg.Contour.from_points([(5, 5)])
    with pytest.raises(interseg.IntersegError, match="a contour needs at least 3 points"):
        interseg.Contour.from_points([(5, 5), (9, 9)])


def test_onnx_backend_exports_once_per_weights(tmp_path, monkeypatch):
    from interseg.models import onnx_export

    monkeypatch.setenv("INTERSEG_CACHE", str(tmp_path))
    calls = []
    real = onnx_export.export_onnx
    monkeypatch.setattr(onnx_export, "export_onnx", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = interseg.load_predictor(backend="onnx")
    second = interseg.load_predictor(backend="onnx")
    assert len(calls) == 1 and list((tmp_path / "onnx").glob("*.onnx")) == [
        tmp_path / "onnx" / f"{first.weights_hash}.onnx"]
    assert second.weights_hash == first.weights_hash
