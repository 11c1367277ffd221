"""A send comes in through four doors: the lean ASGI door and the Quart views of
UNIDES and MULDES, MULDESP, and the client space's send form. All run one send
intake (api/intake.py), so the same logical send gets the same outcome through
each: the same status, error code, message and fields, the same recipients
recorded with the same statuses and reasons, the same shape of ref; and the
accepted-messages counter counts every door.

The lean door and the Quart views must also answer every request byte for byte
alike, headers that matter (Retry-After, Connection) and request metrics
included: the gateway is served a second time with Quart alone and every case
of the bad-input table, plus accepted sends, goes to both.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from tests.api.conftest import MULDES_BODY, UNIDES_BODY, accepted_counts
from tests.api.test_bad_inputs import CASES
from tests.harness import PASSWORD, Stack, client_session, open_stack

SENDS = ("/api/V1/sms/unides", "/api/V1/sms/muldes")
Request = tuple[str, str, dict[str, str], bytes | None]


@asynccontextmanager
async def quart_only(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same gateway served a second time by Quart alone (its own
    dispatch, without the lean door in front), on port 0."""
    app = create_app(stack.gateway, stack.settings, stack.running.admin_token)
    del app.asgi_app  # Quart's own dispatch, without the lean door
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(partial(serve, app, config, shutdown_trigger=stop.wait))
        async with httpx.AsyncClient(base_url=binds[0], timeout=30) as client:
            yield client
        stop.set()


def _requests(key: str) -> list[Request]:
    """(name, path, headers, body) for each POST to compare."""
    out: list[Request] = []
    for case in CASES:
        if case.method != "POST" or case.path not in SENDS:
            continue
        headers = {k: v.format(key=key) for k, v in case.headers.items()}
        content = case.raw
        if content is None and case.body is not None:
            content = json.dumps(case.body).encode()
        if content is not None:
            headers["Content-Type"] = case.content_type
        out.append((case.name, case.path, headers, content))
    good = {"X-API-Key": key, "Content-Type": "application/json"}
    out += [
        ("UNIDES accepted", SENDS[0], good, json.dumps(UNIDES_BODY).encode()),
        ("MULDES accepted", SENDS[1], good, json.dumps(MULDES_BODY).encode()),
        ("MULDES with a duplicate and a bad number", SENDS[1], good, json.dumps(
            {**MULDES_BODY, "numeros": ["+24106123456", "+24106123456", "pas un numéro"]}
        ).encode()),
        ("charset in the content type", SENDS[0],
         {**good, "Content-Type": "application/json; charset=utf-8"},
         json.dumps(UNIDES_BODY).encode()),
        ("Idempotency-Key too long", SENDS[0], {**good, "Idempotency-Key": "k" * 129},
         json.dumps(UNIDES_BODY).encode()),
        ("a sender with a character no SMSC takes", SENDS[0], good,
         json.dumps({**UNIDES_BODY, "emetteur": "ION@Net"}).encode()),
        ("a long sender, accepted with a warning", SENDS[1], good,
         json.dumps({**MULDES_BODY, "emetteur": "ION-Networking-Gabon"}).encode()),
    ]
    return out


def _comparable(r: httpx.Response) -> tuple[Any, ...]:
    body = r.json()
    content = r.content
    if r.status_code == 202:
        ref = body.pop("ref")  # two sends, two refs
        content = content.replace(f'"ref":"{ref}"'.encode(), b'"ref":"?"', 1)
    return (r.status_code, r.headers.get("content-type"), body, content,
            r.headers.get("retry-after"), r.headers.get("connection"))


def _send_counts(metrics_text: str) -> dict[tuple[tuple[str, str], ...], float]:
    """smsgw_http_requests_total of the two send routes, by labels; and the
    latency histogram's count for them."""
    return {
        (("name", s.name), *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name in ("smsgw_http_requests_total", "smsgw_http_request_seconds_count",
                      "smsgw_messages_accepted_total")
        and s.labels.get("route", SENDS[0]) in SENDS
    }


async def test_lean_door_answers_as_the_quart_views(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack, quart_only(stack) as quart_client:
            _, key = await stack.new_account(solde=1_000)
            cases = _requests(key)
            assert len(cases) >= 30
            differences = []
            for name, path, headers, content in cases:
                lean = await stack.client.post(path, content=content, headers=headers)
                reference = await quart_client.post(path, content=content, headers=headers)
                ours, theirs = _comparable(lean), _comparable(reference)
                if ours != theirs:
                    differences.append(f"{name}: {ours} != {theirs}")
            assert not differences, "\n".join(differences)
            lean_counts = _send_counts((await stack.client.get("/metrics")).text)
            reference_counts = _send_counts((await quart_client.get("/metrics")).text)
            assert lean_counts == reference_counts
            requests = [v for k, v in lean_counts.items()
                        if k[0] == ("name", "smsgw_http_requests_total")]
            assert sum(requests) == len(cases)


# -- the four doors, one logical send at a time ------------------------------------------

CALENDAR = {"dateDebut": "2099-10-10", "dateFin": "2099-10-15", "nbParJour": 100,
            "intervalleMinutes": 15}
NO_NUMBERS_HINT = "Saisissez au moins un numéro ou joignez un fichier CSV."
REF_SHAPE = re.compile(r"[0-9]{6,}")
ALL = frozenset({"lean", "quart", "form", "muldesp"})
SINGLE = frozenset({"lean", "quart", "form"})
"""MULDESP takes a list of numbers: a one-number send goes through the three other doors."""


@dataclass(frozen=True)
class Send:
    """One logical send: one number (`single`, UNIDES) or a list (MULDES, MULDESP),
    from an account with a thousand credits or with `solde` credits."""

    name: str
    numbers: tuple[str, ...]
    single: bool = False
    emetteur: str = "ION-Networking"
    corps: str = "Profitez de nos offres exclusives SMS Gateway !"
    solde: int | None = None
    doors: frozenset[str] = ALL

    def json(self) -> dict[str, Any]:
        if self.single:
            return {"emetteur": self.emetteur, "destinataire": self.numbers[0], "corps": self.corps}
        return {"emetteur": self.emetteur, "numeros": list(self.numbers), "corps": self.corps}

    def form(self) -> dict[str, str]:
        fields = {"type": "UNIDES" if self.single else "MULDES", "emetteur": self.emetteur,
                  "corps": self.corps}
        if self.single:
            fields["destinataire"] = self.numbers[0]
        else:
            fields["numeros"] = "\n".join(self.numbers)
        return fields


LOGICAL_SENDS = (
    Send("one valid number", ("+24106123456",), single=True, doors=SINGLE),
    Send("one invalid number", ("+24106",), single=True, doors=SINGLE),
    Send("one number, no credit left", ("+24106123456",), single=True, solde=0, doors=SINGLE),
    Send("an empty body", ("+24106123456",), single=True, corps="", doors=SINGLE),
    Send("valid numbers", ("+24106123456", "+24107456789")),
    Send("a duplicate and an invalid number", ("+24106123456", "+24106123456", "+24106")),
    Send("more recipients than allowed", ("+24106000001", "+24106000002", "+24106000003",
                                          "+24106000004")),
    Send("balance short of the recipients", ("+24106123456", "+24107456789"), solde=1,
         doors=SINGLE),
    Send("a sender of 21 characters", ("+24106123456",), emetteur="A" * 21),
    Send("a sender with a character no SMSC takes", ("+24106123456",), emetteur="ION@Net"),
    Send("a long sender, accepted with a warning", ("+24106123456",),
         emetteur="ION-Networking-Gabon"),
    Send("no number at all", ()),
)
"""The same sends through every door that takes them. (The form reads as a number
only a line holding a digit: its invalid numbers here have some.) A MULDESP reserves its credits
slot by slot, not at acceptance: a balance short of its recipients is no refusal
(`test_a_campaign_is_accepted_whatever_the_balance`)."""


@dataclass
class Account:
    """A client with a key and a client-space session."""

    key: str
    session: httpx.AsyncClient
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


@dataclass(frozen=True)
class Outcome:
    """What a door did with a send: its status and answer (the ref and the
    campaign's calendar taken out, the send type kept apart), and every recipient
    as acceptance left it: ACCEPTE (waiting or sent) or ECHEC with its reason."""

    status: int
    answer: dict[str, Any]
    recorded: tuple[tuple[str, str, str | None], ...] | None


Post = Callable[[Send, Account], Awaitable[httpx.Response]]


def _doors(stack: Stack, quart_client: httpx.AsyncClient) -> dict[str, Post]:
    async def lean(send: Send, account: Account) -> httpx.Response:
        return await stack.client.post(SENDS[0] if send.single else SENDS[1], json=send.json(),
                                       headers=account.headers)

    async def quart(send: Send, account: Account) -> httpx.Response:
        return await quart_client.post(SENDS[0] if send.single else SENDS[1], json=send.json(),
                                       headers=account.headers)

    async def form(send: Send, account: Account) -> httpx.Response:
        return await account.session.post("/espace/envois", data={**send.form(), "csrf": account.csrf})

    async def muldesp(send: Send, account: Account) -> httpx.Response:
        return await stack.client.post("/api/V1/sms/muldesp", json={**send.json(), **CALENDAR},
                                       headers=account.headers)

    return {"lean": lean, "quart": quart, "form": form, "muldesp": muldesp}


async def _outcome(door: str, r: httpx.Response, account: Account, api: httpx.AsyncClient) -> Outcome:
    body = r.json()
    if r.status_code != 202:
        return Outcome(r.status_code, body, None)
    ref = body.pop("ref")
    assert REF_SHAPE.fullmatch(ref), ref
    kind = body.pop("type")
    if door == "muldesp":
        assert kind == "MULDESP"
        calendar = {k: body.pop(k) for k in (*CALENDAR, "etatCampagne")}
        assert calendar == {**CALENDAR, "etatCampagne": "PLANIFIEE"}
    else:
        assert kind in ("UNIDES", "MULDES")
    if door == "form":
        shown = (await account.session.get("/espace/donnees/envois")).json()["envois"]
        assert ref in [s["ref"] for s in shown], "the form's send is in the client's history"
        messages = (await account.session.get(f"/espace/donnees/envois/{ref}/messages")).json()
    else:
        messages = (await api.get(f"/api/V1/sms/{ref}/messages", headers=account.headers)).json()
    recorded = tuple(
        (m["destinataire"], "ECHEC" if m["statut"] == "ECHEC" else "ACCEPTE", m["raison"])
        for m in messages["messages"]
    )
    return Outcome(202, body, recorded)


async def _account(stack: Stack, sessions: AsyncExitStack, email: str, solde: int) -> Account:
    _, key = await stack.new_account(nom=email.split("@")[0], email=email, motDePasse=PASSWORD,
                                     solde=solde)
    session, csrf = await sessions.enter_async_context(client_session(stack, email))
    return Account(key, session, csrf)


async def test_every_door_gives_the_same_send_the_same_outcome(tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with (
            open_stack(tmp_path, SMSGW_GATEWAY_MAX_RECIPIENTS="3") as stack,
            quart_only(stack) as quart_client,
            AsyncExitStack() as sessions,
        ):
            doors = _doors(stack, quart_client)
            rich = {door: await _account(stack, sessions, f"{door}@banque.ga", 1_000)
                    for door in doors}
            differences: list[str] = []
            statuses: set[int] = set()
            for send in LOGICAL_SENDS:
                outcomes: dict[str, Outcome] = {}
                for door in sorted(send.doors):
                    account = rich[door] if send.solde is None else await _account(
                        stack, sessions, f"{door}-{len(statuses)}@pauvre.ga", send.solde)
                    r = await doors[door](send, account)
                    outcomes[door] = await _outcome(door, r, account, stack.client)
                if send.name == "no number at all":
                    form = outcomes["form"].answer["erreur"]["details"]
                    assert {"champ": "numeros", "message": NO_NUMBERS_HINT} in form, form
                    for outcome in outcomes.values():  # the form says how to give numbers
                        for detail in outcome.answer["erreur"]["details"]:
                            detail["message"] = "..."
                reference = outcomes["lean"]
                statuses.add(reference.status)
                differences += [f"{send.name}, {door}: {o} != lean {reference}"
                                for door, o in outcomes.items() if o != reference]
            assert not differences, "\n".join(differences)
            assert statuses == {202, 413, 422}


async def test_a_replay_and_a_conflict_get_the_same_answers_through_every_keyed_door(
    tmp_path: Path,
) -> None:
    """The client-space form takes no Idempotency-Key; the three keyed doors do."""
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack, quart_only(stack) as quart_client:
            paths: dict[str, tuple[httpx.AsyncClient, str, dict[str, Any]]] = {
                "lean": (stack.client, SENDS[1], MULDES_BODY),
                "quart": (quart_client, SENDS[1], MULDES_BODY),
                "muldesp": (stack.client, "/api/V1/sms/muldesp", {**MULDES_BODY, **CALENDAR}),
            }
            seen = {}
            for door, (client, path, body) in paths.items():
                _, key = await stack.new_account(solde=100)
                headers = {"X-API-Key": key, "Idempotency-Key": "commande-0001"}
                first = await client.post(path, json=body, headers=headers)
                again = await client.post(path, json=body, headers=headers)
                other = await client.post(path, json={**body, "corps": "Autre texte"}, headers=headers)
                assert again.json() == first.json(), door
                sent = (await client.get("/api/V1/sms", headers={"X-API-Key": key})).json()["envois"]
                assert [s["ref"] for s in sent] == [first.json()["ref"]], "a replay sends nothing"
                seen[door] = (first.status_code, again.status_code, other.status_code,
                              other.json()["erreur"])
            assert seen["lean"] == seen["quart"] == seen["muldesp"]
            assert seen["lean"][:3] == (202, 202, 409)
            assert seen["lean"][3]["code"] == "IDEMPOTENCE_CONFLIT"


async def test_a_campaign_is_accepted_whatever_the_balance(tmp_path: Path) -> None:
    """Unlike a MULDES, a MULDESP reserves credits slot by slot: a balance short of
    its recipients is no refusal at acceptance."""
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=1)
            r = await stack.client.post("/api/V1/sms/muldesp", json={**MULDES_BODY, **CALENDAR},
                                        headers={"X-API-Key": key})
            assert r.status_code == 202, r.text
            assert (r.json()["statut"], r.json()["etatCampagne"]) == ("EN_ATTENTE", "PLANIFIEE")


async def test_the_accepted_counter_counts_client_space_sends_and_campaigns(tmp_path: Path) -> None:
    """An operator reads smsgw_messages_accepted_total from /metrics: it moves for a
    send from the client space and for a MULDESP, and not for a replay."""
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(nom="compta", email="compta@banque.ga",
                                             motDePasse=PASSWORD, solde=100)

            async def counts() -> dict[tuple[str, str], float]:
                return accepted_counts((await stack.client.get("/metrics")).text)

            before = await counts()
            async with client_session(stack, "compta@banque.ga") as (session, csrf):
                single = await session.post("/espace/envois", data={
                    "type": "UNIDES", **{k: v for k, v in UNIDES_BODY.items()}, "csrf": csrf})
                several = await session.post("/espace/envois", data={
                    "type": "MULDES", "emetteur": "ION", "corps": "Promo",
                    "numeros": "+24107000001\n+24107000002\n", "csrf": csrf})
            assert (single.status_code, several.status_code) == (202, 202)
            after_form = await counts()
            headers = {"X-API-Key": key, "Idempotency-Key": "campagne-0001"}
            for _ in range(2):  # the second is a replay
                campaign = await stack.client.post(
                    "/api/V1/sms/muldesp", json={**MULDES_BODY, **CALENDAR}, headers=headers)
                assert campaign.status_code == 202, campaign.text
            after_campaign = await counts()

            def moved(now: dict[tuple[str, str], float], then: dict[tuple[str, str], float],
                      kind: str) -> float:
                return now.get((kind, "EN_ATTENTE"), 0) - then.get((kind, "EN_ATTENTE"), 0)

            assert moved(after_form, before, "UNIDES") == 1
            assert moved(after_form, before, "MULDES") == 2
            assert moved(after_campaign, after_form, "MULDESP") == len(MULDES_BODY["numeros"])
