"""A scripted Streamlit client: what a student's script can send over the app's websocket, without a
browser, a page or an XSRF token (opening the websocket needs none)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.sync.client import connect


class ScriptedClient:
    """One websocket session on a Streamlit server: rerun the page script, clear every cache."""

    def __init__(self, url: str, host: str | None = None, source: str | None = None,
                 headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None):
        """Connect to the server at ``url``; with ``host``, under that name (the Host header a page
        served from another name sends, as after DNS rebinding), over a socket to the real address;
        with ``source``, from that local address (127.0.0.2, ...: another computer of the class);
        ``headers`` are sent with the handshake (Origin, Cookie, X-Forwarded-For); ``tls`` for https."""
        server = urlsplit(url)
        self.headers = headers or {}
        sock = None
        if host or source:
            sock = socket.create_connection((server.hostname, server.port), timeout=10,
                                            source_address=(source, 0) if source else None)
        scheme = "wss" if server.scheme == "https" else "ws"
        address = f"{scheme}://{host or server.netloc}/_stcore/stream"
        secure = {"ssl": tls, "server_hostname": server.hostname} if scheme == "wss" else {}
        self._open = contextlib.ExitStack()
        self.socket = self._open.enter_context(connect(address, sock=sock, subprotocols=["streamlit"],
                                                       additional_headers=headers, open_timeout=10, close_timeout=1,
                                                       ping_interval=None,
                                                       max_size=None,
                                                       **secure))
        self.texts: list[str] = []  # the alerts and markdown of the last finished script run

    def rerun(self, query: str = "", timeout: float = 60.0) -> float:
        """Ask for a script run (as a page load does), wait until it has finished, and return the round
        trip in seconds; ``texts`` then holds what it showed."""
        started = time.perf_counter()
        self.ask_rerun(query)
        self.texts = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.read_until_finished(max(0.1, deadline - time.monotonic())):
                return time.perf_counter() - started
        raise TimeoutError("the script run did not finish")

    def ask_rerun(self, query: str = "") -> None:
        """Ask for a script run without waiting for it (a flood does that)."""
        self._send(BackMsg(rerun_script=ClientState(query_string=query)))

    def read_until_finished(self, timeout: float) -> bool:
        """Read what the server sends for up to ``timeout`` seconds; True once a script run finished."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = self.socket.recv(timeout=left)
            except TimeoutError:
                return False
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "script_finished":
                return True
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                self.texts.append(element.alert.body or element.markdown.body or element.heading.body)
        return False

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


class BrowserLikeClient(ScriptedClient):
    """A scripted client that behaves as the page in a browser does: it loads the page, remembers the
    widgets it was sent (by label), clicks and types through their ids, and reruns each live fragment at
    the interval the server asked for (``auto_rerun``)."""

    def __init__(self, url: str, **client):
        super().__init__(url, **client)
        self.widgets: dict[str, object] = {}  # label -> the widget's proto (its id, form, type)
        self.fragments: dict[str, float] = {}  # fragment id -> seconds between its reruns
        self.page_hash = ""

    def load(self, query: str = "", timeout: float = 60.0) -> float:
        return self._run(ClientState(query_string=query), timeout)

    def click(self, label: str, values: dict[str, float] | None = None, timeout: float = 60.0) -> float:
        """Press the button (or form submit) ``label``, with number inputs set by label first."""
        states = [WidgetState(id=self.widgets[label].id, trigger_value=True)]
        for name, value in (values or {}).items():
            widget = self.widgets[name]
            is_int = getattr(widget, "data_type", 0) == type(widget).INT
            states.append(WidgetState(id=widget.id, **({"int_value": int(value)} if is_int else
                                                       {"double_value": float(value)})))
        return self._run(ClientState(page_script_hash=self.page_hash,
                                     widget_states=WidgetStates(widgets=states)), timeout)

    def rerun_fragment(self, fragment_id: str, timeout: float = 60.0) -> float:
        return self._run(ClientState(page_script_hash=self.page_hash, fragment_id=fragment_id,
                                     is_auto_rerun=True), timeout)

    def _run(self, state: ClientState, timeout: float) -> float:
        started = time.perf_counter()
        self._send(BackMsg(rerun_script=state))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = ForwardMsg()
            message.ParseFromString(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._remember(message)
            if message.WhichOneof("type") == "script_finished":
                return time.perf_counter() - started
        raise TimeoutError("the script run did not finish")

    def _remember(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = message.new_session.page_script_hash
        elif kind == "auto_rerun":
            self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            widget = getattr(element, element.WhichOneof("type") or "empty", None)
            if getattr(widget, "label", "") and getattr(widget, "id", ""):
                self.widgets[widget.label] = widget
