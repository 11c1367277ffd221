"""Who is calling: API keys, client-space logins and page sessions.

`Access` owns the cache of API keys already looked up (by their hash) and the
login throttle; both are touched only from the trio thread. A key is checked in
constant time against its stored hash and never logged; a replaced key leaves
the cache at once, so it is refused from the next request on.

Page sessions (client space, operator console) are signed cookies that carry a
generation read from the store on every request: logging out, changing the
password or the API key moves the account's generation on (the operator
console's on logout), which ends every such session at once, across restarts
and on every node sharing the database.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import trio

from config.settings import Settings
from engine import keys
from engine.clock import WallClock
from engine.errors import AuthError, InvalidField
from engine.login_throttle import LoginThrottle
from engine.model import AccountId, KeyRow, iso
from engine.store import Store

log = logging.getLogger(__name__)

_DECOY_HASH = keys.hash_password("compte-inexistant")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as its owner sees it once: the key itself and its expiry (ISO 8601);
    at account creation, also the callback signing secret (shown once too)."""

    cle: str
    expiration: str
    secret_rappel: str | None = None


@dataclass(frozen=True, slots=True)
class MintedKey:
    """A new key, its hash (what the store keeps) and its expiry."""

    key: str
    digest: str
    expiry: str

    def shown(self, secret_rappel: str | None = None) -> NewKey:
        return NewKey(self.key, self.expiry, secret_rappel)


class Access:
    """Authenticates API keys and client-space logins; mints and replaces keys."""

    def __init__(self, settings: Settings, store: Store, clock: WallClock) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._keys: dict[str, KeyRow] = {}
        self._logins = LoginThrottle()

    async def authenticate(self, api_key: str | None) -> AccountId:
        """The account of `api_key`, or `AuthError` (missing, invalid, revoked, expired)."""
        if not api_key:
            log.info("request refused: no API key")
            raise AuthError("La clé API est manquante (en-tête X-API-Key).", code="CLE_API_MANQUANTE")
        digest = keys.hash_api_key(api_key)
        row = self._keys.get(digest)
        if row is None:
            row = await self._store.keys.find(digest)
            if row is not None:
                self._keys[digest] = row
        if row is None or not keys.same_hash(row.key_hash, digest) or row.revoque_le:
            if row is not None:
                log.info("request refused: revoked API key of account %s", row.account_id)
            else:
                log.info("request refused: unknown API key")
            raise AuthError("La clé API est invalide.", code="CLE_API_INVALIDE")
        if row.expire_le <= self._clock.now_iso():
            log.info("request refused: expired API key of account %s", row.account_id)
            raise AuthError(
                f"La clé API a expiré le {row.expire_le} : régénérez-la depuis votre espace client.",
                code="CLE_API_EXPIREE",
            )
        return row.account_id

    def mint(self) -> MintedKey:
        """A new random key valid for `gateway.key_validity_days` from now."""
        key = keys.new_api_key()
        expiry = iso(self._clock.now() + timedelta(days=self._settings.gateway.key_validity_days))
        return MintedKey(key, keys.hash_api_key(key), expiry)

    async def regenerate_key(self, account_id: AccountId) -> NewKey:
        """Replace the account's key: the old one is refused from now on."""
        minted = self.mint()
        now = iso(self._clock.now())
        for old in await self._store.keys.replace(account_id, minted.digest, minted.expiry, now):
            self._keys.pop(old, None)
        return minted.shown()

    async def login(self, login: str, password: str, source: str) -> AccountId:
        """The account whose e-mail or id is `login` and whose password matches.

        Failures are counted per login and per `source` (the caller's address) over
        `LOGIN_WINDOW_S`; past the limit every attempt raises `TooManyAttempts`
        without hashing. The slow hash runs in a worker thread, also for unknown
        logins (same cost).
        """
        key = login.strip().lower()
        self._logins.check(key, source)
        row = await self._store.accounts.by_login(key)
        stored = row.password_hash if row is not None else None
        ok = await trio.to_thread.run_sync(keys.check_password, password, stored or _DECOY_HASH)
        if row is None or not stored or not ok:
            self._logins.failed(key, source)
            log.info("client space: failed login (account %s)", row.id if row else "unknown")
            raise AuthError("Identifiant ou mot de passe incorrect.", code="IDENTIFIANTS_INVALIDES")
        self._logins.succeeded(key)
        return row.id

    async def change_password(self, account_id: AccountId, current: str, new: str) -> None:
        """Replace the account's password after checking the current one (counted
        like a failed login when wrong: `InvalidField` on `actuel`, then
        `TooManyAttempts`); every session of the account ends."""
        key = str(account_id)
        self._logins.check(key, "mot-de-passe")
        row = await self._store.accounts.get(account_id)
        stored = row.password_hash if row is not None else None
        ok = await trio.to_thread.run_sync(keys.check_password, current, stored or _DECOY_HASH)
        if row is None or not stored or not ok:
            self._logins.failed(key, "mot-de-passe")
            raise InvalidField("actuel", "Le mot de passe actuel est incorrect.")
        await self.set_password(account_id, new)

    async def set_password(self, account_id: AccountId, password: str) -> None:
        """Store a new password for the account (hashed in a worker thread);
        every client-space session of the account ends."""
        digest = await trio.to_thread.run_sync(keys.hash_password, password)
        await self._store.keys.set_password(account_id, digest)
        log.info("password changed, client-space sessions ended (account %s)", account_id)

    async def session_generation(self, account_id: AccountId) -> int | None:
        """The generation a live session of the account carries (None: no account)."""
        return await self._store.keys.session_generation(account_id)

    async def end_sessions(self, account_id: AccountId) -> None:
        """End every client-space session of the account, on every node."""
        await self._store.keys.end_sessions(account_id)

    async def operator_epoch(self) -> str:
        """The value a live operator console session carries."""
        return await self._store.keys.operator_epoch()

    async def end_operator_sessions(self) -> None:
        """End every operator console session, on every node."""
        await self._store.keys.end_operator_sessions(secrets.token_urlsafe(16))
