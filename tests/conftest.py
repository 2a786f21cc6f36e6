"""Shared fixtures: the real Fashion-MNIST (from ../shared/data/fashion-mnist or $SOFTMAX_LAB_DATA),
small made-up data sets for tests about mechanics, and the databases a store test runs on: a SQLite file,
and a fresh database on a real PostgreSQL server (``services.py``)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import services
from workloads import make_tiny_data

from softmax_core.book.data import DATA_ENV_VAR, FashionMNISTData, load_fashion_mnist
from softmax_core.book.train import FitResult, fit
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import RunStore

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"

if not os.environ.get(DATA_ENV_VAR) and SHARED_DATA.is_dir():
    os.environ[DATA_ENV_VAR] = str(SHARED_DATA)


def pytest_collection_modifyitems(items) -> None:
    """Every test that uses the real data set (through any fixture) is marked real_data, so that
    ``pytest -m "not real_data"`` runs the rest on a machine without it."""
    for item in items:
        if "real_data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    folder = Path(os.environ.get(DATA_ENV_VAR, SHARED_DATA))
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"the real Fashion-MNIST files are needed in {folder} (set {DATA_ENV_VAR})")
    return folder


@pytest.fixture(scope="session")
def fashion_mnist(real_data_dir: Path) -> FashionMNISTData:
    return load_fashion_mnist(real_data_dir, download=False)


@dataclass(frozen=True)
class TrainedRun:
    """One real-data training, done once per test session: how fit() ended, and where it is stored."""

    result: FitResult
    store: RunStore
    run_id: int


@pytest.fixture(scope="session")
def exercise_one(fashion_mnist, tmp_path_factory) -> dict[str, TrainedRun]:
    """The book's run, batch 1024 and lr 0.4 (exercise 1), each trained once for the whole session and
    recorded in one store: every test about them reads these, none trains them again."""
    from softmax_core.analysis.lessons import exercise1_configs

    store = RunStore(f"sqlite:///{tmp_path_factory.mktemp('exercise-one')}/runs.db")
    trained = {}
    for name, config in exercise1_configs().items():
        run_id = store.create_run(config, name)
        result = fit(config, fashion_mnist, [RecordingCallback(store, run_id, flush_seconds=0)])
        store.finish_run(run_id, result)
        trained[name] = TrainedRun(result, store, run_id)
    return trained


@pytest.fixture
def tiny_data() -> FashionMNISTData:
    return make_tiny_data()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server: $SOFTMAX_LAB_TEST_PG_URL (CI starts one), else a throwaway
    cluster started here; skipped where PostgreSQL isn't installed, unless services are required."""
    if os.environ.get(services.PG_URL_ENV_VAR):
        yield os.environ[services.PG_URL_ENV_VAR]
        return
    folder = Path(tempfile.mkdtemp(prefix="softmax-lab-pg-"))
    try:
        url = services.start_postgres(folder, _free_port())
    except (services.ServiceMissing, OSError) as missing:
        if services.services_required():
            pytest.fail(f"PostgreSQL is required here ({services.REQUIRE_ENV_VAR}=1): {missing}")
        pytest.skip(f"no PostgreSQL server: {missing}")
    yield url
    services.stop_postgres(folder)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the PostgreSQL server, dropped after the test."""
    url, drop = services.fresh_database(postgres_server)
    yield url
    drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store_url(request, tmp_path) -> str:
    """The test runs once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs.db"
    return request.getfixturevalue("postgres_url")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def one_thread():
    """One torch thread, as a sweep's worker trains (where this machine's stacked products are exact)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
