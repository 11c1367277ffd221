"""Forwarding to the node that holds an account (a cluster's node-to-node API).

On a node of a cluster (`engine.cluster`), each account is served by the one node
holding its shard: its actor decides its balance, order and rate there. This
ASGI layer, inside `whole_bodies` and before every other, finds the account a
request is for without running it:
- an API key (`X-API-Key`): its account;
- an administration path naming an account (`/api/V1/admin/comptes/{id}...`, the
  console's `/operateur/comptes/{id}...`) or an invoice
  (`/api/V1/admin/factures/{id}...`);
- a client-space session cookie: its account.
When another node holds that account, the request goes there whole (method,
path, query, headers, body) and its answer comes back as it is. A forwarded
request carries `X-Smsgw-Relais`, a token derived from `cluster.secret`
(compared in constant time): the node receiving it serves it itself, or, when
it no longer holds the account (the shard just moved), answers 503 with
`X-Smsgw-Non-Detenteur` and the forwarding node asks again (at most three
times). While an account's shard has no live holder (a node died and its lease
has not run out), the request waits, at most three leases, then gets 503
COMPTE_INDISPONIBLE.

A gateway alone on its store has no such layer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any, Protocol

import httpx

from api.bodies import ASGIApp, ASGIReceive, ASGISend, replay
from engine.errors import Unavailable
from engine.gateway import Gateway
from engine.model import AccountId

log = logging.getLogger(__name__)

RELAY_HEADER = "x-smsgw-relais"
NOT_HOLDER_HEADER = "x-smsgw-non-detenteur"
_ATTEMPTS = 3
_HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
_ACCOUNT_PATHS = re.compile(r"^/(?:api/V1/admin|operateur)/comptes/(\d{1,18})(?:/|$)")
_INVOICE_PATH = re.compile(r"^/api/V1/admin/factures/(\d{1,18})(?:/|$)")
_UNAVAILABLE = b'{"erreur":{"code":"COMPTE_INDISPONIBLE","message":"%s","details":[]}}\n'

class Holders(Protocol):
    """Who serves which account (`Gateway.cluster` on a node of a cluster)."""

    secret: str

    def holds(self, account_id: AccountId) -> bool: ...

    async def holder(self, account_id: AccountId) -> str | None: ...

    def note_forward(self) -> None: ...

    def refresh_soon(self, account_id: AccountId) -> None: ...


SessionReader = Callable[[str], int | None]
"""A session cookie's value -> the client account it carries, if valid."""


def relay_token(secret: str) -> str:
    """What a forwarded request carries: derived from the shared secret, so the
    secret itself never travels."""
    return hmac.new(secret.encode(), b"smsgw/relais/v1", hashlib.sha256).hexdigest()


class Relay:
    """The ASGI layer (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        gateway: Gateway,
        cluster: Holders,
        session_account: SessionReader,
        *,
        timeout_s: float = 60.0,
    ) -> None:
        self._app = app
        self._gateway = gateway
        self._cluster = cluster
        self._session_account = session_account
        self._token = relay_token(cluster.secret).encode()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )
        self.refused = 0
        """Forwarded requests this node refused: it no longer held the account."""

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        relayed = headers.get(RELAY_HEADER.encode())
        if relayed is not None and hmac.compare_digest(relayed, self._token):
            await self._served_here(scope, receive, send, headers)
            return
        account = await self._account(scope, headers)
        if account is None or self._cluster.holds(account):
            await self._app(scope, receive, send)
            return
        body = await _whole_body(receive)
        for _ in range(_ATTEMPTS):
            try:
                url = await self._cluster.holder(account)
            except Unavailable as exc:
                await _answer(send, 503, _UNAVAILABLE % exc.message.encode(), retry_after=True)
                return
            if url is None:
                await self._app(scope, replay(body, receive), send)
                return
            try:
                answered = await self._forward(url, scope, body, send)
            except httpx.HTTPError as exc:
                log.warning("forwarding to %s failed: %s", url, exc)
                self._cluster.refresh_soon(account)
                continue
            if answered:
                return
            self._cluster.refresh_soon(account)
        message = "Ce compte change de nœud : réessayez dans un instant."
        await _answer(send, 503, _UNAVAILABLE % message.encode(), retry_after=True)

    async def _served_here(
        self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend,
        headers: dict[bytes, bytes],
    ) -> None:
        """A request another node forwarded: served here if this node still holds
        its account, else refused so that node asks again."""
        account = await self._account(scope, headers)
        if account is not None and not self._cluster.holds(account):
            self.refused += 1
            message = "Ce nœud ne tient plus ce compte."
            await _answer(send, 503, _UNAVAILABLE % message.encode(), not_holder=True)
            return
        await self._app(scope, receive, send)

    async def _account(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> AccountId | None:
        """The account the request is for, when it names one."""
        key = headers.get(b"x-api-key")
        if key:
            try:
                return await self._gateway.access.account_of(key.decode("latin-1"))
            except UnicodeDecodeError:
                return None
        path: str = scope["path"]
        found = _ACCOUNT_PATHS.match(path)
        if found:
            return AccountId(int(found.group(1)))
        found = _INVOICE_PATH.match(path)
        if found:
            invoice = await self._gateway.store.accounts.invoice(int(found.group(1)))
            return None if invoice is None else AccountId(invoice.account_id)
        cookie = headers.get(b"cookie")
        if cookie and path.startswith("/espace"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie names nobody
                return None
            morsel = jar.get("smsgw_session")
            if morsel is not None:
                account = self._session_account(morsel.value)
                return None if account is None else AccountId(account)
        return None

    async def _forward(
        self, url: str, scope: dict[str, Any], body: bytes, send: ASGISend
    ) -> bool:
        """Send the request to `url` and pass its answer on; False when that node
        answered it no longer holds the account (nothing sent on then)."""
        target = url.rstrip("/") + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.lower() not in _HOP_BY_HOP and name.lower() != RELAY_HEADER.encode()
        ]
        headers.append((RELAY_HEADER, self._token.decode()))
        self._cluster.note_forward()
        response = await self._client.request(
            scope["method"], target, headers=headers, content=body
        )
        if response.status_code == 503 and response.headers.get(NOT_HOLDER_HEADER):
            return False
        out = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.multi_items()
            if name.lower().encode() not in _HOP_BY_HOP
            and name.lower() not in ("content-encoding", NOT_HOLDER_HEADER)
        ]
        content = response.content
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})
        return True

    async def aclose(self) -> None:
        await self._client.aclose()


async def _whole_body(receive: ASGIReceive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)


async def _answer(
    send: ASGISend, status: int, body: bytes, *, retry_after: bool = False,
    not_holder: bool = False,
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    if not_holder:
        headers.append((NOT_HOLDER_HEADER.encode(), b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
