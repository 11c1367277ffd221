"""Shared helpers for the REST API tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from engine.store.sql import Connection
from tests.harness import Stack

UNIDES_BODY = {
    "emetteur": "ION-Networking",
    "destinataire": "+24106123456",
    "corps": "Bienvenue sur SMS Gateway !",
}
MULDES_BODY = {
    "emetteur": "ION-Networking",
    "numeros": ["+24106123456", "+24107456789", "+24106234567"],
    "corps": "Profitez de nos offres exclusives SMS Gateway !",
}


@dataclass(frozen=True)
class Footprint:
    """What a request could leave behind: rows and every account's money."""

    sends: int
    messages: int
    idempotency: int
    journal: int
    accounts: tuple[tuple[Any, ...], ...]


async def footprint(stack: Stack) -> Footprint:
    def read(conn: Connection) -> Footprint:
        def count(table: str) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608

        return Footprint(
            sends=count("sends"),
            messages=count("messages"),
            idempotency=count("idempotency"),
            journal=count("journal"),
            accounts=tuple(
                conn.execute("SELECT id, solde, reserve, consommation FROM accounts ORDER BY id")
            ),
        )

    result: Footprint = await stack.gateway.store.read(read)
    return result


def accepted_counts(metrics_text: str) -> dict[tuple[str, str], float]:
    """smsgw_messages_accepted_total from a /metrics page, by (type, statut)."""
    return {
        (s.labels["type"], s.labels["statut"]): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name == "smsgw_messages_accepted_total"
    }
