"""The opt-out list: numbers an account must never send to.

A number on an account's list is a recipient that ends ECHEC / DESINSCRIT at
acceptance: it is taken out of the send before the account's actor reserves
anything, so it is never sent and never charged. Numbers are normalised like
recipients. Whether an account has any number on its list is remembered for
`NONE_KNOWN_S` so that a send of an account with an empty list costs no read;
an addition through this process forgets it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import trio

from config.settings import Settings
from engine.clock import WallClock
from engine.errors import InvalidField, NotFound
from engine.model import AccountId, OptOutRow
from engine.store import Store
from engine.text import normalize_recipients

log = logging.getLogger(__name__)

NONE_KNOWN_S = 5.0
"""How long an account known to have an empty list is taken to still have one."""

MAX_NUMBERS = 100_000
"""Numbers one addition may carry."""


class OptOuts:
    """Reads and changes accounts' opt-out lists; owns the memory of which
    accounts have an empty one (touched only from the trio thread)."""

    def __init__(self, settings: Settings, store: Store, clock: WallClock) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._empty_until: dict[AccountId, float] = {}

    def _normalised(self, numbers: Sequence[str], field: str) -> list[str]:
        found = normalize_recipients(numbers, self._settings.gateway.default_region)
        if found.invalid:
            shown = ", ".join(found.invalid[:5])
            raise InvalidField(field, f"Numéros invalides : {shown}.")
        return list(found.valid)

    async def add_opt_outs(
        self, account_id: AccountId, numbers: Sequence[str], source: str
    ) -> int:
        """Put `numbers` on the account's opt-out list, noting who asked (`source`:
        API, ESPACE, STOP for an inbound STOP, or an operator's). Normalised like
        recipients; an invalid number refuses the whole list (422 on `numeros`,
        nothing written). Returns how many numbers were not on the list yet."""
        if len(numbers) > MAX_NUMBERS:
            raise InvalidField("numeros", f"Au plus {MAX_NUMBERS} numéros par ajout.")
        valid = self._normalised(numbers, "numeros")
        added = await self._store.controls.add_opt_outs(
            account_id, valid, source, self._clock.now_iso()
        )
        self._empty_until.pop(account_id, None)
        log.info("account %s: %d numbers opted out (%s)", account_id, added, source)
        return added

    async def remove_opt_out(self, account_id: AccountId, numero: str) -> None:
        """Take a number off the account's list (404 NUMERO_NON_DESINSCRIT when it is not on it)."""
        valid = normalize_recipients([numero], self._settings.gateway.default_region).valid
        if not valid or not await self._store.controls.remove_opt_out(account_id, valid[0]):
            raise NotFound("Ce numéro n'est pas dans votre liste de désinscrits.",
                           code="NUMERO_NON_DESINSCRIT")

    async def opt_outs_page(self, account_id: AccountId, after: int, limit: int) -> list[OptOutRow]:
        """A page of the account's list, in the order numbers were added, after id `after`."""
        return await self._store.controls.opt_outs_page(account_id, after, limit)

    async def opted_out(self, account_id: AccountId, numbers: Sequence[str]) -> frozenset[str]:
        """Which of `numbers` (normalised) are on the account's list."""
        if not numbers or self._empty_until.get(account_id, -1.0) > trio.current_time():
            return frozenset()
        any_listed, found = await self._store.controls.opted_out_among(account_id, numbers)
        if not any_listed:
            self._empty_until[account_id] = trio.current_time() + NONE_KNOWN_S
        return found
