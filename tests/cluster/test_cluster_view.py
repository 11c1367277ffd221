"""The operator's view of two nodes: GET /api/V1/admin/cluster, /metrics and the
console's Cluster page, through either node, show both nodes live, every shard held
by exactly one of them, and the commands one forwards to the other."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from smsgw_cli.cluster import Cluster, Node, eventually
from tests.cluster.books import account_held_by, admin, client
from tests.harness import csrf_of

FORWARDED_WITHIN_S = 15.0


def test_both_nodes_show_the_shards_shared_and_what_one_forwards(cluster: Cluster) -> None:
    first, second = cluster.nodes
    account_id, key = account_held_by(cluster, first, solde=10)
    views = {node.name: admin(cluster, node, "GET", "/cluster") for node in (first, second)}
    for node in (first, second):
        assert views[node.name].status_code == 200, views[node.name].text
        assert views[node.name].json()["noeud"] == node.name
    view = views[first.name].json()
    by_name = {n["noeud"]: n for n in view["noeuds"]}
    assert set(by_name) == {first.name, second.name}
    assert all(n["vivant"] for n in by_name.values())
    assert {name: n["url"] for name, n in by_name.items()} == {first.name: first.url, second.name: second.url}
    held = [set(by_name[n.name]["partitions"]) for n in (first, second)]
    assert held[0] and held[1] and not held[0] & held[1]
    assert held[0] | held[1] == set(range(view["partitions"]))
    assert account_id % view["partitions"] in held[0]

    def second_forwards() -> bool:
        for _ in range(10):  # the second node forwards every request of the account
            assert client(second, key, "GET", "/compte").status_code == 200
        now = admin(cluster, first, "GET", "/cluster").json()
        return bool(next(n for n in now["noeuds"] if n["noeud"] == second.name)["relaisParS"] > 0)

    eventually(second_forwards, FORWARDED_WITHIN_S, what="the second node's forwarded commands shown")

    scraped = httpx.get(second.url + "/metrics", timeout=30).text
    samples = {s.name: s.value for family in text_string_to_metric_families(scraped)
               for s in family.samples if s.name.startswith("smsgw_cluster_")}
    assert samples["smsgw_cluster_nodes_live"] == 2
    assert 0 < samples["smsgw_cluster_shards_held"] < view["partitions"]

    page = console_page(cluster, second)
    for node in (first, second):
        assert f'data-noeud="{node.name}" data-vivant="oui"' in page
    assert 'id="k-vivants">2 / 2<' in page


def console_page(cluster: Cluster, node: Node) -> str:
    """/operateur/cluster through `node`, after the console's login there."""
    with httpx.Client(base_url=node.url, timeout=30) as browser:
        login = browser.get("/operateur")
        answer = browser.post("/operateur/connexion",
                              data={"csrf": csrf_of(login.text), "jeton": cluster.admin_token})
        assert answer.status_code == 303, answer.text
        page = browser.get("/operateur/cluster")
        assert page.status_code == 200, page.text
        return page.text
