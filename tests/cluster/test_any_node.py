"""Any node answers any request as one gateway would: accounts, keys, idempotent
sends and SMPP binds seen through two nodes on one database."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from smsgw_cli.cluster import Cluster, Node, eventually
from tests.cluster.books import (
    SENDER,
    account_held_by,
    admin,
    books,
    client,
    debits_by_ref,
    numbers,
    sent_by_ref,
    statuses,
    wait_ended,
)

REVOCATION_S = 1.0
"""The contract: every node refuses a revoked or replaced key within 1 s."""


def test_an_account_created_through_one_node_sends_and_reads_through_the_other(
    cluster: Cluster,
) -> None:
    first, second = cluster.nodes
    # one account each node holds, both created through the first: the second serves
    # one itself and forwards the other's requests to the first
    for holder in (first, second):
        account_id, key = account_held_by(cluster, holder, solde=10, via=first)
        r = admin(cluster, second, "POST", f"/comptes/{account_id}/credit", {"montant": 5})
        assert r.status_code == 200, r.text
        r = client(second, key, "POST", "/sms/unides",
                   {"emetteur": SENDER, "destinataire": "+24106000001", "corps": "Bonjour"})
        assert r.status_code == 202, r.text
        ref = r.json()["ref"]
        for node in (first, second):
            assert eventually(partial(sent, node, key, ref), 15, what=f"{ref} ENVOYE through {node.name}")
            compte = client(node, key, "GET", "/compte").json()
            assert (compte["id"], compte["solde"], compte["reserve"]) == (account_id, 14, 0), compte
            detail = admin(cluster, node, "GET", f"/comptes/{account_id}").json()
            assert detail["solde"] == 14, detail


def sent(node: Node, key: str, ref: str) -> bool:
    return bool(client(node, key, "GET", f"/sms/{ref}").json()["statut"] == "ENVOYE")


def test_one_idempotency_key_through_both_nodes_sends_and_charges_once(cluster: Cluster) -> None:
    first, second = cluster.nodes
    account_id, key = account_held_by(cluster, first, solde=10)
    body = {"emetteur": SENDER, "destinataire": "+24106000002", "corps": "Une seule fois"}
    headers = {"Idempotency-Key": "commande-2026-0042"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda node: client(node, key, "POST", "/sms/unides", body, headers),
            [first, second] * 4,
        ))
    assert [r.status_code for r in answers] == [202] * 8, [r.text for r in answers]
    refs = {r.json()["ref"] for r in answers}
    assert len(refs) == 1, refs
    ref = int(refs.pop())
    wait_ended(cluster, ref, 15)
    with cluster.audit() as conn:
        sends = conn.execute("SELECT count(*) FROM sends WHERE account_id = %s", (account_id,)).fetchone()
        assert sends == (1,)
        assert statuses(conn, account_id=account_id) == {"ENVOYE": 1}
        assert debits_by_ref(conn, account_id) == {ref: 1}
        held = books(conn, account_id)
        assert (held.solde, held.reserve, held.debite) == (9, 0, 1), held
        assert held.journal.get("RESERVATION") == 1 and held.balance(), held
    # the same key with another body is a conflict on either node
    for node in (first, second):
        r = client(node, key, "POST", "/sms/unides", {**body, "corps": "Autre"}, headers)
        assert r.status_code == 409, r.text


def test_a_key_replaced_or_revoked_through_one_node_is_refused_by_the_other_within_a_second(
    cluster: Cluster,
) -> None:
    first, second = cluster.nodes
    account_id, key = account_held_by(cluster, first, solde=1)
    # both nodes have seen (and may remember) the key
    for node in (first, second):
        assert client(node, key, "GET", "/compte").status_code == 200

    r = client(first, key, "POST", "/compte/cle")
    assert r.status_code == 201, r.text
    replaced_at = time.monotonic()
    new_key = r.json()["cleApi"]["cle"]
    eventually(lambda: client(second, key, "GET", "/compte").status_code == 401, REVOCATION_S,
               every_s=0.02, what="the replaced key refused by the other node")
    assert time.monotonic() - replaced_at <= REVOCATION_S
    assert client(second, new_key, "GET", "/compte").status_code == 200

    r = client(second, new_key, "POST", "/compte/cles", {"nom": "serveur de secours"})
    assert r.status_code == 201, r.text
    spare, spare_id = r.json()["cle"], r.json()["id"]
    assert client(first, spare, "GET", "/compte").status_code == 200
    r = client(second, new_key, "DELETE", f"/compte/cles/{spare_id}")
    assert r.status_code == 204, r.text
    revoked_at = time.monotonic()
    eventually(lambda: client(first, spare, "GET", "/compte").status_code == 401, REVOCATION_S,
               every_s=0.02, what="the revoked key refused by the other node")
    assert time.monotonic() - revoked_at <= REVOCATION_S
    r = client(first, spare, "POST", "/sms/unides",
               {"emetteur": SENDER, "destinataire": "+24106000003", "corps": "Refusé"})
    assert r.status_code == 401 and r.json()["erreur"]["code"] == "CLE_API_INVALIDE", r.text


def test_each_node_sends_its_accounts_over_its_own_binds_to_the_smsc(cluster: Cluster) -> None:
    first, second = cluster.nodes
    before = {node.name: accepted(cluster, node) for node in (first, second)}
    sends: dict[str, tuple[int, int]] = {}
    for holder, via, start in ((first, second, 0), (second, first, 100)):
        account_id, key = account_held_by(cluster, holder, solde=50)
        r = client(via, key, "POST", "/sms/muldes",
                   {"emetteur": SENDER, "numeros": numbers(50, start), "corps": "Par ses liaisons"})
        assert r.status_code == 202, r.text
        sends[holder.name] = (account_id, int(r.json()["ref"]))
    for account_id, ref in sends.values():
        wait_ended(cluster, ref, 20)
        with cluster.audit() as conn:
            assert statuses(conn, ref=ref) == {"ENVOYE": 50}
            assert sent_by_ref(conn, account_id) == debits_by_ref(conn, account_id) == {ref: 50}

    stats = cluster.simulator.stats()
    assert stats["submit_accepted"] == 100 and stats["duplicates"] == 0, stats
    connections: dict[str, set[int]] = {}
    log = cluster.simulator.control("GET", "/submitted?limit=200")["messages"]
    for holder, start in ((first, 0), (second, 100)):
        mine = {n.lstrip("+") for n in numbers(50, start)}
        connections[holder.name] = {m["connection"] for m in log if m["destination"].lstrip("+") in mine}
    # each node's messages left on its own SMPP connections, not on the other's
    assert connections[first.name] and connections[second.name], connections
    assert not connections[first.name] & connections[second.name], connections
    # and each node's own binds report them
    for node in (first, second):
        assert accepted(cluster, node) - before[node.name] == 50, node.name


def accepted(cluster: Cluster, node: Node) -> int:
    """Submits the SMSC accepted on the node's binds, all bound (its actors snapshot)."""
    liaisons = admin(cluster, node, "GET", "/acteurs").json()["liaisons"]
    assert liaisons and all(b["state"] == "LIE" for b in liaisons), (node.name, liaisons)
    return sum(int(b["accepted"]) for b in liaisons)
