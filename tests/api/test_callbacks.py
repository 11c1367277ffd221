"""Status callbacks: a real HTTP server on port 0 receives signed JSON POSTs, and
what it refused is delivered again, unchanged, after backoff."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from engine.callbacks import SIGNATURE_HEADER, secret_for_key
from tests.api.conftest import UNIDES_BODY
from tests.harness import eventually, open_stack


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    answered: int


@dataclass
class CallbackServer:
    """Answers 500 to the first `failures` requests, then 200."""

    failures: int
    requests: list[Received] = field(default_factory=list)

    async def handle(self, stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            body += chunk
        status = 500 if len(self.requests) < self.failures else 200
        self.requests.append(Received(body, headers, status))
        reason = b"OK" if status == 200 else b"Internal Server Error"
        await stream.send_all(
            b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (status, reason)
        )
        await stream.aclose()


def _signature_ok(key: str, received: Received) -> bool:
    secret = hashlib.sha256(key.encode()).hexdigest()
    assert secret == secret_for_key(key)
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers.get(SIGNATURE_HEADER.lower(), ""))


async def test_callbacks_are_signed_and_retried_until_the_server_accepts(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack, trio.open_nursery() as nursery:
            server = CallbackServer(failures=2)
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            stack.gateway.callbacks.retry_base_s = 0.05
            account_id, key = await stack.new_account(solde=10)
            r = await stack.client.patch(
                f"/api/V1/admin/comptes/{account_id}",
                json={"urlRappel": f"http://127.0.0.1:{port}/rappels/sms"},
                headers=stack.admin,
            )
            assert r.status_code == 200, r.text
            sent = await stack.client.post(
                "/api/V1/sms/unides", json=UNIDES_BODY, headers={"X-API-Key": key}
            )
            assert sent.status_code == 202
            ref = sent.json()["ref"]

            def events_accepted() -> list[dict[str, Any]]:
                return [
                    e
                    for req in server.requests
                    if req.answered == 200
                    for e in json.loads(req.body)["evenements"]
                ]

            async def probe() -> list[dict[str, Any]]:
                return events_accepted()

            events = await eventually(
                probe,
                lambda evs: any(e["type"] == "STATUT" for e in evs)
                and any(e["livraison"] for e in evs),
                within_s=15,
            )
            nursery.cancel_scope.cancel()

        assert [r.answered for r in server.requests[:2]] == [500, 500]
        assert all(_signature_ok(key, r) for r in server.requests), "every POST is signed"
        refused = {r.body for r in server.requests if r.answered == 500}
        accepted = {r.body for r in server.requests if r.answered == 200}
        assert refused <= accepted, "a refused body is delivered again, unchanged"
        status = next(e for e in events if e["type"] == "STATUT")
        assert status["ref"] == ref
        assert status["destinataire"] == "+24106123456"
        assert status["statut"] == "ENVOYE"
        assert any(e["livraison"] == "LIVRE" for e in events)
        assert all(r.headers["content-type"].startswith("application/json") for r in server.requests)
        stats = stack.gateway.callbacks.statistics()
        assert stats.attempts_failed >= 2
        assert stats.posts_abandoned == 0 and stats.events_dropped == 0
