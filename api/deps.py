"""What handlers need from the application: the facade, settings, the send intake, the caller."""

from __future__ import annotations

import hmac

from quart import current_app, request

from api.errors import ApiError
from api.intake import SendIntake
from config import logs
from config.settings import Settings
from engine.gateway import Gateway
from engine.model import AccountId


def gateway() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def settings() -> Settings:
    return current_app.extensions["settings"]  # type: ignore[no-any-return]


def send_intake() -> SendIntake:
    """The pipeline every send door runs (api/intake.py), one per application."""
    return current_app.extensions["send_intake"]  # type: ignore[no-any-return]


async def client_account() -> AccountId:
    """The account of the request's X-API-Key (401 with the contract's codes)."""
    account_id = await gateway().authenticate(request.headers.get("X-API-Key"))
    logs.bind(account=account_id)
    return account_id


def require_admin() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "JETON_ADMIN_MANQUANT",
            "Jeton d'administration manquant (en-tête Authorization: Bearer).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected: str = current_app.extensions["admin_token"]
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(403, "JETON_ADMIN_INVALIDE", "Jeton d'administration invalide.")
