"""The package as a reader installs it: ``pip install .`` into a fresh environment (nothing downloaded:
``--no-deps --no-build-isolation`` on top of this environment's packages), then ``softmax-lab --version``
and ``softmax-lab serve --server.port <free>`` started from an unrelated folder. The page must serve the
Train page with the project's own settings (the packaged config's theme and address), which only the
packaged ``dashboard/.streamlit/config.toml`` can give from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from .conftest import REPO_ROOT, free_port, wait_until_healthy
from .streamlit_client import BrowserLikeClient

PROJECT_COLOR = "#4C78A8"  # dashboard/.streamlit/config.toml's [theme] primaryColor
NOT_SHIPPED = shutil.ignore_patterns(".git", "__pycache__", "artifacts", "build", "*.egg-info", "*.db", ".venv")


class SessionClient(BrowserLikeClient):
    """A browser-like client that also keeps the server's new_session message (theme, page names)."""

    new_session = None

    def _remember(self, message: ForwardMsg) -> None:
        if message.WhichOneof("type") == "new_session":
            self.new_session = message.new_session
        super()._remember(message)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with softmax-lab installed from a copy of this checkout; returns its bin folder."""
    root = tmp_path_factory.mktemp("package")
    source = root / "source"  # pip builds in the tree: a copy keeps build/ and egg-info out of the checkout
    shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=NOT_SHIPPED)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    site = subprocess.run([str(root / "venv" / "bin" / "python"), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True)
    # this environment's packages (torch, streamlit, pip, setuptools) behind the venv's own
    Path(site.stdout.strip(), "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", str(source)], check=True, cwd=root)
    return root / "venv" / "bin"


def test_the_command_says_its_version(installed, tmp_path):
    from softmax_core import __version__

    done = subprocess.run([str(installed / "softmax-lab"), "--version"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"softmax-lab {__version__}"


def test_the_chinese_catalog_is_installed(installed, tmp_path):
    """The .po files ship with the package (compiled when read): the installed command speaks Chinese."""
    done = subprocess.run([str(installed / "softmax-lab"), "--help"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "在 Fashion-MNIST 上训练 softmax回归。" in done.stdout, done.stdout


def test_serve_starts_the_dashboard_with_the_project_settings_from_any_folder(installed, tmp_path, real_data_dir):
    port, elsewhere = free_port(), tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "SOFTMAX_LAB_DB": f"sqlite:///{tmp_path / 'runs.db'}", "SOFTMAX_LAB_DATA": str(real_data_dir),
           "PYTHONPATH": ""}  # nothing of the checkout: only what was installed
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen([str(installed / "softmax-lab"), "serve", "--server.port", str(port)],
                                  cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server)
        with SessionClient(url) as client:
            client.load()
            assert "Start" in client.widgets  # the Train page's form
            assert client.new_session.custom_theme.primary_color == PROJECT_COLOR
        assert "dashboard/app.py" in " ".join(Path(f"/proc/{server.pid}/cmdline").read_text().split("\0"))
        assert f"URL: http://127.0.0.1:{port}" in (tmp_path / "serve.log").read_text()  # server.address
    finally:
        server.terminate()
        server.wait(20)
