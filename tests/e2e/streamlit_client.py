"""A scripted Streamlit client: what a student's script can send over the app's websocket, without a
browser, a page or an XSRF token (opening the websocket needs none)."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect


class ScriptedClient:
    """One websocket session on a Streamlit server: rerun the page script, clear every cache."""

    def __init__(self, url: str, host: str | None = None):
        """Connect to the server at ``url``; with ``host``, under that name (the Host header a page
        served from another name sends, as after DNS rebinding), over a socket to the real address."""
        server = urlsplit(url)
        sock = socket.create_connection((server.hostname, server.port), timeout=10) if host else None
        address = f"ws://{host or server.netloc}/_stcore/stream"
        self._open = contextlib.ExitStack()
        self.socket = self._open.enter_context(
            connect(address, sock=sock, subprotocols=["streamlit"], open_timeout=10, max_size=None))

    def rerun(self, query: str = "", timeout: float = 60.0) -> None:
        """Ask for a script run (as a page load does) and wait until it has finished."""
        self._send(BackMsg(rerun_script=ClientState(query_string=query)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = ForwardMsg()
            message.ParseFromString(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.WhichOneof("type") == "script_finished":
                return
        raise TimeoutError("the script run did not finish")

    def clear_cache(self) -> None:
        """The message behind the menu's 'Clear cache': it empties every st.cache_* on the server."""
        self._send(BackMsg(clear_cache=True))

    def close(self) -> None:
        self._open.close()

    def __enter__(self) -> ScriptedClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _send(self, message: BackMsg) -> None:
        self.socket.send(message.SerializeToString())


def descendant_processes(pid: int) -> list[int]:
    """Every live process below ``pid``: a server's worker template and the workers it forked."""
    found, frontier = [], [pid]
    while frontier:
        children = child_processes(frontier.pop())
        found += children
        frontier += children
    return sorted(found)


def child_processes(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            children.append(int(stat.parent.name))
    return children
