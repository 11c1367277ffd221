"""One send intake: the pipeline every send door runs.

A send comes in through four doors: the lean ASGI handler (api/lean.py), the
Quart views of UNIDES and MULDES (api/routes/sms.py), MULDESP
(api/routes/campagnes.py) and the client space's send form
(api/routes/espace.py). A door only reads its body (JSON, or a form turned into
the same fields), says which send it is and who the caller is (`ApiKey`, or the
`SessionAccount` of a client-space session it has checked), then hands a
`SendRequest` to `SendIntake.accept`, which runs the same steps for all:

1. authenticate: the API key (401 with the contract's codes), or the session's account;
2. count the recipients of a MULDES or MULDESP (413 TROP_DE_DESTINATAIRES);
3. read the body with the route's documented request body (api/models; 422
   VALIDATION, one detail per faulty field, an unknown field named);
4. read the Idempotency-Key, where the door takes one (422 when empty or too long);
5. decide: the facade checks the sender and encodes the body (422), then the
   account's actor reserves and records the send (409 IDEMPOTENCE_CONFLIT on a
   reused key, 503 SURCHARGE when the gateway holds too much);
6. answer: the 202 body, and the accepted-messages counter (a replay counts nothing).

Refusals are raised: `ApiError` for the request's own faults, `GatewayError` from
the engine (answered through api/errors.py). Nothing here reads Quart's request
context, so the lean door runs it as it is; `accept` blocks only on the facade,
and a cancellation there leaves what the account's actor decided (a send
recorded before the cancellation stays accepted, as for a client gone away).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, assert_never

from api import views
from api.errors import ApiError
from api.http import VALIDATION_MESSAGE, valid
from api.models import Body
from api.models.requests import MuldesBase, Unides, numbers_given
from api.openapi import operation_of, resolve
from api.routes.metrics import Metrics
from config import logs
from config.settings import Settings
from engine.gateway import Gateway
from engine.model import (
    NO_OPTIONS,
    Accepted,
    AccountId,
    CampaignRequest,
    Idempotency,
    Priority,
    SendOptions,
    SendType,
)

ACCEPTED = 202


@dataclass(frozen=True, slots=True)
class ApiKey:
    """The caller names itself with its X-API-Key header (None when it is absent)."""

    key: str | None


@dataclass(frozen=True, slots=True)
class SessionAccount:
    """The account of a client-space session the door has already checked."""

    account_id: AccountId


Caller = ApiKey | SessionAccount


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One send as a door read it: its type, its body (the JSON fields of the
    contract), its caller, the path it came to (part of the idempotency digest),
    its Idempotency-Key if the door takes one, and the door's own words for a
    MULDES with no number at all (the form says how to give some)."""

    kind: SendType
    body: Any
    caller: Caller
    path: str
    idempotency_key: str | None = None
    no_numbers_hint: str | None = None


def idempotency_of(key: str | None, path: str, body: Any) -> Idempotency | None:
    """The Idempotency-Key with the digest of the request it came with (path and
    body), or 422 when the key is empty or too long."""
    if key is None:
        return None
    if not key or len(key) > 128:
        raise ApiError(
            422,
            "VALIDATION",
            VALIDATION_MESSAGE,
            [{"champ": "Idempotency-Key", "message": "Doit contenir 1 à 128 caractères."}],
        )
    digest = hashlib.sha256(
        (path + json.dumps(body, sort_keys=True, ensure_ascii=False)).encode()
    ).hexdigest()
    return Idempotency(key, digest)


def options_of(body: Body) -> SendOptions:
    """The send options of a validated body (contract section 10)."""
    if not body.model_fields_set & _OPTION_FIELDS:
        return NO_OPTIONS
    return SendOptions(
        reference=getattr(body, "reference", None),
        url_rappel=getattr(body, "urlRappel", None),
        validite=getattr(body, "validite", None),
        priorite=Priority(getattr(body, "priorite", None) or Priority.NORMALE.value),
        date_envoi=getattr(body, "dateEnvoi", None),
    )


_OPTION_FIELDS = frozenset({"reference", "urlRappel", "validite", "priorite", "dateEnvoi"})


def documented_bodies(
    config: Settings, routes: Mapping[SendType, Callable[..., Any]]
) -> dict[SendType, type[Body]]:
    """The request body each send route documents (its `@operation` record): the
    definition the OpenAPI document shows is the one every door checks."""
    bodies = {}
    for kind, view in routes.items():
        record = operation_of(view, "POST")
        assert record is not None, f"the {kind} route has no @operation record"
        body = resolve(record.body, config)
        assert body is not None, f"the {kind} route documents no body"
        bodies[kind] = body
    return bodies


@dataclass(frozen=True, slots=True)
class SendIntake:
    """What accepting a send needs, taken from the application once: the facade,
    the settings, the application's metrics and the documented body of each send
    type. Holds no state of its own; every door of the application shares one."""

    gateway: Gateway
    settings: Settings
    metrics: Metrics
    bodies: Mapping[SendType, type[Body]]

    async def accept(self, request: SendRequest) -> dict[str, Any]:
        """Run the pipeline on one send: the 202 body, or ApiError / GatewayError."""
        account_id = await self._authenticate(request.caller)
        logs.bind(account=account_id)
        self._count(request)
        body = self._validate(request)
        idem = idempotency_of(request.idempotency_key, request.path, request.body)
        accepted, answer = await self._decide(account_id, request.kind, body, idem)
        logs.bind(ref=answer.get("ref"))
        if not accepted.replayed:
            self.metrics.count_accepted(accepted)
        return answer

    async def _authenticate(self, caller: Caller) -> AccountId:
        match caller:
            case ApiKey(key=key):
                return await self.gateway.authenticate(key)
            case SessionAccount(account_id=account_id):
                return account_id
            case _:
                assert_never(caller)

    def _count(self, request: SendRequest) -> None:
        if request.kind is SendType.UNIDES:
            return
        limit = self.settings.gateway.max_recipients
        numbers = numbers_given(request.body)
        if isinstance(numbers, list) and len(numbers) > limit:
            raise ApiError(
                413,
                "TROP_DE_DESTINATAIRES",
                f"Un envoi accepte au plus {limit} numéros (reçu : {len(numbers)}).",
            )

    def _validate(self, request: SendRequest) -> Body:
        try:
            return valid(self.bodies[request.kind], request.body)
        except ApiError as refused:
            hint = request.no_numbers_hint
            if hint is None or not isinstance(request.body, dict) or request.body.get("numeros") != []:
                raise
            details = [d for d in refused.details if d.get("champ") != "numeros"]
            details.append({"champ": "numeros", "message": hint})
            raise ApiError(422, "VALIDATION", VALIDATION_MESSAGE, details) from None

    async def _decide(
        self, account_id: AccountId, kind: SendType, body: Any, idem: Idempotency | None
    ) -> tuple[Accepted, dict[str, Any]]:
        gw = self.gateway
        match kind:
            case SendType.UNIDES:
                assert isinstance(body, Unides)
                draft = gw.prepare(
                    kind, body.emetteur, [body.destinataire], body.corps, options_of(body)
                )
                accepted = await gw.submit(account_id, draft, idem)
                return accepted, views.accepted(accepted)
            case SendType.MULDES:
                assert isinstance(body, MuldesBase)
                draft = gw.prepare(kind, body.emetteur, body.numeros, body.corps, options_of(body))
                accepted = await gw.submit(account_id, draft, idem)
                return accepted, views.accepted(accepted)
            case SendType.MULDESP:
                campaign = CampaignRequest(
                    date_debut=date.fromisoformat(body.dateDebut),
                    date_fin=date.fromisoformat(body.dateFin),
                    nb_par_jour=body.nbParJour,
                    intervalle_minutes=body.intervalleMinutes,
                )
                draft = gw.prepare(kind, body.emetteur, body.numeros, body.corps, options_of(body))
                accepted = await gw.submit_campaign(account_id, draft, campaign, idem)
                return accepted, views.accepted_campaign(accepted, campaign)
            case _:
                assert_never(kind)
