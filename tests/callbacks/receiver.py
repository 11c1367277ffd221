"""A callback receiver for tests: a real HTTP/1.1 server on 127.0.0.1, port 0, in
its own thread, that records every POST and answers 500 while `failing` is set
(and 200 otherwise). It verifies signatures as the README tells integrators to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    body: bytes
    signature: str
    content_type: str
    answered: int

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(json.loads(self.body)["evenements"])


def signature_ok(secret: str, body: bytes, header: str, tolerance_s: float = 300) -> bool:
    """What a receiver checks (the README's few lines)."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= tolerance_s
    return fresh and hmac.compare_digest(expected, fields["v1"])


class Receiver:
    def __init__(self, *, failing: bool = False) -> None:
        self.failing = failing
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 500 if receiver.failing else 200
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            body,
                            self.headers.get("X-SMSGW-Signature", ""),
                            self.headers.get("Content-Type", ""),
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/rappels"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.answered == 200]

    def accepted_events(self) -> list[dict[str, Any]]:
        return [e for r in self.accepted() for e in r.events]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.requests)
