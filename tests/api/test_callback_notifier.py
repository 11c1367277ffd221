"""The callback notifier never holds up the engine: a full queue drops (and counts)
instead of waiting, and a URL that keeps failing is abandoned (and counted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from engine.callbacks import CallbackNotifier
from engine.clock import WallClock
from engine.model import AccountId, MessageId, MessageStatus, Outcome, SendRef
from tests.api.conftest import UNIDES_BODY
from tests.harness import eventually, open_stack


class _StuckStore:
    """A store whose reads never finish: the notifier's consumer stays busy."""

    def __init__(self) -> None:
        self.reads = 0

    async def any_callback_url(self) -> Any:
        return await self._stuck()

    async def report(self, message_ids: Any) -> Any:
        return await self._stuck()

    async def _stuck(self) -> Any:
        self.reads += 1
        await trio.sleep_forever()


def _ended(*ids: int) -> list[Outcome]:
    return [Outcome(MessageId(i), SendRef(1), MessageStatus.ENVOYE) for i in ids]


async def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    store = _StuckStore()
    notifier = CallbackNotifier(store, WallClock(), queue_size=1)
    async with trio.open_nursery() as nursery:
        await nursery.start(notifier.serve)
        notifier.ended(AccountId(1), _ended(1, 2))  # taken by the consumer, which sticks
        await trio.testing.wait_all_tasks_blocked()
        assert store.reads == 1
        notifier.ended(AccountId(1), _ended(3))  # fills the queue
        notifier.ended(AccountId(1), _ended(4, 5, 6))  # dropped: never waits
        notifier.receipts([(7, 1, "LIVRE", "2025-10-10T08:00:00.000Z")])  # dropped
        stats = notifier.statistics()
        assert stats.queue_depth == 1
        assert stats.events_dropped == 4
        assert notifier.ended_by_statut["ENVOYE"] == 6
        nursery.cancel_scope.cancel()


async def test_a_dead_url_is_abandoned_counted_and_shown_to_operators(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            listener = trio.socket.socket()
            await listener.bind(("127.0.0.1", 0))
            dead_port = listener.getsockname()[1]
            listener.close()  # nothing listens there: every attempt is refused
            notifier = stack.gateway.callbacks
            notifier.retry_base_s = 0.01
            notifier.max_attempts = 3
            account_id, key = await stack.new_account(solde=5)
            r = await stack.client.patch(
                f"/api/V1/admin/comptes/{account_id}",
                json={"urlRappel": f"http://127.0.0.1:{dead_port}/rappel"},
                headers=stack.admin,
            )
            assert r.status_code == 200, r.text
            sent = await stack.client.post(
                "/api/V1/sms/unides", json=UNIDES_BODY, headers={"X-API-Key": key}
            )
            ref = sent.json()["ref"]
            final = await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key}),
                lambda g: g.json()["statut"] != "EN_ATTENTE",
            )
            assert final.json()["statut"] == "ENVOYE", "a dead callback URL never blocks sending"
            snapshot = await eventually(
                lambda: stack.client.get("/api/V1/admin/acteurs", headers=stack.admin),
                lambda a: a.json()["rappels"]["posts_abandoned"] >= 1,
            )
            rappels = snapshot.json()["rappels"]
            assert rappels["attempts_failed"] >= 3
            assert rappels["events_abandoned"] >= 1
            metrics = (await stack.client.get("/metrics")).text
            assert 'smsgw_callback_events_total{issue="abandonne"}' in metrics
            assert "smsgw_callback_attempts_failed_total" in metrics
