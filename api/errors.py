"""The error envelope of the contract (section 7), and the one table that gives
each engine refusal its HTTP answer.

The engine raises `GatewayError`s that know nothing of HTTP (engine/errors.py);
`refusal()` turns one into an `ApiError` through `ANSWERS`, for every door: the
application's error handler, the lean send door and the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Response, jsonify

from engine.errors import ErrorKind, GatewayError


class ApiError(Exception):
    """An error answered as `{"erreur": {"code", "message", "details"}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """How one kind of refusal is answered: its status, and whether the answer
    carries the refusal's `retry_after_s` as a Retry-After header."""

    status: int
    retry_after: bool = False


ANSWERS: dict[ErrorKind, HttpAnswer] = {
    ErrorKind.INVALID: HttpAnswer(422),
    ErrorKind.UNAUTHENTICATED: HttpAnswer(401),
    ErrorKind.FORBIDDEN: HttpAnswer(403),
    ErrorKind.NOT_FOUND: HttpAnswer(404),
    ErrorKind.CONFLICT: HttpAnswer(409),
    ErrorKind.TOO_MANY_ATTEMPTS: HttpAnswer(429),
    ErrorKind.OVERLOADED: HttpAnswer(503, retry_after=True),
    ErrorKind.UNAVAILABLE: HttpAnswer(503),
}
"""Every kind of engine refusal and its HTTP answer: the only place that says so."""


def status_of(exc: GatewayError) -> int:
    return ANSWERS[exc.kind].status


def refusal(exc: GatewayError) -> ApiError:
    """The HTTP answer to an engine refusal, through `ANSWERS`."""
    answer = ANSWERS[exc.kind]
    headers = {}
    if answer.retry_after and exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    details = [{"champ": f.field, "message": f.reason} for f in exc.faults]
    return ApiError(answer.status, exc.code, exc.message, details, headers)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify({"erreur": {"code": code, "message": message, "details": details or []}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("REQUETE_INVALIDE", "La requête est invalide."),
    401: ("NON_AUTHENTIFIE", "Authentification requise."),
    403: ("INTERDIT", "Accès refusé."),
    404: ("INTROUVABLE", "Cette ressource n'existe pas."),
    405: ("METHODE_NON_AUTORISEE", "Cette méthode n'est pas autorisée sur cette ressource."),
    413: ("REQUETE_TROP_VOLUMINEUSE", "Le corps de la requête dépasse la taille autorisée."),
    415: ("TYPE_NON_SUPPORTE", "Le corps de la requête doit être du JSON (Content-Type: application/json)."),
    429: ("TROP_DE_REQUETES", "Trop de requêtes : ralentissez."),
    500: ("ERREUR_INTERNE", "Erreur interne de la passerelle."),
    503: ("INDISPONIBLE", "Service momentanément indisponible."),
}
