"""Whose address a request comes from (softmax_core/classroom/addresses.py): X-Forwarded-For is read only
from a trusted proxy, and only the hops the trusted proxies wrote count."""

from __future__ import annotations

import pytest

from softmax_core.classroom.addresses import client_address, parse_trusted_proxies
from softmax_core.settings import SettingError

PROXY = parse_trusted_proxies("127.0.0.1")


def test_without_a_trusted_proxy_the_header_is_never_read():
    assert client_address("10.0.0.5", ["10.9.9.9"], ()) == "10.0.0.5"
    assert client_address("10.0.0.5", ["10.9.9.9"], PROXY) == "10.0.0.5", "the peer is not the proxy"


def test_from_the_proxy_the_address_it_appended_counts():
    assert client_address("127.0.0.1", ["10.0.0.5"], PROXY) == "10.0.0.5"


def test_a_header_the_client_sent_through_the_proxy_is_ignored():
    """nginx's $proxy_add_x_forwarded_for appends the address it saw to what the client sent."""
    assert client_address("127.0.0.1", ["10.9.9.9, 10.0.0.5"], PROXY) == "10.0.0.5"
    assert client_address("127.0.0.1", ["10.9.9.9", "10.0.0.5"], PROXY) == "10.0.0.5"


def test_chained_trusted_proxies_are_skipped():
    proxies = parse_trusted_proxies("127.0.0.1, 10.1.0.0/16")
    assert client_address("127.0.0.1", ["6.6.6.6, 192.168.4.2, 10.1.3.4"], proxies) == "192.168.4.2"


def test_a_trusted_proxy_without_the_header_is_the_address():
    assert client_address("127.0.0.1", [], PROXY) == "127.0.0.1"


def test_the_setting_names_a_bad_entry():
    assert parse_trusted_proxies(" ") == ()
    assert len(parse_trusted_proxies("127.0.0.1,::1;10.0.0.0/8")) == 3
    with pytest.raises(SettingError, match="`SOFTMAX_LAB_TRUSTED_PROXIES`: 'proxy.lan'"):
        parse_trusted_proxies("127.0.0.1, proxy.lan")
