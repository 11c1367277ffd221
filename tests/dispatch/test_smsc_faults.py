"""The sender pool against a misbehaving SMSC, over real TCP: the whole gateway
(HTTP in, SMPP out) against the embedded simulator, its knobs turned live."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import trio

from tests.dispatch.support import account, muldes, numbers, recipients, unides, until_ended
from tests.harness import eventually, open_stack

FAST = {"SMSGW_SMSC_RECONNECT_MIN_S": "0.05", "SMSGW_SMSC_RECONNECT_MAX_S": "0.2"}


@pytest.mark.parametrize("binds", [2, 3])
async def test_throughput_cap_every_message_sent_in_order_per_account(
    tmp_path: Path, binds: int
) -> None:
    # the default pool (window 200, a channel of 256 per bind, a probe of 2,000
    # submits for at most a second) against an SMSC that takes 40 submits/s per
    # bind: two accounts' bulk sends and a third account's single sends, posted
    # while the bulk is throttled. An account's messages are on one bind at a time;
    # each bind meets the cap while it still sends one submit at a time and keeps to
    # one at a time under it, so every account's messages reach the SMSC exactly in
    # order. The cap is far below the pace of one submit at a time even on a loaded
    # machine (~100/s): the probe meets it within its second (a cap near that pace
    # would not run dry before the window opens, and a window may swap parts).
    env = {**FAST, "SMSGW_SMSC_BINDS": str(binds)}
    with trio.fail_after(60):
        async with open_stack(tmp_path, **env) as stack:
            await eventually(lambda: stack.client.get("/api/V1/sante"),
                             lambda r: r.json()["smsc"]["actives"] == binds)
            stack.simulator.configure(throughput_cap_per_s=40)
            _, key_a = await stack.new_account(solde=10_000, debitMax=100_000)
            _, key_b = await stack.new_account(solde=10_000, debitMax=100_000)
            _, key_c = await stack.new_account(solde=10_000, debitMax=100_000)
            list_a, list_b = numbers("+24106", 400), numbers("+24107", 300)
            list_c = numbers("+24105", 30)
            send_a = await muldes(stack, key_a, list_a)
            send_b = await muldes(stack, key_b, list_b)
            refs_c = [(await unides(stack, key_c, number))["ref"] for number in list_c]
            sends = [(key_a, send_a["ref"]), (key_b, send_b["ref"])]
            for key, ref in sends + [(key_c, ref) for ref in refs_c]:
                final = await until_ended(stack, key, ref, within_s=30)
                assert final["compteurs"]["ENVOYE"] == final["nbDestinataires"], final

            stats = stack.simulator.statistics()
            assert stats.submit_rejected.get("ESME_RTHROTTLED", 0) > 0, "the cap was reached"
            assert stats.submit_accepted == len(list_a) + len(list_b) + len(list_c)
            submitted = list(stack.simulator.submitted)
            binds_of = {}
            for sent in (list_a, list_b, list_c):
                rank = {n.lstrip("+"): i for i, n in enumerate(sent)}
                order = [rank[m.destination] for m in submitted if m.destination in rank]
                assert order == list(range(len(sent))), _misplaced(order)
                binds_of[sent[0]] = {m.connection for m in submitted if m.destination in rank}
            # a bulk send never runs dry on its bind, so it stays there; the second
            # account's went to the other, emptier bind
            a, b = binds_of[list_a[0]], binds_of[list_b[0]]
            assert len(a) == len(b) == 1 and a != b, (a, b)
            senders = stack.gateway.actors()["liaisons"]
            assert sum(s["throttled"] for s in senders) == stats.submit_rejected["ESME_RTHROTTLED"]
            assert any(s["rate_limit_per_s"] for s in senders), "the binds slowed down"
            assert all((s["mode"], s["window_size"]) == ("UN_A_UN", 1)
                       for s in senders if s["rate_limit_per_s"]), \
                "a bind that met the cap when probing sends one submit at a time"
            assert all(s["outstanding"] == s["accounts"] == 0 for s in senders)


def _misplaced(order: list[int]) -> str:
    out = [(pos, r) for pos, r in enumerate(order) if pos != r]
    return f"{len(out)} out of place, at most {max(abs(p - r) for p, r in out)}: {out[:10]}"


async def test_five_percent_system_errors_are_retried_until_every_message_is_sent(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path, **FAST) as stack:
            stack.simulator.configure(error_rate=0.05, error_status="ESME_RSYSERR", seed=7)
            _, key = await stack.new_account(solde=5_000, debitMax=100_000)
            send = await muldes(stack, key, numbers("+24106", 3_000))
            final = await until_ended(stack, key, send["ref"], within_s=30)
            assert final["compteurs"] == {"EN_ATTENTE": 0, "ENVOYE": 3_000, "ECHEC": 0,
                                          "LIVRE": final["compteurs"]["LIVRE"]}
            refused = stack.simulator.statistics().submit_rejected.get("ESME_RSYSERR", 0)
            assert refused > 50, "about 5% of 3,000 submits were refused"
            r = await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)
            retries = sum(s["retries"] for s in r.json()["liaisons"])
            assert retries == refused
            books = await account(stack, key)
            assert (books["solde"], books["reserve"]) == (2_000, 0)


async def test_connection_dropped_every_two_seconds_during_a_large_muldes(
    tmp_path: Path,
) -> None:
    count = 20_000
    with trio.fail_after(90):
        async with open_stack(tmp_path, **FAST) as stack:
            sim = stack.simulator
            _, key = await stack.new_account(solde=count, debitMax=100_000)
            sent = numbers("+24106", count)
            send = await muldes(stack, key, sent)
            drops = 0

            async def dropper() -> None:
                nonlocal drops
                await eventually(lambda: _accepted(sim), lambda n: n >= 1_000, within_s=30)
                while True:
                    if sim.drop_connections():
                        drops += 1
                    await trio.sleep(2.0)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(dropper)
                final = await until_ended(stack, key, send["ref"], within_s=80)
                nursery.cancel_scope.cancel()

            assert drops >= 1
            assert final["compteurs"]["ENVOYE"] == count, final
            rows = await recipients(stack, key, send["ref"])
            assert len(rows) == count and all(r["statut"] == "ENVOYE" for r in rows)
            at_smsc = Counter(m.destination for m in sim.submitted)
            assert set(at_smsc) == {n.lstrip("+") for n in sent}, "nobody was dropped"
            twice = {d for d, n in at_smsc.items() if n > 1}
            duplicates = sim.statistics().duplicates
            print(f"\n{drops} drops, {duplicates} sent twice out of {count}")
            assert duplicates == sum(n - 1 for n in at_smsc.values())
            flagged = {r["destinataire"].lstrip("+") for r in rows if r["doublonPossible"]}
            assert twice <= flagged, "every message the SMSC saw twice is flagged"
            books = await account(stack, key)
            assert (books["solde"], books["reserve"]) == (0, 0), "each charged once"


async def _accepted(sim: object) -> int:
    await trio.lowlevel.checkpoint()
    return sim.statistics().submit_accepted  # type: ignore[attr-defined, no-any-return]


async def test_prefix_always_rejected_fails_those_recipients_and_releases_their_credits(
    tmp_path: Path,
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path, **FAST) as stack:
            stack.simulator.configure(rules=[{"prefix": "24107", "status": "ESME_RINVDSTADR"}])
            _, key = await stack.new_account(solde=1_000, debitMax=100_000)
            good, bad = numbers("+24106", 300), numbers("+24107", 200)
            send = await muldes(stack, key, good + bad)
            final = await until_ended(stack, key, send["ref"], within_s=20)
            assert final["statut"] == "ENVOYE"
            assert (final["compteurs"]["ENVOYE"], final["compteurs"]["ECHEC"]) == (300, 200)
            rows = await recipients(stack, key, send["ref"])
            for row in rows[300:]:
                assert (row["statut"], row["raison"], row["codeSmsc"]) == (
                    "ECHEC", "REJET_SMSC", 0x0B), row
                assert row["envoyeLe"] is None
            assert all(r["statut"] == "ENVOYE" and r["codeSmsc"] is None for r in rows[:300])
            books = await account(stack, key)
            assert (books["solde"], books["reserve"]) == (700, 0)
