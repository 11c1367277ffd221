"""Refusals the engine raises, in the engine's own terms.

A `GatewayError` says what kind of refusal it is (`kind`), the contract's error
code and a French message for the caller, plus the data the refusal is about
(the faulty fields as `FieldFault`s, how long to wait). It knows nothing of HTTP: `api/errors.py`
owns the one table that turns each kind into a status and headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """What a refusal is about; each kind has one HTTP answer (api/errors.py)."""

    INVALID = "invalid"
    """The request breaks a rule; `details` names the faulty fields."""
    UNAUTHENTICATED = "unauthenticated"
    """The caller could not be identified (missing, unknown, expired credentials)."""
    NOT_FOUND = "not_found"
    """What the request names does not exist, or is not the caller's."""
    FORBIDDEN = "forbidden"
    """The caller is known but may not do this now (a suspended account)."""
    CONFLICT = "conflict"
    """The request contradicts the present state (a reused key, a closed campaign)."""
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    """Too many failed attempts recently; `retry_after_s` says how long to wait."""
    OVERLOADED = "overloaded"
    """The gateway holds too much work; `retry_after_s` says when to come back."""
    UNAVAILABLE = "unavailable"
    """A part of the gateway cannot answer right now."""


@dataclass(frozen=True, slots=True)
class FieldFault:
    """One faulty field of a refused request: its name and what is wrong, in French."""

    field: str
    reason: str


class GatewayError(Exception):
    """A refusal: its `kind`, the contract's error `code`, a French `message`, and
    the faulty fields (`faults`). A subclass fixes the kind; the code may be given
    per raise. Faults may also be given as `details`, mappings with the contract's
    keys `champ` and `message`."""

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    code = "ERREUR"
    retry_after_s: int | None = None

    def __init__(self, message: str, *, code: str | None = None,
                 faults: Sequence[FieldFault] = (),
                 details: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.faults = (*faults, *(FieldFault(d["champ"], d["message"]) for d in details))


class AuthError(GatewayError):
    kind = ErrorKind.UNAUTHENTICATED


class NotFound(GatewayError):
    kind = ErrorKind.NOT_FOUND
    code = "INTROUVABLE"


class Forbidden(GatewayError):
    kind = ErrorKind.FORBIDDEN
    code = "INTERDIT"


class Conflict(GatewayError):
    kind = ErrorKind.CONFLICT
    code = "CONFLIT"


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key already answered a request with another body."""

    code = "IDEMPOTENCE_CONFLIT"

    def __init__(self) -> None:
        super().__init__("Cette clé d'idempotence a déjà servi pour une autre requête.")


class InvalidField(GatewayError):
    """One faulty field: its name (`field`) and what is wrong with it (`reason`)."""

    kind = ErrorKind.INVALID
    code = "VALIDATION"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            "La requête contient des champs invalides.", faults=(FieldFault(field, reason),)
        )
        self.field = field
        self.reason = reason


class TooManyAttempts(GatewayError):
    """Too many failed logins: the next attempt is possible in `retry_after_s`."""

    kind = ErrorKind.TOO_MANY_ATTEMPTS
    code = "TROP_DE_TENTATIVES"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Trop de tentatives de connexion : réessayez dans {retry_after_s} secondes."
        )
        self.retry_after_s = retry_after_s


class Overloaded(GatewayError):
    kind = ErrorKind.OVERLOADED
    code = "SURCHARGE"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(GatewayError):
    kind = ErrorKind.UNAVAILABLE
    code = "INDISPONIBLE"
