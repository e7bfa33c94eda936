"""Atomic writes: a reader sees the old file or the whole new one; a failed write changes nothing."""

from __future__ import annotations

import pytest

from interseg.atomic import write_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    write_atomically(path, lambda p: p.write_text("old"))

    def half_then_fail(p):
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
    # the temporary keeps the suffix: writers that pick the format by the name still do
    seen = []
    assert write_atomically(tmp_path / "mask.png", lambda p: seen.append(p.suffix) or p.write_bytes(b"x")).is_file()
    assert seen == [".png"]
