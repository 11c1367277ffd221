"""What the cluster tests ask the nodes (their public API, as a client would) and
read in the database (the books, as an auditor would)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from smsgw_cli.cluster import DB_NOW, Cluster, Node, eventually

SENDER = "ION-Networking"


def numbers(count: int, first: int = 0) -> list[str]:
    """`count` distinct valid Gabonese mobile numbers."""
    return [f"+24106{i:06d}" for i in range(first, first + count)]


def admin(cluster: Cluster, node: Node, method: str, path: str, json: Any = None) -> httpx.Response:
    """An admin call (`/api/V1/admin` + path) through `node`."""
    return httpx.request(method, node.api + "/admin" + path, json=json, timeout=30,
                         headers={"Authorization": f"Bearer {cluster.admin_token}"})


def client(node: Node, key: str, method: str, path: str, json: Any = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
    """A client call (`/api/V1` + path) through `node` with API key `key`."""
    return httpx.request(method, node.api + path, json=json, timeout=60,
                         headers={"X-API-Key": key, **(headers or {})})


def new_account(cluster: Cluster, via: Node, solde: int, **body: Any) -> tuple[int, str]:
    """A prepaid account created through `via`: its id and API key."""
    r = admin(cluster, via, "POST", "/comptes",
              {"nom": "Compte de grappe", "type": "PREPAYE", "solde": solde, **body})
    assert r.status_code == 201, f"POST /admin/comptes through {via.name}: {r.status_code} {r.text}"
    return int(r.json()["id"]), str(r.json()["cleApi"]["cle"])


def account_held_by(cluster: Cluster, holder: Node, solde: int, *, via: Node | None = None,
                    **body: Any) -> tuple[int, str]:
    """A prepaid account whose shard `holder` holds, created through `via` (default:
    `holder`): the next account id is moved (the identity's sequence) into one of
    `holder`'s shards."""
    for _ in range(5):
        with cluster.audit() as conn:
            mine = [int(s) for (s,) in conn.execute(
                f"SELECT shard FROM cluster_shards WHERE noeud = %s AND expire_le > {DB_NOW}",
                (holder.name,))]
            assert mine, f"{holder.name} holds no shard"
            row = conn.execute("SELECT pg_get_serial_sequence('accounts', 'id')").fetchone()
            assert row is not None
            sequence = str(row[0])
            row = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
            assert row is not None
            following = int(row[0]) + 1 if row[1] else int(row[0])
            target = min(following + (s - following) % cluster.shards for s in mine)
            conn.execute("SELECT setval(%s, %s, false)", (sequence, target))
        account_id, key = new_account(cluster, via or holder, solde, **body)
        if cluster.holder(account_id) is holder:
            return account_id, key
    raise AssertionError(f"5 accounts created, none held by {holder.name}")


def ended(conn: psycopg.Connection[Any], *, ref: int | None = None,
          account_id: int | None = None) -> bool:
    """Whether no recipient of one send (or of one account) is waiting any more."""
    column, value = ("ref", ref) if ref is not None else ("account_id", account_id)
    row = conn.execute(
        f"SELECT count(*) FROM messages WHERE {column} = %s AND statut = 'EN_ATTENTE'", (value,)
    ).fetchone()
    return row is not None and row[0] == 0


def statuses(conn: psycopg.Connection[Any], *, ref: int | None = None,
             account_id: int | None = None) -> dict[str, int]:
    """Recipients by `statut` (and `ECHEC/<raison>`), of one send or one account."""
    column, value = ("ref", ref) if ref is not None else ("account_id", account_id)
    counts: dict[str, int] = {}
    for statut, raison, n in conn.execute(
        f"SELECT statut, raison, count(*) FROM messages WHERE {column} = %s GROUP BY statut, raison",
        (value,),
    ):
        counts[statut] = counts.get(statut, 0) + n
        if raison:
            counts[f"{statut}/{raison}"] = n
    return counts


def wait_ended(cluster: Cluster, ref: int, timeout_s: float) -> None:
    """Until every recipient of send `ref` has ended (ENVOYE or ECHEC)."""
    with cluster.audit() as conn:
        try:
            eventually(lambda: ended(conn, ref=ref), timeout_s, every_s=0.1)
        except TimeoutError:
            raise AssertionError(f"{ref} not ended in {timeout_s} s: {statuses(conn, ref=ref)}") from None


def wait_settled(cluster: Cluster, account_id: int, timeout_s: float) -> None:
    """Until every recipient of the account's sends has ended."""
    with cluster.audit() as conn:
        try:
            eventually(lambda: ended(conn, account_id=account_id), timeout_s, every_s=0.1)
        except TimeoutError:
            counts = statuses(conn, account_id=account_id)
            raise AssertionError(f"account {account_id} not settled in {timeout_s} s: {counts}") from None


@dataclass(frozen=True, slots=True)
class Books:
    """An account's stored ledger and the sums of its journal by kind."""

    solde: int
    reserve: int
    debite: int
    credite: int
    journal: dict[str, int]
    lowest_solde: int
    """The lowest available balance the journal passed through, entry by entry."""

    def balance(self) -> bool:
        """Credits = balance + reserved + debited, and the journal says the same."""
        j = self.journal.get
        return (
            self.credite == self.solde + self.reserve + self.debite
            and j("CREDIT", 0) == self.credite
            and j("DEBIT", 0) == self.debite
            and j("RESERVATION", 0) - j("DEBIT", 0) - j("LIBERATION", 0) == self.reserve
        )


def books(conn: psycopg.Connection[Any], account_id: int) -> Books:
    row = conn.execute(
        "SELECT solde, reserve, debite, credite FROM accounts WHERE id = %s", (account_id,)
    ).fetchone()
    assert row is not None, f"no account {account_id}"
    journal: dict[str, int] = {}
    solde = lowest = 0
    effect = {"CREDIT": 1, "RESERVATION": -1, "LIBERATION": 1}
    for kind, amount in conn.execute(
        "SELECT kind, amount FROM journal WHERE account_id = %s ORDER BY id", (account_id,)
    ):
        journal[kind] = journal.get(kind, 0) + amount
        solde += effect.get(kind, 0) * amount
        lowest = min(lowest, solde)
    return Books(row[0], row[1], row[2], row[3], journal, lowest)


def debits_by_ref(conn: psycopg.Connection[Any], account_id: int) -> dict[int, int]:
    """The journal's debits of each send of the account."""
    return {int(ref): int(total) for ref, total in conn.execute(
        "SELECT ref, sum(amount) FROM journal WHERE account_id = %s AND kind = 'DEBIT' GROUP BY ref",
        (account_id,),
    )}


def sent_by_ref(conn: psycopg.Connection[Any], account_id: int) -> dict[int, int]:
    """Segments of the account's ENVOYE recipients, by send."""
    return {int(ref): int(total) for ref, total in conn.execute(
        "SELECT ref, sum(segments) FROM messages WHERE account_id = %s AND statut = 'ENVOYE'"
        " GROUP BY ref",
        (account_id,),
    )}
