"""Real services for the tests: a throwaway PostgreSQL cluster from Debian's package, on a local port.

``.ci/run`` starts one with ``python tests/services.py postgres-start DIR PORT`` and exports its URL as
``$SOFTMAX_LAB_TEST_PG_URL``; without that variable the tests start their own the same way, when the
server's programs are installed. Each test then gets a database of its own (``fresh_database``), dropped
after it. With ``$SOFTMAX_LAB_REQUIRE_SERVICES=1`` (as in CI) a missing service fails the tests that need
it instead of skipping them, so CI can never pass by leaving them out.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

PG_URL_ENV_VAR = "SOFTMAX_LAB_TEST_PG_URL"
REQUIRE_ENV_VAR = "SOFTMAX_LAB_REQUIRE_SERVICES"
PG_SUPERUSER = "postgres"


class ServiceMissing(RuntimeError):
    """A service the test needs can't be had on this machine; the message says how to get it."""


def postgres_bin_dir() -> Path:
    """Debian keeps the server's programs in /usr/lib/postgresql/<version>/bin (newest wins)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ServiceMissing("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb refuses to run as root: as root, run it as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_SUPERUSER, "--", *command]
    return command


def start_postgres(folder: Path, port: int) -> str:
    """initdb a new cluster in ``folder`` and start it on 127.0.0.1:port; returns its SQLAlchemy URL."""
    bin_dir = postgres_bin_dir()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(folder, PG_SUPERUSER)
    data = folder / "data"
    subprocess.run(_as_cluster_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                      "-U", PG_SUPERUSER, "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(_as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                                      "-l", str(folder / "server.log"), "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    return f"postgresql+psycopg://{PG_SUPERUSER}@127.0.0.1:{port}/postgres"


def stop_postgres(folder: Path) -> None:
    bin_dir = postgres_bin_dir()
    subprocess.run(_as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
                                      "stop"]), check=False, stdout=subprocess.DEVNULL)


def fresh_database(server_url: str) -> tuple[str, callable]:
    """A new, empty database on the server; returns its URL and a function that drops it."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV_VAR, "") not in ("", "0")


if __name__ == "__main__":
    action, folder, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if action == "postgres-start":
        print(start_postgres(folder, port))
    elif action == "postgres-stop":
        stop_postgres(folder)
    else:
        sys.exit(f"unknown action {action!r}: postgres-start DIR PORT | postgres-stop DIR")
