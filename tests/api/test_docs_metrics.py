"""The interactive documentation (Swagger UI) is served locally, and /metrics speaks the
Prometheus text format with the figures operators scrape."""

from __future__ import annotations

import re
from pathlib import Path

import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import MULDES_BODY
from tests.harness import eventually, open_stack


async def test_docs_page_and_its_script_come_from_the_gateway_itself(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            page = await stack.client.get("/docs")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert sources, "the page loads its script"
            assert all(s.startswith("/") for s in sources), f"third-party assets: {sources}"
            for source in sources:
                asset = await stack.client.get(source)
                assert asset.status_code == 200, source
            assert "default-src 'self'" in page.headers["content-security-policy"]
            assert "/static/swagger-ui/swagger-ui-bundle.js" in sources
            script = (await stack.client.get("/static/docs-swagger.js")).text
            assert "/api/V1/openapi.json" in script
            doc = (await stack.client.get("/api/V1/openapi.json")).json()
            assert "X-SMSGW-Signature" in doc["info"]["description"]


async def test_metrics_count_requests_messages_pdus_and_queues(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            sent = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers)
            ref = sent.json()["ref"]
            await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers=headers),
                lambda g: g.json()["statut"] == "ENVOYE",
            )
            await stack.client.get("/api/V1/inconnu")
            r = await stack.client.get("/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(r.text)
                for s in family.samples
            }

            def value(name: str, **labels: str) -> float:
                return samples[(name, tuple(sorted(labels.items())))]

            assert value("smsgw_http_requests_total", route="/api/V1/sms/muldes",
                         methode="POST", statut="202") == 1
            assert value("smsgw_http_requests_total", route="<inconnue>",
                         methode="GET", statut="404") == 1
            assert value("smsgw_messages_accepted_total", type="MULDES", statut="EN_ATTENTE") == 3
            assert value("smsgw_messages_ended_total", statut="ENVOYE") == 3
            submits = sum(v for (n, labels), v in samples.items()
                          if n == "smsgw_smpp_pdus_total" and ("pdu", "submit_sm") in labels)
            assert submits == 3
            assert ("smsgw_messages_waiting", ()) in samples
            assert ("smsgw_store_queue_depth", ()) in samples
            assert samples[("smsgw_store_last_commit_seconds", ())] > 0
            assert samples[("smsgw_store_replayed_groups_total", ())] == 0
