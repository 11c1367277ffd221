"""Inbound messages (MO) from a subscriber, through the simulator's POST /mo: stored
before the SMSC gets its answer, listed for the account owning the number only, or
for the operators when no account owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from tests.callbacks.receiver import Receiver, signature_ok
from tests.harness import eventually
from tests.operators.support import Operator, Operators, open_operators, until_settled


async def send_mo(operator: Operator, source: str, destination: str, texte: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"http://127.0.0.1:{operator.sim.control_port}/mo",
            json={"source": source, "destination": destination, "texte": texte},
        )


async def inbound(ops: Operators, key: str) -> list[dict[str, Any]]:
    r = await ops.stack.client.get("/api/V1/sms/entrants", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["entrants"]
    return items


async def unclaimed(ops: Operators) -> list[dict[str, Any]]:
    r = await ops.stack.client.get("/api/V1/admin/entrants", headers=ops.stack.admin)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["entrants"]
    return items


async def own(ops: Operators, account_id: int, *numbers: str) -> dict[str, Any]:
    r = await ops.stack.client.patch(
        f"/api/V1/admin/comptes/{account_id}", json={"numerosEntrants": list(numbers)},
        headers=ops.stack.admin,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_an_mo_to_an_accounts_short_code_reaches_that_account_only(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            bank, bank_key = await stack.new_account(solde=10)
            shop, shop_key = await stack.new_account(solde=10)
            assert (await own(ops, bank, "1234", "+24106000000"))["numerosEntrants"] == [
                "1234", "24106000000",
            ]
            await own(ops, shop, "5678")

            r = await send_mo(ops.moov, "+24106123456", "1234", "Bonjour la banque")
            assert r.status_code == 202, r.text
            await send_mo(ops.airtel, "+24107123456", "24106000000", "Solde ?")
            await send_mo(ops.airtel, "+24107999999", "5678", "Pour la boutique")

            mine = await eventually(lambda: inbound(ops, bank_key), lambda items: len(items) == 2)
            assert [(m["emetteur"], m["destinataire"], m["corps"], m["smsc"]) for m in mine] == [
                ("+24107123456", "24106000000", "Solde ?", "airtel"),
                ("+24106123456", "1234", "Bonjour la banque", "moov"),
            ]
            assert all(m["recuLe"].endswith("Z") for m in mine)
            theirs = await eventually(lambda: inbound(ops, shop_key), lambda items: len(items) == 1)
            assert theirs[0]["corps"] == "Pour la boutique"
            assert await unclaimed(ops) == []
            # the SMSC got its answer: each MO acknowledged, none refused
            assert ops.moov.sim.statistics().mo_acknowledged == 1
            assert ops.airtel.sim.statistics().mo_acknowledged == 2
            assert ops.airtel.sim.statistics().mo_refused == 0


async def test_an_mo_to_no_known_number_is_listed_for_operators(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            account, key = await stack.new_account(solde=10)
            await own(ops, account, "1234")
            r = await send_mo(ops.moov, "+24106123456", "9999", "Qui est là ? é")
            assert r.status_code == 202
            items = await eventually(lambda: unclaimed(ops), lambda items: len(items) == 1)
            assert (items[0]["emetteur"], items[0]["destinataire"], items[0]["corps"],
                    items[0]["smsc"]) == ("+24106123456", "9999", "Qui est là ? é", "moov")
            assert await inbound(ops, key) == []
            anonymous = await stack.client.get("/api/V1/admin/entrants")
            assert anonymous.status_code == 401


async def test_an_inbound_number_belongs_to_one_account(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            first, _ = await stack.new_account(solde=10)
            second, _ = await stack.new_account(solde=10)
            await own(ops, first, "+24106000000")
            r = await stack.client.patch(
                f"/api/V1/admin/comptes/{second}", json={"numerosEntrants": ["24106000000"]},
                headers=stack.admin,
            )
            assert r.status_code == 409, r.text
            assert r.json()["erreur"]["code"] == "NUMERO_ENTRANT_UTILISE"
            r = await stack.client.patch(
                f"/api/V1/admin/comptes/{second}", json={"numerosEntrants": ["12ab"]},
                headers=stack.admin,
            )
            assert r.status_code == 422, r.text
            await own(ops, first)  # released
            assert (await own(ops, second, "24106000000"))["numerosEntrants"] == ["24106000000"]


async def test_the_simulator_answers_409_when_no_receiver_is_bound(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            alone = Operator("seul", nursery)
            await alone.start()
            r = await send_mo(alone, "+24106123456", "1234", "STOP")
            assert r.status_code == 409, r.text
            r = await send_mo(alone, "+24106123456", "", "STOP")
            assert r.status_code == 422, r.text
            nursery.cancel_scope.cancel()


async def test_an_mo_that_cannot_be_stored_is_refused_for_now_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Answered only once durable: a store that fails answers ESME_RX_T_APPN (the
    SMSC delivers it again later), and the bind stays up for the next one."""
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            account, key = await stack.new_account(solde=10)
            await own(ops, account, "1234")
            inbound_ops = stack.gateway.store.inbound
            real_record = inbound_ops.record
            failures: list[int] = []

            async def fail_once(messages: Any) -> Any:
                if not failures:
                    failures.append(len(messages))
                    raise OSError("disk I/O error injected")
                return await real_record(messages)

            monkeypatch.setattr(inbound_ops, "record", fail_once)
            await send_mo(ops.moov, "+24106123456", "1234", "Premier essai")
            await eventually(
                lambda: _stats(ops), lambda s: s.mo_acknowledged == 1, within_s=10
            )
            assert ops.moov.sim.statistics().mo_refused == 1
            assert await inbound(ops, key) == []
            await send_mo(ops.moov, "+24106123456", "1234", "Second essai")
            items = await eventually(lambda: inbound(ops, key), lambda items: len(items) == 1)
            assert items[0]["corps"] == "Second essai"
            assert ops.moov.sim.statistics().mo_refused == 1


async def _stats(ops: Operators) -> Any:
    return ops.moov.sim.statistics()


async def test_stop_to_an_owned_number_opts_its_sender_out_of_that_account_only(
    tmp_path: Path,
) -> None:
    """`STOP` (trimmed, any case) to an account's number goes to the desk's opt-out
    hook with that account; to no known number, or another text, it does not."""
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            account, key = await stack.new_account(solde=10)
            await own(ops, account, "1234")
            asked: list[tuple[int, str]] = []

            async def record(account_id: int, number: str) -> None:
                asked.append((account_id, number))

            stack.gateway.inbound.on_stop = record
            for source, destination, texte in [
                ("+24106000001", "1234", " stop "), ("+24106000002", "9999", "STOP"),
                ("+24106000003", "1234", "STOP SVP"), ("+24107000004", "1234", "Stop"),
            ]:
                assert (await send_mo(ops.moov, source, destination, texte)).status_code == 202
            await eventually(lambda: inbound(ops, key), lambda items: len(items) == 3)
            await eventually(lambda: unclaimed(ops), lambda items: len(items) == 1)

            async def acknowledged() -> int:  # the SMSC's answer comes after the hook
                return int(ops.moov.sim.statistics().mo_acknowledged)

            await eventually(acknowledged, lambda n: n == 4)
            assert sorted(asked) == [(account, "+24106000001"), (account, "+24107000004")]


async def test_an_inbound_stop_opts_the_sender_out_and_a_later_send_fails_uncharged(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            bank, key = await stack.new_account(solde=10)
            other, other_key = await stack.new_account(solde=10)
            await own(ops, bank, "1234")
            headers = {"X-API-Key": key}
            r = await send_mo(ops.moov, "+24106123456", "1234", "  Stop ")
            assert r.status_code == 202

            async def opted_out(api_key: str) -> list[dict[str, Any]]:
                page = await stack.client.get("/api/V1/compte/desinscrits",
                                              headers={"X-API-Key": api_key})
                assert page.status_code == 200, page.text
                items: list[dict[str, Any]] = page.json()["desinscrits"]
                return items

            listed = await eventually(lambda: opted_out(key), lambda items: len(items) == 1)
            assert (listed[0]["numero"], listed[0]["source"]) == ("+24106123456", "STOP")
            assert await opted_out(other_key) == []  # another account's list is untouched

            sent = await stack.client.post(
                "/api/V1/sms/muldes", headers=headers,
                json={"emetteur": "BANQUE", "numeros": ["+24106123456", "+24107000001"],
                      "corps": "Votre code : 1234"},
            )
            assert sent.status_code == 202, sent.text
            ref = sent.json()["ref"]
            ended = await until_settled(stack, key, ref)
            outcome = {m["destinataire"]: (m["statut"], m["raison"], m["smsc"]) for m in ended}
            assert outcome == {
                "+24106123456": ("ECHEC", "DESINSCRIT", None),
                "+24107000001": ("ENVOYE", None, "airtel"),
            }

            async def balance() -> dict[str, Any]:
                me: dict[str, Any] = (await stack.client.get("/api/V1/compte",
                                                             headers=headers)).json()
                return me

            me = await eventually(balance, lambda me: me["reserve"] == 0)
            assert me["solde"] == 9, "the opted-out recipient is not charged"
            assert "+24106123456" not in ops.moov.destinations()
            assert (await stack.client.get(
                "/api/V1/sms/entrants", headers=headers)).json()["entrants"][0]["corps"] == "  Stop "


async def test_an_mo_to_an_accounts_number_is_called_back_to_it_as_an_entrant_event(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60), Receiver() as receiver:
        async with open_operators(tmp_path, SMSGW_CALLBACKS_ALLOW_PRIVATE="true") as ops:
            stack = ops.stack
            r = await stack.client.post(
                "/api/V1/admin/comptes",
                json={"nom": "Banque", "type": "PREPAYE", "solde": 10}, headers=stack.admin,
            )
            assert r.status_code == 201, r.text
            bank, secret = r.json()["id"], r.json()["secretRappel"]
            r = await stack.client.patch(
                f"/api/V1/admin/comptes/{bank}", json={"urlRappel": receiver.url}, headers=stack.admin
            )
            assert r.status_code == 200, r.text
            shop, _ = await stack.new_account(solde=10)
            await own(ops, bank, "1234")
            await own(ops, shop, "5678")

            await send_mo(ops.moov, "+24106123456", "1234", "Solde ?")
            await send_mo(ops.airtel, "+24107999999", "5678", "Pour la boutique")
            await send_mo(ops.airtel, "+24107888888", "9999", "Personne")

            async def delivered() -> list[dict[str, Any]]:
                return receiver.accepted_events()

            events = await eventually(delivered, lambda evs: len(evs) >= 1, within_s=20)
            assert events == [{
                "id": events[0]["id"], "type": "ENTRANT", "emetteur": "+24106123456",
                "destinataire": "1234", "corps": "Solde ?", "recuLe": events[0]["recuLe"],
                "smsc": "moov",
            }]
            assert all(signature_ok(secret, c.body, c.signature) for c in receiver.all())
            # the shop has no callback URL and the third MO no owner: nothing else is sent
            await eventually(lambda: unclaimed(ops), lambda items: len(items) == 1)
            assert await stack.gateway.store.outbox.waiting() == 0
            assert len(receiver.accepted_events()) == 1
