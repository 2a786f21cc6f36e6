"""The sign-in routes' checks that need no server: where a route may send the browser next (a path of this
site only), and which POSTs count as coming from this site's own pages."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from dashboard.auth_routes import from_this_origin, safe_next


@pytest.mark.parametrize("target", ["/", "/board", "/compare?runs=3,4", "/inspect?run=2#top"])
def test_next_may_be_any_path_of_this_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    "", "http://ev.il/", "https://ev.il", "//ev.il/board", "/\\ev.il", "\\\\ev.il", "javascript:alert(1)",
    "board", "/\tboard", "/auth/sign-out", "/auth/sign-in?pass=x", "ev.il:80/x",
])
def test_next_never_leaves_the_site_or_loops_back_into_the_routes(target):
    assert safe_next(target) == "/"


def request_from(origin: str | None, host: str = "127.0.0.1:8501") -> Request:
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin is not None else [])
    return Request({"type": "http", "method": "POST", "path": "/auth/sign-out", "headers": headers})


def test_a_post_counts_as_this_sites_only_from_this_origin():
    assert from_this_origin(request_from("http://127.0.0.1:8501"))
    assert from_this_origin(request_from(None)), "no browser's form: a scripted client forges nothing"
    assert not from_this_origin(request_from("http://127.0.0.1:8502")), "another port: the same site, not origin"
    assert not from_this_origin(request_from("null")), "a sandboxed or opaque page"
    assert not from_this_origin(request_from("http://ev.il"))


def test_a_refused_sign_in_page_speaks_the_browsers_language():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.auth_routes import sign_out

    def foreign_post(language: str) -> str:
        headers = [(b"host", b"127.0.0.1:8501"), (b"origin", b"http://ev.il"), (b"accept-language", language.encode())]
        request = Request({"type": "http", "method": "POST", "path": "/auth/sign-out", "headers": headers,
                           "query_string": b""}, receive=_empty_body)
        # a thread of its own: the browser tests' Playwright keeps an event loop running in this one
        with ThreadPoolExecutor(1) as thread:
            response = thread.submit(asyncio.run, sign_out(request)).result()
        assert response.status_code == 403
        return response.body.decode()

    chinese = foreign_post("zh-CN,zh;q=0.9")
    assert "<html lang='zh-CN'>" in chinese and "<h1>未登录</h1>" in chinese, chinese
    assert "另一个网站的页面试图让此浏览器退出登录。" in chinese and ">打开 Softmax Lab</a>" in chinese
    english = foreign_post("en-US")
    assert "<h1>Not signed in</h1>" in english and "A page of another site tried to sign this browser out." in english


async def _empty_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}
