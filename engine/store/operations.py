"""The store's named operations: what the rest of the engine may ask of it.

`Store` holds one object per concern (`store.accounts`, `store.keys`,
`store.ledger`, `store.idempotency`, `store.messages`, `store.receipts`,
`store.campaigns`, `store.reads`); each method is one transaction in the writer
(returning once committed, see `Store.transact`) or one read on a reader
connection (`Store.read`). Arguments and results are plain data of
`engine.model` and of the store's row types: no caller sees a connection, and a
second backend implements these same methods.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from engine.model import (
    Accepted,
    AccountId,
    AccountRow,
    AccountType,
    CampaignRow,
    Entry,
    InboundMessage,
    InboundStored,
    InboundView,
    InvoiceRow,
    JournalRow,
    KeyRow,
    KeyView,
    Ledger,
    MessageId,
    MessageView,
    OptOutRow,
    PartReceipt,
    PendingCallback,
    SendRef,
    SendView,
    WaitingMessage,
    WaveRow,
)
from engine.store import accounts as q_accounts
from engine.store import campaigns as q_campaigns
from engine.store import console as q_console
from engine.store import controls as q_controls
from engine.store import idempotency as q_idempotency
from engine.store import inbound as q_inbound
from engine.store import messages as q_messages
from engine.store import outbox as q_outbox
from engine.store import reads as q_reads
from engine.store.fence import Fence
from engine.store.messages import SettleRule
from engine.store.sql import Connection
from engine.store.writes import AccountBatch, BatchResult, apply_batch

FIRST_KEY = "principale"
"""The name of an account's first key, and of the one key that replaces them all."""

if TYPE_CHECKING:
    from engine.store.store import Store


class _Part:
    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store


class Accounts(_Part):
    """Accounts: creation, profile, what actors start from, and their reads."""

    async def create(
        self,
        *,
        nom: str,
        type: AccountType,
        email: str | None,
        password_hash: str | None,
        debit_max: float,
        opening: tuple[Ledger, Sequence[Entry]] | None,
        key_hash: str,
        key_expiry: str,
        now: str,
        key_prefix: str = "",
        secret_rappel: str | None = None,
        emetteurs: Sequence[str] = (),
    ) -> AccountId | None:
        """A new account, its opening ledger, sender names and first key, in one
        transaction; None when `email` (lower case) is already in use."""
        return await self._store.transact(
            partial(
                q_accounts.create_account,
                nom=nom,
                type=type,
                email=email,
                password_hash=password_hash,
                debit_max=debit_max,
                opening=opening,
                key_hash=key_hash,
                key_expiry=key_expiry,
                now=now,
                key_prefix=key_prefix,
                secret_rappel=secret_rappel,
                emetteurs=emetteurs,
            )
        )

    async def set_callback_secret(self, account_id: AccountId, secret: str) -> bool:
        """Replace the account's callback signing secret (False: no such account)."""
        return await self._store.transact(
            partial(q_accounts.set_callback_secret, account_id=account_id, secret=secret)
        )

    async def update_profile(
        self,
        account_id: AccountId,
        *,
        nom: str | None = None,
        url_rappel: str | None = None,
        clear_url: bool = False,
    ) -> None:
        await self._store.transact(
            partial(
                q_accounts.update_profile,
                account_id=account_id,
                nom=nom,
                url_rappel=url_rappel,
                clear_url=clear_url,
            )
        )

    async def for_actors(self, account_ids: Sequence[int]) -> dict[int, tuple[AccountRow, int]]:
        """Each account's row and count of messages still waiting."""
        return await self._store.read(partial(q_accounts.load_for_actors, account_ids=account_ids))

    async def prefetch(
        self, account_id: AccountId, keys: Sequence[str], invoice_ids: Sequence[int]
    ) -> tuple[dict[str, tuple[str, Accepted]], dict[int, InvoiceRow]]:
        """What an account's batch decides from, in one read: the answers kept
        under these idempotency keys, and these invoices (those that exist)."""

        def read(conn: Connection) -> tuple[dict[str, tuple[str, Accepted]], dict[int, InvoiceRow]]:
            invoices = {}
            for invoice_id in invoice_ids:
                invoice = q_accounts.get_invoice(conn, invoice_id)
                if invoice is not None:
                    invoices[invoice_id] = invoice
            return q_idempotency.find(conn, account_id, keys), invoices

        return await self._store.read(read)

    async def any(self) -> bool:
        """Whether any account exists (a fresh database has none)."""
        return await self._store.read(q_accounts.any_account)

    async def get(self, account_id: int) -> AccountRow | None:
        return await self._store.read(partial(q_accounts.get_account, account_id=account_id))

    async def get_with_key_expiry(self, account_id: int) -> tuple[AccountRow | None, str | None]:
        """The account and when its current key expires, in one read."""

        def read(conn: Connection) -> tuple[AccountRow | None, str | None]:
            return (
                q_accounts.get_account(conn, account_id),
                q_accounts.current_key_expiry(conn, account_id),
            )

        return await self._store.read(read)

    async def page(self, after: int, limit: int) -> list[AccountRow]:
        return await self._store.read(partial(q_accounts.list_accounts, after=after, limit=limit))

    async def exists(self, account_id: int) -> bool:
        return await self._store.read(partial(q_accounts.account_exists, account_id=account_id))

    async def by_login(self, login: str) -> AccountRow | None:
        """The account whose e-mail (lower case) or id is `login`."""
        return await self._store.read(partial(q_accounts.find_account_by_login, login=login))

    async def journal(self, account_id: int) -> list[Entry]:
        return await self._store.read(partial(q_accounts.journal_entries, account_id=account_id))

    async def journal_page(
        self, account_id: int, after: int, limit: int
    ) -> tuple[list[JournalRow], Ledger | None]:
        """A page of the journal and the ledger the whole journal adds up to (None
        when the account does not exist), in one read."""

        def read(conn: Connection) -> tuple[list[JournalRow], Ledger | None]:
            return (
                q_accounts.journal_page(conn, account_id, after, limit),
                q_accounts.journal_totals(conn, account_id),
            )

        return await self._store.read(read)

    async def invoice(self, invoice_id: int) -> InvoiceRow | None:
        return await self._store.read(partial(q_accounts.get_invoice, invoice_id=invoice_id))

    async def invoices(self, account_id: int) -> list[InvoiceRow]:
        return await self._store.read(partial(q_accounts.list_invoices, account_id=account_id))


class Keys(_Part):
    """Credentials: API keys (stored as digests), passwords, and the generations
    that client-space and operator console sessions carry (a session whose
    generation is not the stored one is over, on every node)."""

    async def find(self, key_hash: str) -> KeyRow | None:
        return await self._store.read(partial(q_accounts.find_key, key_hash=key_hash))

    async def replace(
        self, account_id: AccountId, key_hash: str, expiry: str, now: str, *, prefixe: str = ""
    ) -> list[str]:
        """Revoke the account's live keys and store the new one; return the
        digests revoked. Every session of the account ends with them."""

        def job(conn: Connection) -> list[str]:
            old = q_accounts.live_key_hashes(conn, account_id)
            q_accounts.replace_key(
                conn, account_id, key_hash, expiry, now, prefixe=prefixe, nom=FIRST_KEY
            )
            q_accounts.end_sessions(conn, account_id)
            return old

        return await self._store.transact(job)

    async def session_generation(self, account_id: AccountId) -> int | None:
        """The generation the account's live sessions carry (None: no such account)."""
        return await self._store.read(
            partial(q_accounts.session_generation, account_id=account_id)
        )

    async def end_sessions(self, account_id: AccountId) -> None:
        """End every client-space session of the account."""
        await self._store.transact(partial(q_accounts.end_sessions, account_id=account_id))

    async def set_password(self, account_id: AccountId, password_hash: str) -> None:
        """Store a new password digest; every session of the account ends."""
        await self._store.transact(
            partial(q_accounts.set_password, account_id=account_id, password_hash=password_hash)
        )

    async def operator_epoch(self) -> str:
        """The value live operator console sessions carry."""
        return await self._store.read(q_accounts.operator_epoch)

    async def end_operator_sessions(self, epoch: str) -> None:
        """End every operator console session: live ones must carry `epoch` now."""
        await self._store.transact(partial(q_accounts.renew_operator_epoch, epoch=epoch))


class LedgerOps(_Part):
    """The account actors' writes."""

    async def apply(self, batch: AccountBatch, rule: SettleRule) -> BatchResult:
        """Write one actor batch in one transaction (`engine.store.writes`);
        outcomes are billed as `rule` decides."""
        done = await self._store.transact(
            partial(apply_batch, batch=batch, rule=rule, fence=self._store.fence)
        )
        self._store.outbox.recorded += done.events
        return done


def fenced_attempt(
    conn: Connection, message_ids: Sequence[int], smsc: str, accounts: Sequence[int],
    fence: Fence,
) -> set[int]:
    """`mark_attempt` for the messages of the accounts whose shards `fence` still
    holds; returns the other accounts."""
    held = fence.held(conn, set(accounts))
    refused = {a for a in accounts if fence.shard(a) not in held}
    if refused:
        fence.refused += 1
        message_ids = [m for m, a in zip(message_ids, accounts, strict=True) if a not in refused]
    if message_ids:
        q_messages.mark_attempt(conn, message_ids, smsc)
    return refused


class IdempotencyOps(_Part):
    async def expire(self, before: float) -> int:
        """Forget the records created before `before` (POSIX seconds); how many."""
        return await self._store.transact(partial(q_idempotency.expire, before=before))

    async def oldest(self) -> float | None:
        """When the oldest record was created (POSIX seconds), or None."""
        return await self._store.read(q_idempotency.oldest)


class Messages(_Part):
    async def mark_attempt(
        self, message_ids: Sequence[int], smsc: str = "defaut", accounts: Sequence[int] = ()
    ) -> set[int]:
        """Record that a submit_sm may leave for these messages (at-least-once),
        through the SMSC connection `smsc`. On a node of a cluster, `accounts` (each
        message's account) says whose they are: the messages of accounts whose shard
        the node no longer holds are not recorded, and those accounts are returned
        (their messages must not leave)."""
        fence = self._store.fence
        if fence is None:
            await self._store.transact(
                partial(q_messages.mark_attempt, message_ids=message_ids, smsc=smsc)
            )
            return set()
        return await self._store.transact(
            partial(fenced_attempt, message_ids=message_ids, smsc=smsc, accounts=accounts,
                    fence=fence)
        )

    async def flag_possible_duplicates(self, message_ids: Sequence[MessageId]) -> None:
        await self._store.transact(
            partial(q_messages.flag_possible_duplicates, message_ids=message_ids)
        )

    async def waiting(self) -> list[WaitingMessage]:
        """Messages of single and bulk sends still EN_ATTENTE, oldest first."""
        return await self._store.read(q_reads.pending_messages)

    async def waiting_of(self, ref: SendRef) -> list[WaitingMessage]:
        """Messages of send `ref` still EN_ATTENTE, in order."""
        return await self._store.read(partial(q_reads.pending_of, ref=ref))


class Receipts(_Part):
    async def record(
        self, known: Sequence[PartReceipt], looked_up: Sequence[tuple[str, str, str]]
    ) -> tuple[list[tuple[int, int, str, str]], list[int]]:
        """Apply part receipts already matched (`known`) and those (smsc_id as
        received, livraison, at) to match through the stored SMSC ids, in one
        transaction, with a LIVRAISON callback event for each message whose
        delivery is now known and that has a callback URL. Returns the
        (message_id, ref, livraison, at) of those messages, and the indexes in
        `looked_up` that matched nothing."""

        events = 0

        def job(conn: Connection) -> tuple[list[tuple[int, int, str, str]], list[int]]:
            nonlocal events
            found, missing = q_messages.find_receipted(conn, looked_up)
            matched = q_messages.record_receipts(conn, [*known, *found])
            events = q_outbox.record(conn, "LIVRAISON", [m[0] for m in matched], time.time())
            return matched, missing

        done = await self._store.transact(job)
        self._store.outbox.recorded += events
        return done


class Inbound(_Part):
    """Inbound messages (MO) and the numbers accounts receive them on."""

    async def record(self, messages: Sequence[InboundMessage]) -> list[InboundStored]:
        """Store MO with their owners and their ENTRANT callback events, in one
        transaction (durable on return)."""
        stored, events = await self._store.transact(
            partial(q_inbound.record, messages=messages, stamp=time.time())
        )
        self._store.outbox.recorded += events
        return stored

    async def numbers(self, account_id: AccountId) -> list[str]:
        return await self._store.read(partial(q_inbound.numbers, account_id=account_id))

    async def set_numbers(self, account_id: AccountId, numbers: Sequence[str]) -> str | None:
        """Replace the account's inbound numbers; the number another account owns
        (nothing changed), else None."""
        return await self._store.transact(
            partial(q_inbound.set_numbers, account_id=account_id, wanted=numbers)
        )

    async def page(
        self, account_id: AccountId | None, *, before_id: int, limit: int
    ) -> list[InboundView]:
        """MO newest first: the account's, or (None) those to no known number."""
        return await self._store.read(
            partial(q_inbound.page, account_id=account_id, before_id=before_id, limit=limit)
        )


class Campaigns(_Part):
    """Scheduled campaigns' reads (their writes go with the account's batches)."""

    async def get(self, ref: SendRef) -> CampaignRow | None:
        return await self._store.read(partial(q_campaigns.get_campaign, ref=ref))

    async def with_waves(self, ref: SendRef) -> tuple[CampaignRow | None, list[WaveRow]]:
        """The campaign and the waves it has sent, in one read."""

        def read(conn: Connection) -> tuple[CampaignRow | None, list[WaveRow]]:
            return q_campaigns.get_campaign(conn, ref), q_campaigns.waves_done(conn, ref)

        return await self._store.read(read)

    async def live(self) -> list[CampaignRow]:
        return await self._store.read(q_campaigns.live_campaigns)

    async def set_state(self, ref: SendRef, etat: str, public: dict[str, object]) -> None:
        """A live campaign's state and shown fields, changed without a wave (the
        scheduler's, when its account is suspended or reactivated)."""
        await self._store.transact(
            partial(q_campaigns.set_state, ref=ref, etat=etat, public=public)
        )

    async def recipients(self, first: int, count: int) -> list[tuple[MessageId, str]]:
        """(id, number) of the messages `first` .. `first + count - 1` still waiting."""
        return await self._store.read(partial(q_campaigns.recipients, first=first, count=count))

    async def released_waiting(self) -> list[WaitingMessage]:
        """Released campaign messages still EN_ATTENTE."""
        return await self._store.read(q_campaigns.released_pending)


class Reads(_Part):
    """What the API shows."""

    async def send(self, account_id: int, ref: int) -> SendView | None:
        return await self._store.read(partial(q_reads.get_send, account_id=account_id, ref=ref))

    async def messages_page(
        self, account_id: int, ref: int, *, statut: str | None, after_id: int, limit: int
    ) -> list[MessageView] | None:
        return await self._store.read(
            partial(
                q_reads.messages_page,
                account_id=account_id,
                ref=ref,
                statut=statut,
                after_id=after_id,
                limit=limit,
            )
        )

    async def sends_page(
        self,
        account_id: int,
        *,
        before_ref: int | None,
        type: str | None,
        statut: str | None,
        since: str | None,
        until: str | None,
        limit: int,
        reference: str | None = None,
        numero: str | None = None,
    ) -> list[SendView]:
        return await self._store.read(
            partial(
                q_reads.list_sends,
                account_id=account_id,
                before_ref=before_ref,
                type=type,
                statut=statut,
                since=since,
                until=until,
                limit=limit,
                reference=reference,
                numero=numero,
            )
        )


class Controls(_Part):
    """Account controls: named keys, suspension and sender names, the opt-out
    list, the administration journal and the monthly postpaid close."""

    async def live_keys(self, account_id: AccountId, now: str) -> list[KeyView]:
        """The account's keys neither revoked nor expired at `now`, oldest first."""
        return await self._store.read(
            partial(q_controls.live_keys, account_id=account_id, now=now)
        )

    async def add_key(
        self,
        account_id: AccountId,
        *,
        key_hash: str,
        prefixe: str,
        nom: str,
        expire_le: str,
        now: str,
        limit: int,
    ) -> KeyView | None:
        """One more key, unless the account has `limit` live keys (None, nothing written)."""
        return await self._store.transact(
            partial(
                q_controls.add_key, account_id=account_id, key_hash=key_hash,
                prefixe=prefixe, nom=nom, expire_le=expire_le, now=now, limit=limit,
            )
        )

    async def revoke_key(self, account_id: AccountId, key_id: int, now: str) -> str | None:
        """Revoke a live key of the account; its digest, or None when there is none."""
        return await self._store.transact(
            partial(q_controls.revoke_key, account_id=account_id, key_id=key_id, now=now)
        )

    async def swap_key(
        self, account_id: AccountId, old_hash: str, *, key_hash: str, prefixe: str,
        expire_le: str, now: str,
    ) -> bool:
        """Replace one live key of the account by a new one of the same name; the
        account's client-space sessions end. False when `old_hash` is not live."""

        def job(conn: Connection) -> bool:
            swapped = q_controls.swap_key(
                conn, account_id, old_hash, key_hash=key_hash, prefixe=prefixe,
                expire_le=expire_le, now=now,
            )
            if swapped:
                q_accounts.end_sessions(conn, account_id)
            return swapped

        return await self._store.transact(job)

    async def record_key_uses(self, uses: Sequence[tuple[int, str]]) -> None:
        """When each key (id, ISO 8601) was last used, all in one transaction."""
        await self._store.transact(partial(q_controls.record_key_uses, uses=uses))

    async def set(
        self,
        account_id: AccountId,
        *,
        actif: bool | None,
        emetteurs: Sequence[str] | None,
        journal: str,
        now: str,
    ) -> None:
        """Suspend or reactivate the account and/or set its sender names, with the
        journal entry saying who did it, in one transaction."""

        def job(conn: Connection) -> None:
            q_controls.set_controls(conn, account_id, actif=actif, emetteurs=emetteurs)
            q_controls.record_admin(conn, account_id, journal, now)

        await self._store.transact(job)

    async def record_admin(self, account_id: AccountId, detail: str, now: str) -> None:
        """An administration action in the account's journal."""
        await self._store.transact(
            partial(q_controls.record_admin, account_id=account_id, detail=detail, now=now)
        )

    async def add_opt_outs(
        self, account_id: AccountId, numbers: Sequence[str], source: str, now: str
    ) -> int:
        """Put normalised `numbers` on the account's opt-out list with their `source`;
        how many were new."""
        return await self._store.transact(
            partial(
                q_controls.add_opt_outs, account_id=account_id, numbers=numbers,
                source=source, now=now,
            )
        )

    async def remove_opt_out(self, account_id: AccountId, number: str) -> bool:
        """Take a number off the list; False when it was not on it."""
        return await self._store.transact(
            partial(q_controls.remove_opt_out, account_id=account_id, number=number)
        )

    async def opt_outs_page(self, account_id: AccountId, after: int, limit: int) -> list[OptOutRow]:
        return await self._store.read(
            partial(q_controls.opt_outs_page, account_id=account_id, after=after, limit=limit)
        )

    async def opted_out_among(
        self, account_id: AccountId, numbers: Sequence[str]
    ) -> tuple[bool, frozenset[str]]:
        """Whether the account's list holds anything, and which of `numbers` it holds."""
        return await self._store.read(
            partial(q_controls.opted_out_among, account_id=account_id, numbers=numbers)
        )

    async def postpaid_due(self, periode: str, boundary: str) -> list[AccountId]:
        """Postpaid accounts created before `boundary` with no invoice for `periode`."""
        return await self._store.read(
            partial(q_controls.postpaid_due, periode=periode, boundary=boundary)
        )

    async def search_accounts(self, text: str, after: int, limit: int) -> list[AccountRow]:
        """Accounts whose id is `text` or whose name or e-mail contains it."""
        return await self._store.read(
            partial(q_controls.search_accounts, text=text, after=after, limit=limit)
        )

    async def consumption_by_hour(self, account_id: AccountId, since: str) -> list[tuple[str, int]]:
        """Consumption per UTC hour since `since` (ISO 8601)."""
        return await self._store.read(
            partial(q_controls.consumption_by_hour, account_id=account_id, since=since)
        )

    async def monthly_close_from(self, now: str) -> str:
        """When the monthly close first ran on this database (recorded as `now`
        the first time)."""
        return await self._store.transact(partial(q_controls.monthly_close_from, now=now))


CLAIM_S = 60.0
"""How long an event read for delivery is this node's (several times what a
delivery may take): if the node dies before settling it, it is due again for
every node after that."""


class Outbox(_Part):
    """The callback outbox (`engine.store.outbox`): its events are written with
    the changes they report; the notifier reads and settles them here.
    `recorded` counts the events this process's transactions wrote, so the
    notifier looks at the outbox only when there is something new."""

    __slots__ = ("recorded",)

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.recorded = 0

    async def due(self, now: float, limit: int) -> list[PendingCallback]:
        """Up to `limit` events due at `now`. On a node of a cluster each is claimed
        for `CLAIM_S` (delivered by this node alone, settled by `settle`); a gateway
        alone on its store only reads them (after a restart it delivers at once
        what it had read before)."""
        if self._store.fence is None:
            return await self._store.read(partial(q_outbox.due, now=now, limit=limit))
        return await self._store.transact(
            partial(q_outbox.claim, now=now, limit=limit, until=now + CLAIM_S)
        )

    async def next_due(self) -> float | None:
        return await self._store.read(q_outbox.next_due)

    async def waiting(self) -> int:
        return await self._store.read(q_outbox.waiting)

    async def settle(self, done: Sequence[int], retry: Sequence[tuple[float, int]]) -> None:
        await self._store.transact(partial(q_outbox.settle, done=done, retry=retry))


class Console(_Part):
    """What the operator console reads beyond the admin API."""

    async def latest_entries(self, account_id: AccountId, limit: int) -> list[JournalRow]:
        """The account's last `limit` journal entries, newest first."""
        return await self._store.read(
            partial(q_console.latest_entries, account_id=account_id, limit=limit)
        )
