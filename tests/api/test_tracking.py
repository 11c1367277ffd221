"""GET /api/V1/sms: the account's sends, newest first, filtered, paged by cursor,
and never another account's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY
from tests.harness import eventually, open_stack


async def test_list_of_sends_filters_pages_and_stays_in_the_account(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=20)
            _, other = await stack.new_account(solde=20)
            headers = {"X-API-Key": key}
            refs = []
            for body, path in (
                (UNIDES_BODY, "unides"),
                (MULDES_BODY, "muldes"),
                ({**MULDES_BODY, "numeros": ["pas-un-numero"]}, "muldes"),
                (UNIDES_BODY, "unides"),
            ):
                r = await stack.client.post(f"/api/V1/sms/{path}", json=body, headers=headers)
                assert r.status_code == 202
                refs.append(r.json()["ref"])
            await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY,
                                    headers={"X-API-Key": other})

            async def listing(**params: str) -> dict[str, Any]:
                r = await stack.client.get("/api/V1/sms", params=params, headers=headers)
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body

            await eventually(lambda: listing(statut="EN_ATTENTE"), lambda b: not b["envois"])
            walked, cursor = [], None
            while True:
                page = await listing(limite="3", **({"curseur": cursor} if cursor else {}))
                walked += [e["ref"] for e in page["envois"]]
                cursor = page["curseurSuivant"]
                if cursor is None:
                    break
            assert walked == refs[::-1], "newest first, each once, only this account's"
            muldes = await listing(type="MULDES")
            assert [e["ref"] for e in muldes["envois"]] == [refs[2], refs[1]]
            failed = await listing(statut="ECHEC")
            assert [e["ref"] for e in failed["envois"]] == [refs[2]]
            assert failed["envois"][0]["compteurs"]["ECHEC"] == 1
            sent = await listing(statut="ENVOYE")
            assert [e["ref"] for e in sent["envois"]] == [refs[3], refs[1], refs[0]]
            today = stack.gateway.now().astimezone(ZoneInfo(stack.settings.gateway.timezone)).date()
            day = today.isoformat()
            assert len((await listing(depuis=day, jusqua=day))["envois"]) == 4, "a day is inclusive"
            tomorrow = (today + timedelta(days=1)).isoformat()
            assert (await listing(depuis=tomorrow))["envois"] == []
            created = (await listing(limite="1"))["envois"][0]["creeLe"]
            before = [e["ref"] for e in (await listing(jusqua=created))["envois"]]
            assert refs[3] not in before and refs[0] in before, "a date-time jusqua excludes"
