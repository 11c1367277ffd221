"""Callbacks survive a crash: the receiver refuses for a while, the gateway is killed
(-9) and started again on the same data, the receiver recovers; every event
arrives, duplicates only under the same id, signed with the current secret."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from pathlib import Path

import httpx

from tests.callbacks.receiver import Receiver, signature_ok
from tests.e2e.test_process import _read_until, _start, _value_after

NUMBERS = [f"+2410612{i:04d}" for i in range(25)]


def _wait(check: object, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {within_s}s")


def test_events_survive_a_kill_and_arrive_once_the_receiver_recovers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"SMSGW_CALLBACKS_ALLOW_PRIVATE": "true", "SMSGW_ADMIN_TOKEN": "jeton-admin-e2e"}
    admin = {"Authorization": "Bearer jeton-admin-e2e"}
    with Receiver(failing=True) as receiver:
        proc = _start(data, **env)
        try:
            lines = _read_until(proc, "API key:", 45)
            url = _value_after(lines, "SMS Gateway API on ").split(" ")[0]
            with httpx.Client(base_url=url, timeout=10) as client:
                created = client.post("/admin/comptes", headers=admin,
                                      json={"nom": "Banque", "type": "PREPAYE", "solde": 100})
                assert created.status_code == 201, created.text
                account = created.json()
                old_secret = account["secretRappel"]
                key = {"X-API-Key": account["cleApi"]["cle"]}
                r = client.patch(f"/admin/comptes/{account['id']}", headers=admin,
                                 json={"urlRappel": receiver.url})
                assert r.status_code == 200, r.text
                sent = client.post("/sms/muldes", headers=key, json={
                    "emetteur": "BANQUE", "numeros": NUMBERS, "corps": "Votre code : 4242"})
                assert sent.status_code == 202, sent.text
                ref = sent.json()["ref"]
                _wait(lambda: client.get(f"/sms/{ref}", headers=key).json()["compteurs"]["LIVRE"]
                      == len(NUMBERS), 30, "every receipt recorded")
                _wait(lambda: len(receiver.all()) >= 2, 15, "the receiver refused twice")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            refused_before = len(receiver.all())
            assert refused_before >= 2 and not receiver.accepted()

            proc = _start(data, **env)
            lines = _read_until(proc, "SMS Gateway API on", 45)
            url = _value_after(lines, "SMS Gateway API on ").split(" ")[0]
            with httpx.Client(base_url=url, timeout=10) as client:
                rotated = client.post("/compte/secret-rappel", headers=key)
                assert rotated.status_code == 201, rotated.text
                secret = rotated.json()["secretRappel"]
                accepted_from = len(receiver.all())
                receiver.failing = False

                def every_event() -> bool:
                    kinds = {(e["type"], e["destinataire"]) for e in receiver.accepted_events()}
                    return len(kinds) == 2 * len(NUMBERS)

                _wait(every_event, 60, "every event delivered")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    events = receiver.accepted_events()
    ids_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    what_of: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for e in events:
        ids_of[(e["type"], e["destinataire"])].add(e["id"])
        what_of[e["id"]].add((e["type"], e["destinataire"]))
        assert e["ref"] == ref
    assert set(ids_of) == {(t, n) for t in ("STATUT", "LIVRAISON") for n in NUMBERS}, "none lost"
    assert all(len(ids) == 1 for ids in ids_of.values()), "a repeat carries the same id"
    assert all(len(what) == 1 for what in what_of.values()), "an id names one event"
    for n in NUMBERS:
        first = [e["type"] for e in events if e["destinataire"] == n]
        assert first.index("STATUT") < first.index("LIVRAISON"), "in order per recipient"
    after = [r for r in receiver.all()[accepted_from:] if r.answered == 200]
    assert after and all(signature_ok(secret, r.body, r.signature) for r in after)
    assert not any(signature_ok(old_secret, r.body, r.signature) for r in after)
    assert all(signature_ok(old_secret, r.body, r.signature)
               for r in receiver.all()[:refused_before]), "before the change, the old secret"
