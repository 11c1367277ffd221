"""Who is calling: API keys, client-space logins and page sessions.

`Access` owns the cache of API keys already looked up (by their hash) and the
login throttle; both are touched only from the trio thread. A key is checked in
constant time against its stored hash and never logged; a replaced or revoked
key leaves the cache at once, so it is refused from the next request on.

An account has up to `MAX_KEYS` live keys, each with a name. When a key was last
used is noted in memory at most once a minute per key and written by
`serve_key_uses`, all keys in one transaction per minute (a request never
writes); the listing shows the noted time before it is written.

Page sessions (client space, operator console) are signed cookies that carry a
generation read from the store on every request: logging out, changing the
password or the API key moves the account's generation on (the operator
console's on logout), which ends every such session at once, across restarts
and on every node sharing the database.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import trio

from config.settings import Settings
from engine import keys
from engine.clock import WallClock
from engine.errors import AuthError, Conflict, InvalidField, NotFound
from engine.login_throttle import LoginThrottle
from engine.model import AccountId, KeyRow, KeyView, iso
from engine.store import Store

log = logging.getLogger(__name__)

_DECOY_HASH = keys.hash_password("compte-inexistant")

MAX_KEYS = 10
"""Live (neither revoked nor expired) keys an account may hold at once."""

USE_NOTE_S = 60.0
"""A key's last use is noted at most this often, and written this often."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as its owner sees it once: the key itself and its expiry (ISO 8601);
    at account creation, also the callback signing secret (shown once too)."""

    cle: str
    expiration: str
    secret_rappel: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A key just created: how it is listed (`view`) and the key itself (`cle`),
    shown this once."""

    view: KeyView
    cle: str


@dataclass(frozen=True, slots=True)
class MintedKey:
    """A new key, its hash (what the store keeps) and its expiry."""

    key: str
    digest: str
    expiry: str

    @property
    def prefix(self) -> str:
        """The first 8 characters, which name the key in listings."""
        return self.key[:8]

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
        self._noted_at: dict[int, float] = {}
        """Key id -> trio time its use was last noted."""
        self._uses: dict[int, str] = {}
        """Key id -> when it was last used (ISO 8601), not yet written."""
        self._noted = trio.Event()
        """Set when a use is noted that is not written yet."""
        self._revocations = 0
        """Keys revoked or replaced by this process so far."""

    async def authenticate(self, api_key: str | None) -> AccountId:
        """The account of `api_key`, or `AuthError` (missing, invalid, revoked, expired)."""
        if not api_key:
            log.info("request refused: no API key")
            raise AuthError("La clé API est manquante (en-tête X-API-Key).", code="CLE_API_MANQUANTE")
        digest = keys.hash_api_key(api_key)
        row = await self._key_row(digest)
        if row is None or not keys.same_hash(row.key_hash, digest) or row.revoque_le:
            if row is not None:
                log.info("request refused: revoked API key of account %s", row.account_id)
            else:
                log.info("request refused: unknown API key")
            raise AuthError("La clé API est invalide.", code="CLE_API_INVALIDE")
        now = self._clock.now_iso()
        if row.expire_le <= now:
            log.info("request refused: expired API key of account %s", row.account_id)
            raise AuthError(
                f"La clé API a expiré le {row.expire_le} : régénérez-la depuis votre espace client.",
                code="CLE_API_EXPIREE",
            )
        self._note_use(row.id, now)
        return row.account_id

    async def account_of(self, api_key: str) -> AccountId | None:
        """The account of a valid `api_key`, else None; logs nothing and notes no
        use (the request is then authenticated where it is served)."""
        row = await self._key_row(keys.hash_api_key(api_key))
        if row is None or row.revoque_le or row.expire_le <= self._clock.now_iso():
            return None
        return row.account_id

    async def _key_row(self, digest: str) -> KeyRow | None:
        """The key of this hash, from the cache, else the store (then cached)."""
        row = self._keys.get(digest)
        if row is None:
            revoked_before = self._revocations
            row = await self._store.keys.find(digest)
            if row is not None and self._revocations == revoked_before:
                # a key read before a revocation committed is not kept stale
                self._keys[digest] = row
        return row

    def forget_keys(self, digests: Iterable[str]) -> int:
        """Drop these key hashes from the cache (revoked or replaced on another
        node): the next request with one reads the store again. How many were cached."""
        dropped = 0
        for digest in digests:
            if self._keys.pop(digest, None) is not None:
                dropped += 1
        if dropped:
            self._revocations += 1
        return dropped

    def _note_use(self, key_id: int, now: str) -> None:
        t = trio.current_time()
        if t - self._noted_at.get(key_id, -math.inf) >= USE_NOTE_S:
            self._noted_at[key_id] = t
            self._uses[key_id] = now
            self._noted.set()

    def key_expiry(self, api_key: str | None) -> str | None:
        """When `api_key` expires (ISO 8601), if it authenticated in this process
        and is still valid; None otherwise. No I/O: for the X-Cle-Expiration header."""
        if not api_key:
            return None
        row = self._keys.get(keys.hash_api_key(api_key))
        if row is None or row.revoque_le:
            return None
        return row.expire_le

    async def serve_key_uses(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Write the keys' noted uses every `USE_NOTE_S`, in one transaction; runs
        until cancelled. A use noted in the last minute before a stop is lost."""
        task_status.started()
        while True:
            await self._noted.wait()  # an idle gateway does not wake
            await trio.sleep(USE_NOTE_S)
            self._noted = trio.Event()
            await self.write_key_uses()

    async def write_key_uses(self) -> int:
        """Write the noted uses now; how many keys."""
        uses, self._uses = self._uses, {}
        if uses:
            try:
                await self._store.controls.record_key_uses(list(uses.items()))
            except BaseException:
                for key_id, at in uses.items():
                    self._uses.setdefault(key_id, at)
                self._noted.set()
                raise
        return len(uses)

    async def list_keys(self, account_id: AccountId) -> list[KeyView]:
        """The account's live keys, oldest first (`derniereUtilisation` to the minute)."""
        rows = await self._store.controls.live_keys(account_id, self._clock.now_iso())
        return [
            KeyView(r.id, r.nom, r.prefixe, r.cree_le, r.expire_le, self._uses.get(r.id, r.utilise_le))
            for r in rows
        ]

    async def create_key(
        self, account_id: AccountId, nom: str, expiration_jours: int | None = None
    ) -> CreatedKey:
        """One more named key for the account, valid `expiration_jours` days
        (default `gateway.key_validity_days`); 409 TROP_DE_CLES when the account
        has `MAX_KEYS` live keys already (nothing made)."""
        days = expiration_jours or self._settings.gateway.key_validity_days
        minted = self.mint(days)
        view = await self._store.controls.add_key(
            account_id, key_hash=minted.digest, prefixe=minted.prefix, nom=nom,
            expire_le=minted.expiry, now=self._clock.now_iso(), limit=MAX_KEYS,
        )
        if view is None:
            raise Conflict(
                f"Ce compte a déjà {MAX_KEYS} clés actives : révoquez-en une avant d'en créer "
                "une autre.",
                code="TROP_DE_CLES",
            )
        log.info("account %s: key %s created", account_id, view.id)
        return CreatedKey(view, minted.key)

    async def revoke_key(self, account_id: AccountId, key_id: int) -> None:
        """Revoke one live key of the account: refused from the next request on.
        404 CLE_INCONNUE when the account has no such live key."""
        digest = await self._store.controls.revoke_key(account_id, key_id, self._clock.now_iso())
        if digest is None:
            raise NotFound("Ce compte n'a pas de clé active portant cet identifiant.",
                           code="CLE_INCONNUE")
        self._revocations += 1
        self._keys.pop(digest, None)
        self._uses.pop(key_id, None)
        log.info("account %s: key %s revoked", account_id, key_id)

    def mint(self, days: int | None = None) -> MintedKey:
        """A new random key valid for `days` (default `gateway.key_validity_days`) from now."""
        key = keys.new_api_key()
        valid_days = days or self._settings.gateway.key_validity_days
        expiry = iso(self._clock.now() + timedelta(days=valid_days))
        return MintedKey(key, keys.hash_api_key(key), expiry)

    async def regenerate_key(self, account_id: AccountId, api_key: str | None = None) -> NewKey:
        """Replace the key `api_key` (the one calling) by a new key of the same
        name: the old one is refused from now on, the account's other keys stay.
        Without `api_key` (the client space), every live key of the account is
        replaced by one. The account's client-space sessions end either way."""
        minted = self.mint()
        now = iso(self._clock.now())
        if api_key:
            digest = keys.hash_api_key(api_key)
            if await self._store.controls.swap_key(
                account_id, digest, key_hash=minted.digest, prefixe=minted.prefix,
                expire_le=minted.expiry, now=now,
            ):
                self._revocations += 1
                self._keys.pop(digest, None)
                return minted.shown()
        revoked = await self._store.keys.replace(
            account_id, minted.digest, minted.expiry, now, prefixe=minted.prefix
        )
        self._revocations += 1
        for old in revoked:
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
