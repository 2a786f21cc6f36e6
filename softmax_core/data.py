"""Fashion-MNIST: find or download the four original files, verify them, load them once into memory.

The file names, md5 sums and mirrors are torchvision's (``torchvision.datasets.FashionMNIST``), so a
folder that torchvision accepts is accepted here, and vice versa. Images become one float tensor in
[0, 1] (what the book's ``transforms.ToTensor()`` gives), flattened to 784 features, held once per
process and shared read-only by every run: there is no DataLoader and no per-image transform.

Where the files are looked for: the ``data_dir`` argument, else ``$SOFTMAX_LAB_DATA``, else a per-user
cache folder. Every problem (missing files offline, a corrupted file, an unreadable folder) raises
``DataError`` with a message a person can act on.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

DATA_ENV_VAR = "SOFTMAX_LAB_DATA"
CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")
IMAGE_SIDE = 28
NUM_FEATURES = IMAGE_SIDE * IMAGE_SIDE
FILE_MD5S: dict[str, str] = dict(TorchvisionFashionMNIST.resources)
MIRRORS: tuple[str, ...] = tuple(TorchvisionFashionMNIST.mirrors)
_IDX_MAGIC = {"images": 2051, "labels": 2049}
_DOWNLOAD_CHUNK = 1 << 16

ProgressCallback = Callable[[str, int, Optional[int]], None]  # (file name, bytes done, bytes total)


class DataError(RuntimeError):
    """Fashion-MNIST can't be found, fetched or read; the message says what to do."""


@dataclass(frozen=True)
class FashionMNISTData:
    """The whole data set as memory tensors (images flattened, float32 in [0, 1])."""

    train_images: torch.Tensor  # (60000, 784) float32
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 784) float32
    test_labels: torch.Tensor  # (10000,) int64
    folder: Path  # where the .gz files were read from
    _copies: dict = field(default_factory=dict, compare=False, repr=False)  # device -> the data there

    def to(self, device: torch.device | str) -> FashionMNISTData:
        """The same data on another device: copied once per device, then shared by every run."""
        device = torch.device(device)
        if self.train_images.device == device:
            return self
        with _load_lock:
            if device not in self._copies:
                self._copies[device] = FashionMNISTData(*(t.to(device) for t in self.tensors()), folder=self.folder)
            return self._copies[device]

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """train_images, train_labels, test_images, test_labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


_loaded: dict[Path, FashionMNISTData] = {}
_load_lock = threading.Lock()


def default_data_dir() -> Path:
    """Per-user cache folder used when neither an argument nor the environment names one."""
    cache_root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_root) / "softmax-lab" / "fashion-mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder to use: the argument, else $SOFTMAX_LAB_DATA, else the per-user cache."""
    chosen = data_dir or os.environ.get(DATA_ENV_VAR) or default_data_dir()
    return Path(chosen).expanduser().resolve()


def missing_files(folder: Path) -> list[str]:
    """Names of the four original files that are not in ``folder``."""
    _check_folder_readable(folder)
    return [name for name in FILE_MD5S if not (folder / name).is_file()]


def describe_expected_files(folder: Path) -> str:
    """One sentence naming the four files and where to put them."""
    names = ", ".join(FILE_MD5S)
    return (f"put the four Fashion-MNIST files ({names}) in {folder}, "
            f"or set {DATA_ENV_VAR} to a folder that holds them")


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = MIRRORS,
) -> FashionMNISTData:
    """Load the data set once per process and folder; download missing files first if allowed."""
    folder = resolve_data_dir(data_dir)
    with _load_lock:
        if folder not in _loaded:
            ensure_files(folder, download=download, progress=progress, mirrors=mirrors)
            _loaded[folder] = _read_folder(folder)
        return _loaded[folder]


def ensure_files(
    folder: Path,
    download: bool = True,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = MIRRORS,
) -> None:
    """Make sure all four files are in ``folder`` and match their md5, downloading if allowed."""
    absent = missing_files(folder)
    if absent and not download:
        raise DataError(f"Fashion-MNIST is missing {', '.join(absent)}: {describe_expected_files(folder)}.")
    for name in absent:
        download_file(name, folder, progress=progress, mirrors=mirrors)
    for name in FILE_MD5S:
        verify_file(folder / name)


def verify_file(path: Path) -> None:
    """Raise DataError unless ``path`` has the md5 torchvision lists for it."""
    expected = FILE_MD5S[path.name]
    actual = _md5_of(path)
    if actual != expected:
        raise DataError(
            f"{path.name} in {path.parent} is corrupted or truncated (md5 {actual}, expected {expected}); "
            f"delete it so it is downloaded again, or replace it with the original file."
        )


def download_file(
    name: str,
    folder: Path,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 30.0,
) -> Path:
    """Fetch one file from the first mirror that answers, reporting progress; verify it; return its path."""
    _make_writable_folder(folder)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            path = _fetch(url, folder / name, progress, timeout)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        verify_file(path)
        return path
    raise DataError(
        f"could not download {name} ({'; '.join(failures)}). Offline? {describe_expected_files(folder)}."
    )


def _fetch(url: str, target: Path, progress: ProgressCallback | None, timeout: float) -> Path:
    partial = target.with_name(target.name + ".part")  # never leave a half file under the real name
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(_DOWNLOAD_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(target.name, done, total)
    partial.replace(target)
    return target


def _read_folder(folder: Path) -> FashionMNISTData:
    return FashionMNISTData(
        train_images=_read_idx(folder / "train-images-idx3-ubyte.gz", "images"),
        train_labels=_read_idx(folder / "train-labels-idx1-ubyte.gz", "labels"),
        test_images=_read_idx(folder / "t10k-images-idx3-ubyte.gz", "images"),
        test_labels=_read_idx(folder / "t10k-labels-idx1-ubyte.gz", "labels"),
        folder=folder,
    )


def _read_idx(path: Path, kind: str) -> torch.Tensor:
    """Parse an IDX file (the MNIST format): big-endian header, then unsigned bytes."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"{path.name} in {path.parent} can't be read: {error}") from error
    header_ints = 4 if kind == "images" else 2
    header = np.frombuffer(raw[: 4 * header_ints], dtype=">u4")
    count = int(header[1])
    if int(header[0]) != _IDX_MAGIC[kind] or len(raw) != 4 * header_ints + count * (
        NUM_FEATURES if kind == "images" else 1
    ):
        raise DataError(f"{path.name} in {path.parent} is not a Fashion-MNIST {kind} file.")
    values = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=4 * header_ints).copy())
    if kind == "labels":
        return values.long()
    return values.view(count, NUM_FEATURES).float().div_(255.0)


def _check_folder_readable(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file, not a folder: {describe_expected_files(folder)}.")
    if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(f"the data folder {folder} can't be read (permission denied).")


def _make_writable_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"can't create the data folder {folder}: {error.strerror or error}") from error
    if not os.access(folder, os.W_OK):
        raise DataError(f"can't download into {folder} (not writable): {describe_expected_files(folder)}.")


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise DataError(f"{path.name} in {path.parent} can't be read: {error.strerror or error}") from error
    return digest.hexdigest()
