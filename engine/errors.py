"""Errors the facade raises for the API to turn into its error envelope."""

from __future__ import annotations


class GatewayError(Exception):
    """A refusal with an API error `code`, an HTTP `status` and a French message."""

    status = 400
    code = "ERREUR"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or []


class AuthError(GatewayError):
    status = 401


class NotFound(GatewayError):
    status = 404
    code = "INTROUVABLE"


class Conflict(GatewayError):
    status = 409
    code = "CONFLIT"


class InvalidField(GatewayError):
    status = 422
    code = "VALIDATION"

    def __init__(self, champ: str, message: str) -> None:
        super().__init__(
            "La requête contient des champs invalides.",
            details=[{"champ": champ, "message": message}],
        )


class Overloaded(GatewayError):
    status = 503
    code = "SURCHARGE"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
