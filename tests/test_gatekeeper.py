"""The gatekeeper's ASGI behaviour (dashboard/gatekeeper.py) on made-up requests: a foreign Origin is refused
before the app sees it, the client's address comes from a listed proxy only, a flood's reruns wait in their
own session, and a live view's poll waits for a person's click."""

from __future__ import annotations

import asyncio
import concurrent.futures

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from dashboard.gatekeeper import ClicksFirst, Gatekeeper, identity_key, is_script_finished, rerun_kind
from softmax_core.classroom.addresses import parse_trusted_proxies
from softmax_core.classroom.traffic import TrafficBudget


def socket_scope(origin: str | None = None, host: str = "lab:8501", peer: str = "10.0.0.5",
                 forwarded: str | None = None, cookie: str | None = None) -> dict:
    headers = [(b"host", host.encode())]
    for name, value in (("origin", origin), ("x-forwarded-for", forwarded), ("cookie", cookie)):
        if value is not None:
            headers.append((name.encode(), value.encode()))
    return {"type": "websocket", "path": "/_stcore/stream", "headers": headers, "client": (peer, 50000)}


class RecordingApp:
    def __init__(self):
        self.scopes: list[dict] = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)


def serve(gate: Gatekeeper, scope: dict) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    run_on_a_loop_of_its_own(gate(scope, receive, send))
    return sent


def run_on_a_loop_of_its_own(coroutine):
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps a loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_a_foreign_origin_is_refused_before_the_app_sees_it():
    app = RecordingApp()
    gate = Gatekeeper(app, TrafficBudget(), proxies=())
    for origin in ("http://ev.il", "http://lab:9000", "null"):
        assert serve(gate, socket_scope(origin)) == [{"type": "websocket.close", "code": 1008}]
    assert app.scopes == []
    serve(gate, socket_scope("http://lab:8501"))
    serve(gate, socket_scope(None))  # a script without a browser: no Origin to be foreign
    assert len(app.scopes) == 2


def test_the_address_comes_from_a_listed_proxy_only():
    app = RecordingApp()
    serve(Gatekeeper(app, TrafficBudget(), proxies=()), socket_scope(peer="127.0.0.1", forwarded="10.9.9.9"))
    proxied = Gatekeeper(app, TrafficBudget(), proxies=parse_trusted_proxies("127.0.0.1"))
    serve(proxied, socket_scope(peer="127.0.0.1", forwarded="10.9.9.9, 10.0.0.7"))
    assert [scope["client"][0] for scope in app.scopes] == ["127.0.0.1", "10.0.0.7"]


def test_the_page_learns_its_ticket_and_the_student_is_keyed_by_their_cookie():
    app = RecordingApp()
    serve(Gatekeeper(app, TrafficBudget(), proxies=()), socket_scope(cookie="softmax_lab_device=abc; other=1"))
    assert dict(app.scopes[0]["headers"])[b"x-softmax-lab-ticket"].startswith(b"s")
    assert identity_key(socket_scope(cookie="other=1")) == ""
    assert identity_key(socket_scope(cookie="softmax_lab_device=abc")) != identity_key(
        socket_scope(cookie="softmax_lab_device=abd"))


def test_reruns_are_told_apart_from_polls_and_script_ends_are_seen():
    def received(message: BackMsg) -> dict:
        return {"type": "websocket.receive", "bytes": message.SerializeToString()}

    assert rerun_kind(received(BackMsg(rerun_script=ClientState()))) is True
    assert rerun_kind(received(BackMsg(rerun_script=ClientState(fragment_id="f1")))) is False
    assert rerun_kind(received(BackMsg(clear_cache=True))) is None
    finished = ForwardMsg(script_finished=1)
    assert is_script_finished({"type": "websocket.send", "bytes": finished.SerializeToString()})
    assert not is_script_finished({"type": "websocket.send", "bytes": b"\x00" * 500})


def test_a_poll_waits_for_a_click_and_not_forever():
    async def scenario() -> tuple[float, float]:
        order = ClicksFirst(hold_seconds=0.5)
        loop = asyncio.get_running_loop()
        order.started("click", full=True)
        loop.call_later(0.1, order.finished, "click")
        started = loop.time()
        await order.hold_poll()
        after_click = loop.time() - started
        order.started("stuck", full=True)
        started = loop.time()
        await order.hold_poll()
        return after_click, loop.time() - started

    after_click, held_at_most = run_on_a_loop_of_its_own(scenario())
    assert 0.08 <= after_click < 0.3, "the poll went on once the click was answered"
    assert 0.45 <= held_at_most < 0.8, "a click that never ends holds a poll only so long"


def test_polls_take_turns_a_few_at_a_time():
    async def scenario() -> list[float]:
        order = ClicksFirst(hold_seconds=1.0, polls_at_once=2)
        loop = asyncio.get_running_loop()
        order.started("a", full=False)
        order.started("b", full=False)
        loop.call_later(0.1, order.finished, "a")
        started = loop.time()
        await order.hold_poll()  # a third poll waits for a place
        waited = loop.time() - started
        order.started("c", full=False)
        order.started("b", full=False)  # b's next poll replaces its last: still two places taken
        return [waited, float(len(order.polls))]

    waited, running = run_on_a_loop_of_its_own(scenario())
    assert 0.08 <= waited < 0.5 and running == 2
