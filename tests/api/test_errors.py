"""Engine refusals know nothing of HTTP; `api/errors.py` answers each kind from one
table. Every kind has an answer, the engine's errors carry their data (field,
seconds to wait), and the login throttle refuses in the engine's own terms."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from api.errors import ANSWERS, refusal
from engine.campaigns.accept import CampaignRefused
from engine.errors import (
    AuthError,
    Conflict,
    ErrorKind,
    FieldFault,
    GatewayError,
    InvalidField,
    NotFound,
    Overloaded,
    TooManyAttempts,
    Unavailable,
)
from engine.login_throttle import LOGIN_WINDOW_S, LoginThrottle


def test_every_kind_of_refusal_has_one_http_answer() -> None:
    assert set(ANSWERS) == set(ErrorKind)


@pytest.mark.parametrize(
    ("error", "status", "code", "headers"),
    [
        (AuthError("La clé API est invalide.", code="CLE_API_INVALIDE"), 401, "CLE_API_INVALIDE", {}),
        (NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU"), 404, "COMPTE_INCONNU", {}),
        (Conflict("Déjà servi.", code="IDEMPOTENCE_CONFLIT"), 409, "IDEMPOTENCE_CONFLIT", {}),
        (InvalidField("emetteur", "Trop long."), 422, "VALIDATION", {}),
        (CampaignRefused("Champs invalides.", details=[{"champ": "dateFin", "message": "x"}]),
         422, "VALIDATION", {}),
        (TooManyAttempts(42), 429, "TROP_DE_TENTATIVES", {}),
        (Overloaded("Trop de messages en attente.", retry_after_s=5), 503, "SURCHARGE",
         {"Retry-After": "5"}),
        (Unavailable("Momentanément indisponible.", code="COMPTE_INDISPONIBLE"), 503,
         "COMPTE_INDISPONIBLE", {}),
    ],
)
def test_each_refusal_keeps_its_status_code_and_headers(
    error: GatewayError, status: int, code: str, headers: dict[str, str]
) -> None:
    answer = refusal(error)
    assert (answer.status, answer.code, answer.message, answer.headers) == (
        status, code, error.message, headers,
    )
    assert answer.details == [{"champ": f.field, "message": f.reason} for f in error.faults]


def test_an_invalid_field_names_its_field() -> None:
    error = InvalidField("montant", "Le montant doit être un entier strictement positif.")
    assert (error.field, error.reason) == ("montant", "Le montant doit être un entier strictement positif.")
    assert error.faults == (FieldFault("montant", error.reason),)
    assert refusal(error).details == [{"champ": "montant", "message": error.reason}]


def test_the_calendar_check_names_its_fields_in_the_contract_words() -> None:
    error = CampaignRefused("Champs invalides.", details=[{"champ": "dateFin", "message": "Trop tôt."}])
    assert error.faults == (FieldFault("dateFin", "Trop tôt."),)
    assert refusal(error).details == [{"champ": "dateFin", "message": "Trop tôt."}]


async def test_login_throttle_refuses_the_sixth_attempt_with_the_seconds_to_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    throttle = LoginThrottle()
    for _ in range(LoginThrottle.PER_LOGIN):
        throttle.check("compta@banque.ga", "10.0.0.1")
        throttle.failed("compta@banque.ga", "10.0.0.1")
        await trio.sleep(10)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.check("compta@banque.ga", "10.0.0.2")
    assert refused.value.retry_after_s == int(LOGIN_WINDOW_S) - 50 + 1
    assert refused.value.message == (
        f"Trop de tentatives de connexion : réessayez dans {refused.value.retry_after_s} secondes."
    )
    throttle.check("autre@banque.ga", "10.0.0.1")
    await trio.sleep(LOGIN_WINDOW_S)
    throttle.check("compta@banque.ga", "10.0.0.1")
