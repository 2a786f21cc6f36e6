"""Fashion-MNIST: find or download the four original files, verify them, load them once into memory.

Two layouts are found as they are. The engine's own: a folder of the four ``.gz`` files, whose names,
md5 sums and mirrors are torchvision's (a test keeps them equal); there, decoding is ours and torchvision
is not imported, since it costs a process about two seconds. And the book's: ``<root>/FashionMNIST/raw``,
what ``d2l.load_data_fashion_mnist`` (``torchvision.datasets.FashionMNIST(root="../data")``) leaves
behind, with the ``.gz`` files, the unpacked idx files or both; a data folder naming ``<root>``, its
``FashionMNIST`` folder or its ``raw`` folder is read through ``torchvision.datasets.FashionMNIST``
itself (never downloading: it checks the files, and the ``.gz`` files' md5 sums are checked first).
Images become one float tensor in [0, 1] (what the book's ``transforms.ToTensor()`` gives), flattened
to 784 features, held once per process and shared read-only by every run: there is no DataLoader and no
per-image transform.

Decoding takes most of a second, so the first load keeps a decoded copy (uint8 ``.npy`` arrays and a
manifest) in the per-user cache. A later load uses it only while the originals are the very files it
was made from (same size and modification time, md5-verified when it was made) and the arrays have
their shapes; otherwise it decodes again. A worker process or the CLI loads in well under a second that
way.

Where the files are looked for: the ``data_dir`` argument, else ``$SOFTMAX_LAB_DATA``, else a per-user
cache folder. Every problem (missing files offline, a corrupted file, an unreadable folder) raises
``DataError`` with a message a person can act on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from softmax_core.dataset_sizes import NUM_FEATURES, TEST_SET_SIZE, TRAIN_SET_SIZE, VALIDATION_SEED, VALIDATION_SIZE
from softmax_core.errors import LabError
from softmax_core.i18n import N_, Said, _, as_code
from softmax_core.settings import server_settings

DATA_ENV_VAR = "SOFTMAX_LAB_DATA"
# The labels' names as stored and exported (English: they are data); a page shows them through
# ``shown_class_names`` in the reader's language (the book's Chinese edition: T恤, 裤子, ...).
CLASS_NAMES = (N_("t-shirt"), N_("trouser"), N_("pullover"), N_("dress"), N_("coat"),
               N_("sandal"), N_("shirt"), N_("sneaker"), N_("bag"), N_("ankle boot"))
FILE_MD5S: dict[str, str] = {  # torchvision.datasets.FashionMNIST.resources
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)  # torchvision's
ARRAY_FILES = {  # decoded array -> the original it comes from
    "train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz",
}
ARRAY_SHAPES = {"train_images": (TRAIN_SET_SIZE, NUM_FEATURES), "train_labels": (TRAIN_SET_SIZE,),
                "test_images": (TEST_SET_SIZE, NUM_FEATURES), "test_labels": (TEST_SET_SIZE,)}
DECODED_FORMAT = 1  # bump when the decoded copy's layout changes
_IDX_MAGIC = {"images": 2051, "labels": 2049}
_DOWNLOAD_CHUNK = 1 << 16

ProgressCallback = Callable[[str, int, Optional[int]], None]  # (file name, bytes done, bytes total)


def shown_class_names() -> tuple[str, ...]:
    """The ten class names as the reader reads them ('t-shirt', or 'T恤' in Chinese), label order."""
    return tuple(_(name) for name in CLASS_NAMES)


class DataError(LabError, RuntimeError):
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

    def validation_split(self) -> ValidationSplit:
        """The training images split into training rows and a held-out validation set: a sixth of them
        (10,000 of 60,000), chosen with a fixed seed, so the same for every run; made once per device."""
        with _load_lock:
            if "validation" not in self._copies:
                self._copies["validation"] = split_off_validation(self.train_images, self.train_labels)
            return self._copies["validation"]

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """train_images, train_labels, test_images, test_labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], folder: Path) -> FashionMNISTData:
        """From the uint8 arrays as decoded (images 0..255, one row per image; labels 0..9)."""
        return cls(
            train_images=torch.from_numpy(arrays["train_images"]).float().div_(255.0),
            train_labels=torch.from_numpy(arrays["train_labels"]).long(),
            test_images=torch.from_numpy(arrays["test_images"]).float().div_(255.0),
            test_labels=torch.from_numpy(arrays["test_labels"]).long(),
            folder=folder,
        )


@dataclass(frozen=True)
class ValidationSplit:
    """Which training rows a run with a validation split trains on, and the images it holds out."""

    train_rows: torch.Tensor  # (50000,) int64 indices into train_images, ascending
    images: torch.Tensor  # (10000, 784) float32
    labels: torch.Tensor  # (10000,) int64
    rows: torch.Tensor  # their indices into train_images, ascending


def split_off_validation(images: torch.Tensor, labels: torch.Tensor) -> ValidationSplit:
    """Hold out a sixth of the training images, chosen by a permutation with a fixed seed."""
    count = len(labels)
    held_out = count * VALIDATION_SIZE // TRAIN_SET_SIZE
    order = torch.randperm(count, generator=torch.Generator().manual_seed(VALIDATION_SEED))
    rows = order[:held_out].sort().values.to(labels.device)
    train_rows = order[held_out:].sort().values.to(labels.device)
    return ValidationSplit(train_rows, images.index_select(0, rows), labels.index_select(0, rows), rows)


_loaded: dict[Path, FashionMNISTData] = {}
_load_lock = threading.Lock()


def default_data_dir() -> Path:
    """Per-user cache folder used when neither an argument nor the environment names one."""
    cache_root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_root) / "softmax-lab" / "fashion-mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder to use: the argument, else $SOFTMAX_LAB_DATA, else the per-user cache."""
    chosen = data_dir or server_settings().data_dir or default_data_dir()
    return Path(chosen).expanduser().resolve()


def missing_files(folder: Path) -> list[str]:
    """Names of the four original files that are not in ``folder`` (none when it holds the book's layout)."""
    _check_folder_readable(folder)
    absent = [name for name in FILE_MD5S if not (folder / name).is_file()]
    return [] if absent and find_book_root(folder) is not None else absent


def _holds_own_files(folder: Path) -> bool:
    """Whether ``folder`` has any of the four .gz files itself (then it is the engine's layout)."""
    return any((folder / name).is_file() for name in FILE_MD5S)


def find_book_root(folder: Path) -> Path | None:
    """The torchvision root of the book's layout (``<root>/FashionMNIST/raw``) that ``folder`` names:
    the root itself, its ``FashionMNIST`` folder or its ``raw`` folder; None unless all four files are
    there (each as ``.gz`` or unpacked)."""
    candidates = [folder, folder.parent if folder.name == "FashionMNIST" else None,
                  folder.parent.parent if (folder.name, folder.parent.name) == ("raw", "FashionMNIST") else None]
    for root in filter(None, candidates):
        raw = root / "FashionMNIST" / "raw"
        if all((raw / name).is_file() or (raw / name.removesuffix(".gz")).is_file() for name in FILE_MD5S):
            return root
    return None


def book_raw_files(root: Path) -> list[Path]:
    """The files of the book's layout that exist: the unpacked idx files torchvision reads, else the .gz."""
    raw = root / "FashionMNIST" / "raw"
    unpacked = [raw / name.removesuffix(".gz") for name in FILE_MD5S]
    return unpacked if all(path.is_file() for path in unpacked) else [raw / name for name in FILE_MD5S]


def read_book_folder(root: Path) -> dict[str, np.ndarray]:
    """The four arrays as uint8, read by ``torchvision.datasets.FashionMNIST`` from the book's layout.

    With only the .gz files there, their md5 sums are checked here first; torchvision then finds every
    file present and verified, so it downloads nothing and only unpacks them where the book would."""
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError as error:
        raise DataError(N_("reading the book's folder {folder} needs torchvision: {error}"),
                        folder=root / "FashionMNIST", error=error) from None
    packed_only = book_raw_files(root)[0].suffix == ".gz"
    if packed_only:
        for path in book_raw_files(root):
            verify_file(path)
    arrays = {}
    try:
        for split, train in (("train", True), ("test", False)):
            dataset = FashionMNIST(str(root), train=train, download=packed_only)
            arrays[f"{split}_images"] = dataset.data.reshape(len(dataset.data), NUM_FEATURES).numpy()
            arrays[f"{split}_labels"] = dataset.targets.to(torch.uint8).numpy()
    except (RuntimeError, OSError, ValueError) as error:  # torchvision's "not found", a bad or short file
        raise DataError(N_("the book's folder {folder} can't be read: {error}"),
                        folder=root / "FashionMNIST" / "raw", error=error) from None
    if any(arrays[name].shape != ARRAY_SHAPES[name] for name in ARRAY_FILES):
        raise DataError(N_("the book's folder {folder} does not hold Fashion-MNIST."),
                        folder=root / "FashionMNIST" / "raw")
    return arrays


def describe_expected_files(folder: Path) -> Said:
    """One sentence naming the four files and where to put them (said in the reader's language when shown)."""
    return Said(N_("put the four Fashion-MNIST files ({names}) in {folder}, or set {variable} to a folder that "
                   "holds them"), names=", ".join(FILE_MD5S), folder=folder, variable=as_code(DATA_ENV_VAR))


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
            _loaded[folder] = FashionMNISTData.from_arrays(
                load_decoded_arrays(folder, download, progress, mirrors), folder)
        return _loaded[folder]


def load_decoded_arrays(
    folder: Path,
    download: bool = True,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = MIRRORS,
) -> dict[str, np.ndarray]:
    """The four arrays as uint8: from the decoded copy when it matches the originals, else decoded anew."""
    arrays = read_decoded_copy(folder)
    book_root = None if arrays is not None or _holds_own_files(folder) else find_book_root(folder)
    if book_root is not None:
        arrays = read_book_folder(book_root)
        write_decoded_copy(folder, arrays)
    elif arrays is None:
        ensure_files(folder, download=download, progress=progress, mirrors=mirrors)
        arrays = {name: _read_idx(folder / source, name.split("_")[1]) for name, source in ARRAY_FILES.items()}
        write_decoded_copy(folder, arrays)
    return arrays


def decoded_copy_dir(folder: Path) -> Path:
    """Where the decoded copy of the files in ``folder`` is kept (per-user cache, one per data folder)."""
    key = hashlib.sha1(str(folder).encode()).hexdigest()[:16]
    return default_data_dir().parent / "decoded" / key


def read_decoded_copy(folder: Path) -> dict[str, np.ndarray] | None:
    """The decoded arrays, or None if there is no copy or it doesn't match the originals any more."""
    copy = decoded_copy_dir(folder)
    try:
        manifest = json.loads((copy / "manifest.json").read_text())
        if manifest.get("format") != DECODED_FORMAT or manifest.get("sources") != _stat_sources(folder):
            return None
        arrays = {name: np.load(copy / f"{name}.npy", allow_pickle=False) for name in ARRAY_FILES}
    except (OSError, ValueError):
        return None
    shapes_match = all(arrays[name].shape == ARRAY_SHAPES[name] and arrays[name].dtype == np.uint8
                       for name in ARRAY_FILES)
    return arrays if shapes_match else None


def write_decoded_copy(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Keep the decoded arrays for the next load (best effort: a read-only cache only costs time)."""
    copy = decoded_copy_dir(folder)
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=copy.parent, prefix=".staging-"))
    except OSError:
        return
    try:
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        manifest = {"format": DECODED_FORMAT, "folder": str(folder), "sources": _stat_sources(folder)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
        shutil.rmtree(copy, ignore_errors=True)
        staging.rename(copy)  # readers see the whole copy or none of it
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race, or the disk is full


def _stat_sources(folder: Path) -> dict[str, list[int]]:
    """Size and modification time of each original: a changed file means the copy is stale."""
    flat = [folder / name for name in FILE_MD5S]
    root = None if _holds_own_files(folder) else find_book_root(folder)
    paths = flat if root is None else book_raw_files(root)
    stats = {str(path.relative_to(folder if root is None else root)): path.stat() for path in paths}
    return {name: [stat.st_size, stat.st_mtime_ns] for name, stat in stats.items()}


def ensure_files(
    folder: Path,
    download: bool = True,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] = MIRRORS,
) -> None:
    """Make sure all four files are in ``folder`` and match their md5, downloading if allowed (the book's
    layout is checked by reading it: ``read_book_folder``)."""
    if not _holds_own_files(folder) and (root := find_book_root(folder)):
        read_book_folder(root)
        return
    absent = missing_files(folder)
    if absent and not download:
        raise DataError(N_("Fashion-MNIST is missing {files}: {what_to_do}."), files=", ".join(absent),
                        what_to_do=describe_expected_files(folder))
    for name in absent:
        download_file(name, folder, progress=progress, mirrors=mirrors)
    for name in FILE_MD5S:
        verify_file(folder / name)


def verify_file(path: Path) -> None:
    """Raise DataError unless ``path`` has the md5 torchvision lists for it."""
    expected = FILE_MD5S[path.name]
    actual = _md5_of(path)
    if actual != expected:
        raise DataError(N_("{file} in {folder} is corrupted or truncated (md5 {actual}, expected {expected}); "
                           "delete it so it is downloaded again, or replace it with the original file."),
                        file=path.name, folder=path.parent, actual=actual, expected=expected)


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
    raise DataError(N_("could not download {file} ({failures}). Offline? {what_to_do}."), file=name,
                    failures="; ".join(failures), what_to_do=describe_expected_files(folder))


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


def _read_idx(path: Path, kind: str) -> np.ndarray:
    """Parse an IDX file (the MNIST format): big-endian header, then unsigned bytes."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(N_("{file} in {folder} can't be read: {error}"), file=path.name, folder=path.parent,
                        error=error) from error
    header_ints = 4 if kind == "images" else 2
    header = np.frombuffer(raw[: 4 * header_ints], dtype=">u4")
    count = int(header[1])
    if int(header[0]) != _IDX_MAGIC[kind] or len(raw) != 4 * header_ints + count * (
        NUM_FEATURES if kind == "images" else 1
    ):
        wrong = (N_("{file} in {folder} is not a Fashion-MNIST images file.") if kind == "images" else
                 N_("{file} in {folder} is not a Fashion-MNIST labels file."))
        raise DataError(wrong, file=path.name, folder=path.parent)
    values = np.frombuffer(raw, dtype=np.uint8, offset=4 * header_ints).copy()
    return values if kind == "labels" else values.reshape(count, NUM_FEATURES)


def _check_folder_readable(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataError(N_("{folder} is a file, not a folder: {what_to_do}."), folder=folder,
                        what_to_do=describe_expected_files(folder))
    if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(N_("the data folder {folder} can't be read (permission denied)."), folder=folder)


def _make_writable_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(N_("can't create the data folder {folder}: {error}"), folder=folder,
                        error=error.strerror or error) from error
    if not os.access(folder, os.W_OK):
        raise DataError(N_("can't download into {folder} (not writable): {what_to_do}."), folder=folder,
                        what_to_do=describe_expected_files(folder))


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise DataError(N_("{file} in {folder} can't be read: {error}"), file=path.name, folder=path.parent,
                        error=error.strerror or error) from error
    return digest.hexdigest()
