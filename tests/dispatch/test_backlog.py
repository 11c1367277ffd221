"""Backpressure and recovery: a stalled SMSC, a bounded backlog, a restart, and the
operators' live stream of the actors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from tests.dispatch.support import BODY, muldes, numbers, recipients, until_ended
from tests.harness import eventually, open_stack

T = TypeVar("T")

SMALL = {"SMSGW_SMSC_WINDOW": "20", "SMSGW_SMSC_BINDS": "2", "SMSGW_ENGINE_DISPATCH_QUEUE": "64",
         "SMSGW_SMSC_PROBE_SUBMITS": "0"}
"""A small pool whose windows open at once (no probe): a stalled SMSC holds 20 a bind."""


async def test_stalled_smsc_backlog_fills_then_503_then_everything_drains(tmp_path: Path) -> None:
    env = {**SMALL, "SMSGW_GATEWAY_BACKLOG_MAX": "2000"}
    with trio.fail_after(40):
        async with open_stack(tmp_path, **env) as stack:
            sim = stack.simulator
            _, key = await stack.new_account(solde=10_000, debitMax=100_000)
            sim.stall()
            accepted: list[str] = []
            refused = None
            for batch in range(10):
                r = await stack.client.post(
                    "/api/V1/sms/muldes",
                    json={"emetteur": "ION-Networking", "corps": BODY,
                          "numeros": numbers("+24106", 500, start=batch * 500)},
                    headers={"X-API-Key": key},
                )
                if r.status_code != 202:
                    refused = r
                    break
                assert r.json()["statut"] == "EN_ATTENTE"
                accepted.append(r.json()["ref"])
            assert refused is not None, "the backlog is bounded"
            assert refused.status_code == 503
            assert refused.json()["erreur"]["code"] == "SURCHARGE"
            assert refused.json()["erreur"]["message"]
            assert int(refused.headers["Retry-After"]) > 0
            stats = stack.gateway.actors()
            held = stats["repartiteur"]
            assert held["backlog"] <= 2000
            assert held["channel_used"] <= held["channel_size"] == 2 * 64, "one channel per bind"
            binds = stats["liaisons"]
            assert all(s["window_used"] <= 20 for s in binds)
            assert all(s["channel_used"] <= s["channel_size"] == 64 for s in binds)
            # one account: its messages are on one bind at a time
            assert sorted(s["accounts"] for s in binds) == [0, 1]
            assert sum(s["outstanding"] for s in binds) == max(s["outstanding"] for s in binds)
            books = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert books["reserve"] == 500 * len(accepted), "the refused send reserved nothing"

            sim.resume()
            for ref in accepted:
                final = await until_ended(stack, key, ref, within_s=20)
                assert final["compteurs"]["ENVOYE"] == 500
            assert sim.statistics().submit_accepted == 500 * len(accepted)


async def test_waiting_messages_are_sent_after_a_restart_and_possible_resends_flagged(
    tmp_path: Path,
) -> None:
    count = 300
    with trio.fail_after(40):
        async with open_stack(tmp_path, **SMALL) as stack:
            _, key = await stack.new_account(solde=1_000, debitMax=100_000)
            stack.simulator.stall()
            send = await muldes(stack, key, numbers("+24106", count))
            # one account: on one bind, whose window fills
            await eventually(
                lambda: _window_used(stack), lambda used: used == 20, within_s=10
            )
        async with open_stack(tmp_path, **SMALL) as stack:
            final = await until_ended(stack, key, send["ref"], within_s=20)
            assert final["compteurs"]["ENVOYE"] == count
            rows = await recipients(stack, key, send["ref"])
            flagged = [r for r in rows if r["doublonPossible"]]
            # in flight (the account's bind's window, 20) or in that bind's channel
            # (64) when it stopped
            assert 20 <= len(flagged) <= 20 + 64, len(flagged)
            assert stack.simulator.statistics().submit_accepted == count
            books = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert (books["solde"], books["reserve"]) == (1_000 - count, 0)


async def _window_used(stack: object) -> int:
    await trio.lowlevel.checkpoint()
    return sum(s["window_used"] for s in stack.gateway.actors()["liaisons"])  # type: ignore[attr-defined]


async def test_actor_stream_sends_a_snapshot_each_second_and_ends_at_shutdown(
    tmp_path: Path,
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            r = await stack.client.get("/api/V1/admin/acteurs/flux")
            assert r.status_code == 401 and r.json()["erreur"]["code"]
            events: list[dict[str, Any]] = []
            async with stack.client.stream(
                "GET", "/api/V1/admin/acteurs/flux", headers=stack.admin
            ) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["cache-control"] == "no-store"
                started = trio.current_time()
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                    if len(events) == 3:
                        break
                elapsed = trio.current_time() - started
            assert {"comptes", "repartiteur", "liaisons", "stockage"} <= set(events[0])
            assert 1.5 <= elapsed < 4, "one snapshot a second"

            ended = trio.Event()
            seen: list[str] = []

            async def listen() -> None:
                async with stack.client.stream(
                    "GET", "/api/V1/admin/acteurs/flux", headers=stack.admin
                ) as response:
                    async for line in response.aiter_lines():
                        seen.append(line)
                ended.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                await eventually(_async(lambda: len(seen)), lambda n: n > 1, within_s=5)
                stack.gateway.stopping.set()
                with trio.fail_after(3):
                    await ended.wait()
            assert "event: fin" in seen


def _async(fn: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def probe() -> T:
        await trio.lowlevel.checkpoint()
        return fn()

    return probe
