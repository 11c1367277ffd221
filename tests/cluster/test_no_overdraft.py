"""An account's balance is decided in one place whichever node a send reaches:
concurrent sends spread over two nodes never overdraw it."""

from __future__ import annotations

from collections import Counter

import httpx
import trio

from smsgw_cli.cluster import Cluster
from tests.cluster.books import SENDER, account_held_by, books, client, numbers, statuses, wait_settled

CREDITS = 1_000
SENDS = 3_000
CONNECTIONS = 16


async def test_concurrent_sends_through_both_nodes_send_exactly_the_credits(cluster: Cluster) -> None:
    first, second = cluster.nodes
    account_id, key = account_held_by(cluster, first, solde=CREDITS)
    answers: Counter[str] = Counter()
    refs: dict[str, list[int]] = {"ENVOYE": [], "ECHEC": []}
    todo = list(enumerate(numbers(SENDS)))

    async def worker(http: httpx.AsyncClient) -> None:
        while todo:
            i, number = todo.pop()
            node = (first, second)[i % 2]
            r = await http.post(node.api + "/sms/unides", headers={"X-API-Key": key},
                                json={"emetteur": SENDER, "destinataire": number, "corps": f"n°{i}"})
            assert r.status_code == 202, r.text
            statut = r.json()["statut"]
            answers[statut] += 1
            refs["ECHEC" if statut == "ECHEC" else "ENVOYE"].append(int(r.json()["ref"]))

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    with trio.fail_after(180):  # a deadline, not a speed target
        async with httpx.AsyncClient(timeout=60, limits=limits) as http, trio.open_nursery() as nursery:
            for _ in range(CONNECTIONS):
                nursery.start_soon(worker, http)

    # refused at once for want of credit, or accepted (EN_ATTENTE, or ENVOYE already)
    assert answers["ECHEC"] == SENDS - CREDITS, answers
    assert len(refs["ENVOYE"]) == CREDITS, answers
    wait_settled(cluster, account_id, 30)
    with cluster.audit() as conn:
        counts = statuses(conn, account_id=account_id)
        assert counts == {"ENVOYE": CREDITS, "ECHEC": SENDS - CREDITS,
                          "ECHEC/SOLDE_INSUFFISANT": SENDS - CREDITS}, counts
        held = books(conn, account_id)
        assert (held.solde, held.reserve, held.debite, held.credite) == (0, 0, CREDITS, CREDITS), held
        assert held.balance() and held.lowest_solde >= 0, held
        # one debit of one credit for each accepted send, none for a refused one
        debited = dict(conn.execute(
            "SELECT ref, sum(amount) FROM journal WHERE account_id = %s AND kind = 'DEBIT' GROUP BY ref",
            (account_id,)).fetchall())
        assert sorted(debited) == sorted(refs["ENVOYE"]) and set(debited.values()) == {1}
    for node in (first, second):
        compte = client(node, key, "GET", "/compte").json()
        assert (compte["solde"], compte["reserve"]) == (0, 0), (node.name, compte)
    assert cluster.simulator.stats()["submit_accepted"] == CREDITS
