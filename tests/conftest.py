from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "datasets").resolve()


LS_VENV = Path(os.environ.get("INTERSEG_LS_VENV", Path.home() / ".cache" / "interseg" / "ls-venv"))


def label_studio_tool(name: str) -> Path:
    """A program of Label Studio's own virtual environment (made by scripts/label_studio_env.sh, which the
    test command runs); skipped locally if absent, an error in CI."""
    path = LS_VENV / "bin" / name
    if not path.is_file():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{path}: Label Studio's environment is missing in CI (scripts/test.sh makes it)")
        pytest.skip("Label Studio is not installed (bash scripts/label_studio_env.sh)")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_data(name: str) -> Path:
    """Path of a real dataset; skipped locally if absent, an error in CI (where it must be present)."""
    path = DATA / name
    if not path.is_dir():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{path}: real benchmark data missing in CI")
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """The packaged default config with the datasets under ../shared/datasets and outputs in tmp."""
    from interseg.config import load_config

    monkeypatch.setenv("INTERSEG_DATA", str(DATA))
    text = (ROOT / "config.yml.default").read_text()
    text = text.replace("EXPS_PATH: ./experiments", f"EXPS_PATH: {tmp_path / 'experiments'}")
    p = tmp_path / "config.yml"
    p.write_text(text)
    return load_config(p)


@pytest.fixture(scope="session")
def grabcut_samples():
    from interseg.data.readers.grabcut import GrabCutDataset

    ds = GrabCutDataset(require_data("GrabCut"))
    return [ds[i] for i in (0, 7, 21, 33)]


def rng_masks(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(shape) > 0.5


def serve_folder(root: Path, redirects: dict[str, str] | None = None):
    """A plain HTTP server on 127.0.0.1 serving ``root`` (``.url``), recording each request's Authorization
    header (``.auth``); a path starting with a key of ``redirects`` answers 302 to its value."""
    import functools
    import http.server
    import threading

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            for prefix, target in (redirects or {}).items():
                if self.path.startswith(prefix):
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                    return
            self.server.auth.append(self.headers.get("Authorization"))
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    httpd.auth = []
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
