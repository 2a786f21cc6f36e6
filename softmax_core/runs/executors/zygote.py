"""Worker processes forked from one template process that has imported torch once.

Importing torch is slow. A pool that spawned each worker from a fresh interpreter paid it once per
worker, all at once at the server's start, and again for every replacement (the figures:
benchmarks/RESULTS.md, "Smaller readings"). Here one template process per server (the
"zygote", as Android calls it) imports the worker's code once, at the first request, and forks each
worker from itself on request: a worker is ready in milliseconds, with only its data left to load.

The zygote is not a worker: it never trains, never starts a thread, and so forks cleanly. Each worker
gets the server's ``sys.path``, environment and working directory over its own channel, so it runs as
if the server had started it then. The zygote reports each worker's start (its pid) and its end (the
exit code, negative for a signal, as ``subprocess`` says it), so a ``ForkedWorker`` answers the
supervisor's questions as a ``subprocess.Popen`` would. The zygote exits when the server's process does;
its workers, which watch their parent, follow it.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

PARENT_POLL_SECONDS = 0.1
_BOOTSTRAP = ("import sys; from multiprocessing.connection import Connection; "
              "replies = Connection(int(sys.argv[2])); sys.path[:] = replies.recv(); "
              "from softmax_core.runs.executors.zygote import zygote_main; "
              "zygote_main(int(sys.argv[1]), replies, int(sys.argv[3]))")


class ForkedWorker:
    """A worker forked by the zygote, answering as much of ``subprocess.Popen`` as the supervisor asks."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None
        self._ended = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _ended_with(self, code: int) -> None:
        self.returncode = code
        self._ended.set()


class Zygote:
    """The server's side of the template process: ask it for workers, hear when they end."""

    def __init__(self):
        requests, theirs_requests = socket.socketpair()
        replies, theirs_replies = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(theirs_requests.fileno()), str(theirs_replies.fileno()),
             str(os.getpid())], pass_fds=[theirs_requests.fileno(), theirs_replies.fileno()],
            stdin=subprocess.DEVNULL)
        theirs_requests.close()
        theirs_replies.close()
        self._requests, self._replies = requests, Connection(replies.detach())
        self._replies_lock = threading.Lock()
        self._replies.send(list(sys.path))
        self._workers: dict[int, ForkedWorker] = {}
        self._started: list[ForkedWorker] = []
        self._news = threading.Condition()
        self._listener = threading.Thread(target=self._listen, name="softmax-lab-zygote", daemon=True)
        self._listener.start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and self._listener.is_alive()

    def fork(self, channel: socket.socket, timeout: float = 60.0) -> ForkedWorker:
        """A new worker, talking to its supervisor over ``channel`` (its end is handed over, then closed here)."""
        with self._news:
            socket.send_fds(self._requests, [b"f"], [channel.fileno()])
            if not self._news.wait_for(lambda: self._started, timeout):
                raise RuntimeError("the worker template process did not fork a worker in time")
            return self._started.pop(0)

    def _listen(self) -> None:
        while True:
            try:
                message = self._replies.recv()
            except (EOFError, OSError):
                return
            with self._news:
                if message[0] == "started":
                    worker = self._workers[message[1]] = ForkedWorker(message[1])
                    self._started.append(worker)
                    self._news.notify_all()
                elif message[0] == "exited" and message[1] in self._workers:
                    self._workers.pop(message[1])._ended_with(message[2])


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def fork_worker(channel: socket.socket) -> ForkedWorker:
    """A worker forked from this process's template (started, or started again, on demand)."""
    global _zygote
    with _zygote_lock:
        if _zygote is None or not _zygote.alive:
            _zygote = Zygote()
        return _zygote.fork(channel)


# --- inside the zygote ------------------------------------------------------------------------------------

def zygote_main(requests_fd: int, replies: Connection, parent_pid: int) -> None:
    """Import the worker's code once, then fork a worker for each channel the server sends, and report
    each worker's start and end; exit when the server's process is gone."""
    from softmax_core.runs.executors import worker  # torch, the store, the trainer: what every worker needs

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = socket.socket(fileno=requests_fd)
    while os.getppid() == parent_pid:
        ready, _, _ = select.select([requests], [], [], PARENT_POLL_SECONDS)
        if ready and not _fork_on_request(requests, replies, worker.forked_worker_main):
            break
        _report_ended_workers(replies)
    os._exit(0)


def _fork_on_request(requests: socket.socket, replies: Connection, worker_main) -> bool:
    """Fork one worker for the channel just sent; False once the server has closed its end."""
    try:
        data, fds, _, _ = socket.recv_fds(requests, 16, 1)
    except OSError:
        return False
    if not data or not fds:
        return False
    pid = os.fork()
    if pid == 0:  # the worker: nothing of the zygote's is needed any more
        requests.close()
        replies.close()
        code = 1
        try:
            worker_main(fds[0])
            code = 0
        finally:
            os._exit(code)
    os.close(fds[0])
    replies.send(("started", pid))
    return True


def _report_ended_workers(replies: Connection) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        replies.send(("exited", pid, os.waitstatus_to_exitcode(status)))
