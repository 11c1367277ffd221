"""Where a callback may go: an http(s) URL whose host is not, and does not resolve
to, a loopback, private, link-local, multicast, reserved or unspecified address
(contract section 11), unless the operator allows private receivers
(`callbacks.allow_private`). Checked when a URL is set and again before each POST.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections import OrderedDict
from urllib.parse import urlsplit

import trio

LOOKUP_TIMEOUT_S = 2.0
"""A host name not resolved this fast is not refused here (its POST will time out)."""
LOOKUP_TTL_S = 60.0
"""How long what a host name resolved to is remembered (`_looked_up`)."""
LOOKUP_MEMORY = 4096

_looked_up: OrderedDict[tuple[str, int], tuple[float, bool]] = OrderedDict()
"""(host, port) -> (monotonic time it was looked up, whether it is forbidden): a send's
URL is checked at acceptance and before each POST round, one lookup a minute."""


def well_formed(url: str) -> bool:
    """An http or https URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
        host = parts.hostname or ""
        name = host.encode("idna").decode("ascii")  # a label over 63 characters...
    except (ValueError, UnicodeError):
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return _DNS_NAME.fullmatch(name) is not None


_DNS_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?")
"""A host name as DNS spells it (letters, digits, hyphens; IDNA already applied)."""


def _forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


async def forbidden(url: str, *, allow_private: bool) -> bool:
    """True when `url` must not receive callbacks: malformed, or (unless
    `allow_private`) its host is or resolves to a non-public address. A host that
    does not resolve is not refused here (the POST will fail and be retried)."""
    if not well_formed(url):
        return True
    if allow_private:
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return _forbidden_address(host)
    except ValueError:
        pass  # a name, not an address
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    if "." not in host.rstrip("."):
        return True  # a single label names a host of the local network (search domains)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    now = time.monotonic()
    known = _looked_up.get((host, port))
    if known is not None and now - known[0] < LOOKUP_TTL_S:
        return known[1]
    infos = []
    with trio.move_on_after(LOOKUP_TIMEOUT_S):
        try:
            infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []
    refused = any(_forbidden_address(str(info[4][0])) for info in infos)
    _looked_up[(host, port)] = (now, refused)
    _looked_up.move_to_end((host, port))
    while len(_looked_up) > LOOKUP_MEMORY:
        _looked_up.popitem(last=False)
    return refused
