"""The error envelope of the contract (section 7)."""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify


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
