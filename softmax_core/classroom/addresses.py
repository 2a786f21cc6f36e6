"""Whose address a request comes from, which is what the per-address budgets and the door's guards count.

A request's peer is the client itself, unless it is a reverse proxy that this server was told to trust
(``SOFTMAX_LAB_TRUSTED_PROXIES``: addresses or networks, none by default). Only then is
``X-Forwarded-For`` read, from the right: each trusted proxy appends the address it saw, so the first
address from the right that is not a trusted proxy is the client's; anything further left was written
by the client and is ignored. Without a listed proxy the header is never read, so a student can't choose
their address by sending one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from softmax_core.settings import Network, read_setting, server_settings

TRUSTED_PROXIES_ENV_VAR = "SOFTMAX_LAB_TRUSTED_PROXIES"


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> the networks; a SettingError naming the bad entry."""
    return read_setting(TRUSTED_PROXIES_ENV_VAR, text)


def trusted_proxies_from(environ: Mapping[str, str] | None = None) -> tuple[Network, ...]:
    return server_settings(environ).trusted_proxies


def is_trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: Iterable[str], proxies: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, then the right-most address of
    ``X-Forwarded-For`` (every such header, in order) that is not a trusted proxy."""
    if not proxies or not is_trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, proxies):
            return hop if _is_address(hop) else peer
    return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
