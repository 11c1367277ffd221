"""HTTP connections on real sockets: a keep-alive connection stays usable after
an answer given before the request's body was needed, and clients trickling a
body are answered 408 and disconnected after `http.body_timeout_s`, while other
clients are served."""

from __future__ import annotations

import resource
import socket
from pathlib import Path

import trio
import trio.testing

from tests.harness import open_stack

BODY = b'{"nom": "Banque", "type": "PREPAYE", "corps": "' + b"x" * 300_000 + b'"}'
"""Large enough to be still arriving when a refusal that needs no body is ready."""


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def read_answer(sock: socket.socket) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP/1.1 answer (status, headers, body) with a Content-Length."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {buffer!r}"
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of an answer"
        body += chunk
    assert len(body) == length, "more bytes than one answer: the next one came unasked"
    return int(status_line.split()[1]), headers, body


def keep_alive_sequences(url: str, rounds: int) -> list[int]:
    """`rounds` times, on one connection: a GET, then POSTs answered without their
    body (a wrong admin token, a wrong API key on a route that reads no body),
    each with a body still arriving when its refusal is ready. The statuses."""
    statuses = []
    with socket.create_connection(_address(url), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            sock.sendall(b"GET /api/V1/sante HTTP/1.1\r\nHost: t\r\n\r\n")
            status, headers, _ = read_answer(sock)
            statuses.append(status)
            for target, auth in (
                (b"/api/V1/admin/comptes", b"Authorization: Bearer faux"),
                (b"/api/V1/compte/cle", b"X-API-Key: 5ac1a3d4-92b8-4f5e-993c-19b41c2f8e31"),
            ):
                sock.sendall(
                    b"POST " + target + b" HTTP/1.1\r\nHost: t\r\n" + auth
                    + b"\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(BODY)).encode() + b"\r\n\r\n"
                )
                sock.sendall(BODY)
                status, headers, _ = read_answer(sock)
                assert headers.get(b"connection") != b"close"
                statuses.append(status)
    return statuses


async def test_a_keep_alive_connection_answers_every_request_after_early_refusals(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            statuses = await trio.to_thread.run_sync(
                keep_alive_sequences, stack.running.http_url, 100
            )
            assert statuses == [200, 403, 401] * 100


def enough_files(needed: int) -> None:
    """Raise this process's open-file limit to `needed` (both ends of every
    connection live here), or fail saying why."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        assert hard == resource.RLIM_INFINITY or hard >= needed, (
            f"this test opens {needed} files; the hard limit is {hard} (ulimit -Hn)"
        )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def _connect(url: str) -> trio.SocketStream:
    host, port = _address(url)
    return await trio.open_tcp_stream(host, port)


async def _answer_then_close(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := await stream.receive_some(65536):
        received += chunk
    return received


SLOW_HEADERS = (
    b"POST /api/V1/sms/unides HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"X-API-Key: 5ac1a3d4-92b8-4f5e-993c-19b41c2f8e31\r\nContent-Length: 100\r\n\r\n{"
)


async def test_slow_bodies_are_answered_408_and_closed_while_others_are_served(
    tmp_path: Path,
) -> None:
    slow, batch = 500, 100
    enough_files(4 * slow)
    with trio.fail_after(90):
        async with open_stack(tmp_path, SMSGW_HTTP_BODY_TIMEOUT_S="5") as stack:
            url = stack.running.http_url
            answers: dict[int, bytes] = {}

            async def trickle(number: int, task_status: trio.TaskStatus[None]) -> None:
                stream = await _connect(url)
                async with stream:
                    await stream.send_all(SLOW_HEADERS)
                    task_status.started()
                    answers[number] = await _answer_then_close(stream)

            async with trio.open_nursery() as nursery:
                for first in range(0, slow, batch):
                    async with trio.open_nursery() as opening:
                        for number in range(first, first + batch):
                            opening.start_soon(nursery.start, trickle, number)
                    r = await stack.client.get("/api/V1/sante")
                    assert r.status_code == 200
                    still_open = [n for n in range(first, first + batch) if n not in answers]
                    assert still_open, "the request was served only after the slow clients were ended"
            assert sorted(answers) == list(range(slow))
            for answer in answers.values():
                head, _, body = answer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
                assert b"connection: close" in head.lower()
                assert b'"code":"REQUETE_TROP_LENTE"' in body
            r = await stack.client.get("/api/V1/sante")
            assert r.status_code == 200


async def test_connections_past_the_cap_wait_until_one_closes(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(
            tmp_path, SMSGW_HTTP_MAX_CONNECTIONS="20", SMSGW_HTTP_BODY_TIMEOUT_S="30"
        ) as stack:
            url = stack.running.http_url
            held = []
            for _ in range(20):
                stream = await _connect(url)
                await stream.send_all(SLOW_HEADERS)
                held.append(stream)
            waiting = socket.create_connection(_address(url), timeout=5)
            waiting.sendall(b"GET /api/V1/sante HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            await trio.testing.wait_all_tasks_blocked(cushion=0.2)
            waiting.setblocking(False)
            try:
                early = waiting.recv(1)
            except BlockingIOError:
                early = b""
            assert early == b"", "a connection past the cap was served"
            await held.pop().aclose()
            extra = trio.SocketStream(trio.socket.from_stdlib_socket(waiting))
            answer = await _answer_then_close(extra)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            for stream in held:
                await stream.aclose()
            await extra.aclose()


async def test_oversized_headers_and_bodies_are_refused_and_closed(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(
            tmp_path, SMSGW_HTTP_MAX_HEADER_BYTES="2048", SMSGW_HTTP_MAX_BODY_BYTES="4096"
        ) as stack:
            for target, status in (
                (b"/api/V1/admin/comptes", b"413"),
                (b"/api/V1/sms/unides", b"413"),
                (b"/espace/connexion", b"403"),  # no CSRF token: refused before its body
            ):
                stream = await _connect(stack.running.http_url)
                async with stream:
                    await stream.send_all(
                        b"POST " + target + b" HTTP/1.1\r\nHost: t\r\n"
                        b"Authorization: Bearer jeton-admin-de-test\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
                    )
                    answer = await _answer_then_close(stream)
                assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
                assert b"connection: close" in answer.lower()
            for request in (
                b"GET /api/V1/sante HTTP/1.1\r\nHost: t\r\nX-Long: " + b"a" * 4096 + b"\r\n\r\n",
                b"GET /api/V1/sante?" + b"a" * 4096 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                b"POST /api/V1/sms/unides HTTP/1.1\r\nHost: t\r\n"
                + b"".join(b"X-%d: v\r\n" % n for n in range(600)) + b"\r\n",
            ):
                stream = await _connect(stack.running.http_url)
                async with stream:
                    await stream.send_all(request)
                    answer = await _answer_then_close(stream)
                assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            r = await stack.client.get("/api/V1/sante", headers={"X-Court": "a" * 512})
            assert r.status_code == 200
