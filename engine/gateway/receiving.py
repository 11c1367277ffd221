"""Inbound messages (MO) as the API shows them, and the numbers accounts own.

An account owns inbound numbers and short codes (`numerosEntrants`, set by an
operator); an MO to one of them is that account's (`page`), an MO to none is
the operators' (`unclaimed_page`). What an MO does when it arrives is
`engine.inbound`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import Conflict, InvalidField, NotFound
from engine.gateway.runtime import Runtime
from engine.model import AccountId, InboundView, inbound_key
from engine.model.inbound import MAX_INBOUND_NUMBER

MAX_INBOUND_NUMBERS = 100
"""Inbound numbers and short codes one account may own."""


class Receiving:
    """Reads and sets inbound numbers; reads inbound messages."""

    def __init__(self, runtime: Runtime) -> None:
        self._store = runtime.store

    async def inbound_numbers(self, account_id: AccountId) -> list[str]:
        """The account's inbound numbers and short codes (as matched: no `+`)."""
        return await self._store.inbound.numbers(account_id)

    async def set_inbound_numbers(self, account_id: AccountId, numbers: Sequence[str]) -> None:
        """Make `numbers` the account's inbound numbers and short codes (an empty list
        releases them all). A number another account owns is a 409
        NUMERO_ENTRANT_UTILISE and changes nothing."""
        if len(numbers) > MAX_INBOUND_NUMBERS:
            raise InvalidField(
                "numerosEntrants", f"Au plus {MAX_INBOUND_NUMBERS} numéros entrants par compte."
            )
        for number in numbers:
            key = inbound_key(number)
            if not key or not key.isdigit() or not key.isascii() or len(key) > MAX_INBOUND_NUMBER - 1:
                raise InvalidField(
                    "numerosEntrants",
                    f"« {number} » n'est ni un code court ni un numéro : des chiffres, "
                    "un + devant pour un numéro international, 20 au plus.",
                )
        if not await self._store.accounts.exists(account_id):
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")
        taken = await self._store.inbound.set_numbers(account_id, numbers)
        if taken is not None:
            raise Conflict(
                f"Le numéro entrant {taken} appartient déjà à un autre compte.",
                code="NUMERO_ENTRANT_UTILISE",
            )

    async def inbound_page(
        self, account_id: AccountId, *, before: int, limit: int
    ) -> list[InboundView]:
        """The account's MO, newest first, from before the id `before` (0: newest)."""
        return await self._store.inbound.page(account_id, before_id=before, limit=limit)

    async def unclaimed_page(self, *, before: int, limit: int) -> list[InboundView]:
        """MO to no account's number, newest first (the operators' list)."""
        return await self._store.inbound.page(None, before_id=before, limit=limit)
