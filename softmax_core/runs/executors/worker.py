"""A worker process's life, on the worker's side: take on the server's path and environment, lower its own
priority (the server's pages first), load the data once, then train what the server sends until told to
stop, and end when the server's process does. ``local.py`` is the server's side; ``zygote.py`` forks
workers into ``forked_worker_main``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from softmax_core.runs.run_driver import DataSource, run_pack
from softmax_core.runs.store import RunStore

log = logging.getLogger(__name__)
PARENT_POLL_SECONDS = 0.2
WORKER_NICENESS = 19  # the pages first: a class's clicks barely wait, and training takes the rest of the cores


def forked_worker_main(channel_fd: int) -> None:
    """A worker the zygote forked: take on the server's path, environment and directory, then live as
    any worker, watching the zygote (its parent, which goes when the server does)."""
    channel = Connection(channel_fd)
    sys.path[:] = channel.recv()
    environ, cwd = channel.recv()
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    _, *args = channel.recv()
    worker_main(channel, os.getppid(), *args)


def worker_main(conn: Connection, parent_pid: int, store_url: str, data_source: DataSource, threads: int,
                warm_data: bool) -> None:
    """A worker's life (in its own process): set up once, then train what it is sent (a list of run ids:
    one run, or a pack) until None."""
    os.nice(WORKER_NICENESS)  # first: on Linux it sets the calling thread's, which later threads inherit
    _exit_with_parent(parent_pid)
    import torch

    torch.set_num_threads(threads)
    store = RunStore(store_url)
    if warm_data:
        _load_quietly(data_source)
    conn.send(("ready",))
    while True:
        try:
            run_ids = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if run_ids is None:
            return
        run_pack(store, run_ids, data_source)
        conn.send(("done", run_ids))


def _load_quietly(data_source: DataSource) -> None:
    """Load the data before the first run asks; if it can't be had yet, each run reports why."""
    try:
        data_source()
    except Exception:  # noqa: BLE001 - e.g. missing files: the page offers the download
        log.info("the worker starts without data; a run will say why it can't load", exc_info=True)


def _exit_with_parent(parent_pid: int) -> None:
    """End this worker as soon as the server's process is gone (Ctrl-C ends the server, not a run)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
