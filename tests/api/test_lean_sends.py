"""UNIDES and MULDES have two front doors: the lean ASGI one that serves them, and
the Quart views behind it. Both must answer every request the same way: the
same status, the same JSON, the same headers that matter (Retry-After,
Connection), the same request metrics. The gateway is served a second time with
Quart alone and every case of the bad-input table, plus accepted sends, goes
to both."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from tests.api.conftest import MULDES_BODY, UNIDES_BODY
from tests.api.test_bad_inputs import CASES
from tests.harness import open_stack

SENDS = ("/api/V1/sms/unides", "/api/V1/sms/muldes")


def _requests(key: str) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """(name, path, headers, body) for each POST to compare."""
    out = []
    for case in CASES:
        if case.method != "POST" or case.path not in SENDS:
            continue
        headers = {k: v.format(key=key) for k, v in case.headers.items()}
        content = case.raw
        if content is None and case.body is not None:
            content = json.dumps(case.body).encode()
        if content is not None:
            headers["Content-Type"] = case.content_type
        out.append((case.name, case.path, headers, content))
    good = {"X-API-Key": key, "Content-Type": "application/json"}
    out += [
        ("UNIDES accepted", SENDS[0], good, json.dumps(UNIDES_BODY).encode()),
        ("MULDES accepted", SENDS[1], good, json.dumps(MULDES_BODY).encode()),
        ("MULDES with a duplicate and a bad number", SENDS[1], good, json.dumps(
            {**MULDES_BODY, "numeros": ["+24106123456", "+24106123456", "pas un numéro"]}
        ).encode()),
        ("charset in the content type", SENDS[0],
         {**good, "Content-Type": "application/json; charset=utf-8"},
         json.dumps(UNIDES_BODY).encode()),
        ("Idempotency-Key too long", SENDS[0], {**good, "Idempotency-Key": "k" * 129},
         json.dumps(UNIDES_BODY).encode()),
    ]
    return out


def _comparable(r: httpx.Response) -> tuple[Any, ...]:
    body = r.json()
    if r.status_code == 202:
        body.pop("ref")  # two sends, two refs
    return (r.status_code, r.headers.get("content-type"), body,
            r.headers.get("retry-after"), r.headers.get("connection"))


def _send_counts(metrics_text: str) -> dict[tuple[tuple[str, str], ...], float]:
    """smsgw_http_requests_total of the two send routes, by labels; and the
    latency histogram's count for them."""
    return {
        (("name", s.name), *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name in ("smsgw_http_requests_total", "smsgw_http_request_seconds_count",
                      "smsgw_messages_accepted_total")
        and s.labels.get("route", SENDS[0]) in SENDS
    }


async def test_lean_door_answers_as_the_quart_views(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack, trio.open_nursery() as nursery:
            quart_only = create_app(stack.gateway, stack.settings, stack.running.admin_token)
            del quart_only.asgi_app  # Quart's own dispatch, without the lean door
            config = Config()
            config.bind = ["127.0.0.1:0"]
            config.accesslog = None
            stop = trio.Event()
            binds = await nursery.start(
                partial(serve, quart_only, config, shutdown_trigger=stop.wait)
            )
            _, key = await stack.new_account(solde=1_000)
            async with httpx.AsyncClient(base_url=binds[0], timeout=30) as quart_client:
                cases = _requests(key)
                assert len(cases) >= 30
                differences = []
                for name, path, headers, content in cases:
                    lean = await stack.client.post(path, content=content, headers=headers)
                    reference = await quart_client.post(path, content=content, headers=headers)
                    ours, theirs = _comparable(lean), _comparable(reference)
                    if ours != theirs:
                        differences.append(f"{name}: {ours} != {theirs}")
                assert not differences, "\n".join(differences)
                lean_counts = _send_counts((await stack.client.get("/metrics")).text)
                reference_counts = _send_counts((await quart_client.get("/metrics")).text)
                assert lean_counts == reference_counts
                requests = [v for k, v in lean_counts.items()
                            if k[0] == ("name", "smsgw_http_requests_total")]
                assert sum(requests) == len(cases)
            stop.set()
