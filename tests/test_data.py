"""data.py: the real files load once; every way of not having them gives an actionable DataError."""

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
import torch

from softmax_core.book import data as data_module
from softmax_core.book.data import (
    DATA_ENV_VAR,
    FILE_MD5S,
    DataError,
    ensure_files,
    load_fashion_mnist,
    resolve_data_dir,
)


def test_real_data_has_the_books_shapes_and_scale(fashion_mnist):
    assert fashion_mnist.train_images.shape == (60000, 784)
    assert fashion_mnist.test_images.shape == (10000, 784)
    assert fashion_mnist.train_images.dtype == torch.float32
    assert 0.0 == float(fashion_mnist.train_images.min()) and float(fashion_mnist.train_images.max()) == 1.0
    assert torch.equal(torch.bincount(fashion_mnist.train_labels), torch.full((10,), 6000))
    assert torch.equal(torch.bincount(fashion_mnist.test_labels), torch.full((10,), 1000))


def test_loaded_once_per_process_and_shared(fashion_mnist, real_data_dir):
    again = load_fashion_mnist(real_data_dir, download=False)
    assert again is fashion_mnist
    assert again.train_images.data_ptr() == fashion_mnist.train_images.data_ptr()


def test_folder_comes_from_argument_then_environment_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "from-arg") == tmp_path / "from-arg"
    assert resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv(DATA_ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_data_dir() == tmp_path / "cache" / "softmax-lab" / "fashion-mnist"


def test_missing_files_offline_names_all_four_and_the_folder(tmp_path):
    with pytest.raises(DataError) as caught:
        load_fashion_mnist(tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path) in message and DATA_ENV_VAR in message
    assert all(name in message for name in FILE_MD5S)


def test_failed_download_says_what_to_put_where(tmp_path):
    closed_port_mirror = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    with pytest.raises(DataError) as caught:
        ensure_files(tmp_path, mirrors=[closed_port_mirror])
    message = str(caught.value)
    assert "could not download train-images-idx3-ubyte.gz" in message
    assert "Offline?" in message and str(tmp_path) in message
    assert not list(tmp_path.glob("*.gz")), "no half-downloaded file may be left under the real name"


def test_download_from_a_mirror_reports_progress_and_verifies(tmp_path, real_data_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(real_data_dir))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    progress = []
    try:
        mirror = f"http://127.0.0.1:{server.server_address[1]}/"
        ensure_files(tmp_path / "new", mirrors=[mirror], progress=lambda *p: progress.append(p))
    finally:
        server.shutdown()
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted(FILE_MD5S)
    finals = {name: (done, total) for name, done, total in progress}
    assert finals["train-images-idx3-ubyte.gz"] == (26421880, 26421880)
    assert len([p for p in progress if p[0] == "train-images-idx3-ubyte.gz"]) > 10


def copy_real_files(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in FILE_MD5S:
        shutil.copy(source / name, target / name)
    return target


def test_truncated_file_is_named_with_its_md5(tmp_path, real_data_dir):
    folder = copy_real_files(real_data_dir, tmp_path / "copy")
    damaged = folder / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    with pytest.raises(DataError) as caught:
        load_fashion_mnist(folder, download=False)
    message = str(caught.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and "corrupted or truncated" in message
    assert FILE_MD5S["t10k-labels-idx1-ubyte.gz"] in message


def test_a_file_where_the_folder_should_be(tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("oops")
    with pytest.raises(DataError, match="is a file, not a folder"):
        load_fashion_mnist(not_a_folder, download=False)


def test_unreadable_folder(tmp_path, monkeypatch):
    # root reads any folder whatever its mode, so the permission answer itself is simulated
    monkeypatch.setattr(data_module.os, "access", lambda path, mode: False)
    with pytest.raises(DataError, match="can't be read"):
        load_fashion_mnist(tmp_path, download=False)


def test_folder_that_cannot_be_created_for_a_download(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="can't create the data folder"):
        ensure_files(blocker / "sub", mirrors=["http://127.0.0.1:9/"])


def test_moving_to_a_device_copies_once_and_shares_the_copy(fashion_mnist):
    assert fashion_mnist.to("cpu") is fashion_mnist
    moved = fashion_mnist.to("meta")  # a device without storage: shows the mechanics without a GPU
    assert moved.train_images.device.type == "meta" and moved.test_labels.shape == (10000,)
    assert fashion_mnist.to(torch.device("meta")) is moved


def lay_out_as_the_book(real_data_dir: Path, root: Path, unpacked: bool) -> Path:
    """``root/FashionMNIST/raw`` as ``d2l.load_data_fashion_mnist`` leaves it: the .gz files (links to the
    real ones) or, ``unpacked``, only the idx files torchvision unpacked from them."""
    import gzip

    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_MD5S:
        if unpacked:
            (raw / name.removesuffix(".gz")).write_bytes(gzip.decompress((real_data_dir / name).read_bytes()))
        else:
            (raw / name).symlink_to(real_data_dir / name)
    return root


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, and a fresh decoded-copy cache: whatever is read comes from the folder under test."""
    import torchvision.datasets.utils

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to download: {args[:1]}")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    monkeypatch.setattr(torchvision.datasets.utils, "_urlretrieve", refuse)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data_module, "_loaded", {})


@pytest.mark.parametrize("unpacked", [False, True], ids=["gz", "unpacked"])
@pytest.mark.parametrize("named", ["data", "data/FashionMNIST", "data/FashionMNIST/raw"])
def test_the_books_data_folder_is_found_as_it_is(real_data_dir, fashion_mnist, offline, tmp_path, named, unpacked):
    lay_out_as_the_book(real_data_dir, tmp_path / "data", unpacked)
    loaded = load_fashion_mnist(tmp_path / named, download=False)
    assert all(torch.equal(mine, theirs) for mine, theirs in zip(loaded.tensors(), fashion_mnist.tensors()))
    assert not data_module.missing_files(tmp_path / named)


def test_the_books_folder_is_decoded_once_then_read_from_the_copy(real_data_dir, offline, tmp_path, monkeypatch):
    root = lay_out_as_the_book(real_data_dir, tmp_path / "data", unpacked=False)
    first = load_fashion_mnist(root, download=False)
    monkeypatch.setattr(data_module, "_loaded", {})
    monkeypatch.setattr(data_module, "read_book_folder", lambda root: pytest.fail("decoded again"))
    again = load_fashion_mnist(root, download=False)
    assert torch.equal(again.train_images, first.train_images)


def test_a_corrupted_file_in_the_books_folder_is_named(real_data_dir, offline, tmp_path):
    root = lay_out_as_the_book(real_data_dir, tmp_path / "data", unpacked=False)
    target = root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    target.unlink()
    target.write_bytes(b"not the file")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz .*corrupted"):
        load_fashion_mnist(root, download=False)
