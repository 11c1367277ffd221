"""What an operator sees of the cluster, on a gateway alone on its store: the admin
API, /metrics and the console's page all show one live node holding every shard,
the node the health answer names, and the answers fit the published document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import trio
from prometheus_client.parser import text_string_to_metric_families

from api.routes.cluster import shard_ranges
from tests.api.test_console_accounts import operator_session
from tests.harness import open_stack


def test_shards_are_shown_as_runs() -> None:
    assert shard_ranges(range(64)) == "0-63"
    assert shard_ranges([9, 0, 1, 2, 12, 13, 15]) == "0-2, 9, 12-13, 15"
    assert shard_ranges([]) == "—"


async def test_a_gateway_alone_shows_itself_holding_every_shard(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            health = (await stack.client.get("/api/V1/sante")).json()
            answer = await stack.client.get("/api/V1/admin/cluster", headers=stack.admin)
            anonymous = await stack.client.get("/api/V1/admin/cluster")
            wrong = await stack.client.get("/api/V1/admin/cluster",
                                           headers={"Authorization": "Bearer faux"})
            document = (await stack.client.get("/api/V1/openapi.json")).json()
            scraped = (await stack.client.get("/metrics")).text

            async with httpx.AsyncClient(base_url=stack.running.http_url) as stranger:
                unlogged = await stranger.get("/operateur/cluster")
            async with operator_session(stack) as (console, _):
                listing = await console.get("/operateur/comptes")
                shown = await console.get("/operateur/cluster")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    node = health["noeud"]
    assert node and body["noeud"] == node
    assert body["partitions"] == 64 and body["bailS"] > 0
    [alone] = body["noeuds"]
    assert alone["noeud"] == node and alone["vivant"] is True
    assert alone["partitions"] == list(range(64))
    assert alone["url"].startswith("http://")
    assert alone["relaisParS"] == 0 and alone["comptesActifs"] >= 0
    assert (anonymous.status_code, wrong.status_code) == (401, 403)

    def answer_schema(path: str) -> Any:
        return document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    jsonschema_rs.validate(answer_schema("/api/V1/admin/cluster"), body)
    health_schema = answer_schema("/api/V1/sante")
    jsonschema_rs.validate(health_schema, health)
    assert "noeud" in health_schema["required"]

    samples = {s.name: s.value for family in text_string_to_metric_families(scraped)
               for s in family.samples if s.name.startswith("smsgw_cluster_")}
    assert samples["smsgw_cluster_nodes_live"] == 1
    assert samples["smsgw_cluster_shards_held"] == 64
    assert samples["smsgw_cluster_forwarded_per_second"] == 0

    assert unlogged.status_code == 302 and unlogged.headers["location"].endswith("/operateur")
    assert 'href="/operateur/cluster"' in listing.text
    assert shown.status_code == 200
    assert f'data-noeud="{node}" data-vivant="oui"' in shown.text
    assert "0-63" in shown.text and alone["url"] in shown.text
    assert 'id="k-vivants">1 / 1<' in shown.text
