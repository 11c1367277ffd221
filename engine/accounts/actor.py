"""The account actor: sole owner of one account's ledger.

Every change to an account's money goes through its actor, one command at a
time, so no interleaving of requests can overdraw a prepaid balance. The actor
drains whatever is waiting in its mailbox and handles it as one batch: the pure
ledger decides each command in order, the batch is written in one store
transaction, and only then are the askers answered (a 202 is never given for an
uncommitted reservation). Accepted messages are then offered to the dispatcher.

The mailbox is bounded; a full mailbox makes the asker wait. A command taken
from the mailbox is always carried out, even if its asker has gone.

Crashes: any exception (a bug, a failed store write) ends `run`. The registry
then builds a new actor from the store around the same mailbox, so
nothing queued is lost. The interrupted batch is handled again one command at a
time (`salvage`), unless it had already been committed (never twice); a command
that crashes on its own is answered `ActorStopped`, and the others are served.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any, Protocol

import trio

from engine.accounts import state
from engine.accounts.commands import (
    Accepted,
    AccountSnapshot,
    ChangeType,
    CloseInvoice,
    Command,
    EndCampaign,
    GetSnapshot,
    IdempotencyConflict,
    OpenCampaign,
    ReserveWave,
    SendDraft,
    SetRate,
    Settle,
    SettleInvoice,
    Submit,
    TopUp,
)
from engine.accounts.state import Billing, Entry, Ledger, LedgerError
from engine.actor import ActorStopped, Reply
from engine.clock import WallClock, iso
from engine.dispatch.message import OutMessage
from engine.dispatch.ratelimit import TokenBucket
from engine.store import Store
from engine.store import accounts as q_accounts
from engine.store import campaigns as q_campaigns
from engine.store import messages as q_messages
from engine.store.messages import NewRecipient, NewSendRow, Outcome
from engine.types import AccountId, MessageId, Raison, SendRef, SendType, Statut

log = logging.getLogger(__name__)

_BATCH_MAX = 512

Mailbox = tuple[trio.MemorySendChannel[Command], trio.MemoryReceiveChannel[Command]]


class Outlet(Protocol):
    """Where an account hands messages that are ready to go (the dispatcher)."""

    def offer(self, messages: Sequence[OutMessage]) -> None: ...

    def set_rate(self, account_id: AccountId, bucket: TokenBucket) -> None:
        """Draw this account's sends from `bucket` (owned by the account's actor)."""


class Observer(Protocol):
    """Told of every message that ended (status callbacks, metrics)."""

    def ended(self, account_id: AccountId, outcomes: Sequence[Outcome]) -> None: ...


@dataclass(slots=True)
class _Batch:
    """The effects of one mailbox batch, written in one transaction."""

    ledger: Ledger
    entries: list[Entry] = field(default_factory=list)
    sends: list[tuple[Submit, NewSendRow, Accepted]] = field(default_factory=list)
    replies: list[Callable[[], None]] = field(default_factory=list)
    writes: list[Callable[[sqlite3.Connection], None]] = field(default_factory=list)
    settles: list[Outcome] = field(default_factory=list)
    snapshots: list[Reply[AccountSnapshot]] = field(default_factory=list)
    """Answered after everything else: a snapshot shows the whole batch done."""


class AccountActor:
    """Owns one account's ledger, its sending-rate bucket (`debitMax`, which the
    dispatcher draws from) and its in-flight count."""

    def __init__(
        self,
        account_id: AccountId,
        ledger: Ledger,
        debit_max: float,
        *,
        store: Store,
        outlet: Outlet,
        clock: WallClock,
        observer: Observer | None = None,
        inbox_size: int = 1024,
        in_flight: int = 0,
        mailbox: Mailbox | None = None,
        retry: Iterable[Command] = (),
    ) -> None:
        self.account_id = account_id
        self._ledger = ledger
        self._debit_max = debit_max
        self._bucket = TokenBucket.full(debit_max, trio.current_time())
        self._store = store
        self._outlet = outlet
        self._clock = clock
        self._observer = observer
        self._in_flight = in_flight
        if mailbox is None:
            mailbox = trio.open_memory_channel[Command](inbox_size)
        self._send, self._inbox = mailbox
        self._retry: deque[Command] = deque(retry)
        self._current: list[Command] = []
        self._committed = False
        self._solo = False
        self.last_active = trio.current_time()
        self.stopped = trio.Event()

    @property
    def mailbox(self) -> Mailbox:
        """Both ends of the mailbox, handed to the actor rebuilt after a crash."""
        return self._send, self._inbox

    def salvage(self) -> list[Command]:
        """After `run` crashed: the commands to handle again, one at a time.

        Those of the interrupted batch come back unless the batch was committed
        (it must not apply twice) or was already a lone retry (the command itself
        fails): then their askers get `ActorStopped`. Retries not yet run follow.
        """
        batch, self._current = self._current, []
        again: list[Command] = []
        if self._committed or self._solo:
            for cmd in batch:
                _fail(cmd, ActorStopped(f"account {self.account_id}: command failed"))
                if isinstance(cmd, Settle) and not self._committed:
                    log.error(
                        "account %s: %d outcomes could not be recorded; they stay pending"
                        " until the next start",
                        self.account_id,
                        len(cmd.outcomes),
                    )
        else:
            again.extend(batch)
        again.extend(self._retry)
        self._retry.clear()
        return again

    def abandon(self) -> None:
        """Close the mailbox for good and answer what is left in it `ActorStopped`
        (the account could not be rebuilt)."""
        self._send.close()
        while True:
            try:
                cmd = self._inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            _fail(cmd, ActorStopped(f"account {self.account_id} is unavailable"))
        for cmd in self.salvage():
            _fail(cmd, ActorStopped(f"account {self.account_id} is unavailable"))

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    async def tell(self, command: Command) -> None:
        """Queue a command; waits while the mailbox is full. With room, queues it
        without a trip through the scheduler (the caller's next await is usually
        its reply)."""
        try:
            self._send.send_nowait(command)
        except trio.WouldBlock:
            await self._send.send(command)

    def close(self) -> None:
        self._send.close()

    def snapshot(self) -> AccountSnapshot:
        led = self._ledger
        return AccountSnapshot(
            account_id=self.account_id,
            type=led.type.value,
            solde=led.solde,
            reserve=led.reserve,
            consommation=led.consommation,
            du=led.du,
            mailbox=self._inbox.statistics().current_buffer_used,
            in_flight=self._in_flight,
            debit_max=self._debit_max,
            jetons=round(self._bucket.available(trio.current_time()), 1),
        )

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the mailbox until it is closed and drained; raises if a batch
        fails (see `salvage`). Retries handed over by a crashed actor go first,
        each alone."""
        self._outlet.set_rate(self.account_id, self._bucket)
        task_status.started()
        while self._retry:
            self._solo = True
            await self._run_batch([self._retry.popleft()])
        self._solo = False
        async for first in self._inbox:
            batch = [first]
            while len(batch) < _BATCH_MAX:
                try:
                    batch.append(self._inbox.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[Command]) -> None:
        self.last_active = trio.current_time()
        self._current = batch
        self._committed = False
        await self._handle(batch)
        self._current = []

    async def _handle(self, commands: list[Command]) -> None:
        replays, invoices = await self._prefetch(commands)
        wall = self._clock.now()
        now = iso(wall)
        batch = _Batch(self._ledger)
        for cmd in commands:
            try:
                self._decide(cmd, batch, replays, invoices, now)
            except LedgerError as exc:
                reply = getattr(cmd, "reply", None)
                if reply is not None:
                    reply.fail(exc)
        account_id = self.account_id

        def write(conn: sqlite3.Connection) -> tuple[list[tuple[SendRef, MessageId]], Any]:
            created = [q_messages.insert_send(conn, row) for _, row, _ in batch.sends]
            for extra in batch.writes:
                extra(conn)
            settled = None
            if batch.settles:
                settled = q_messages.settle_outcomes(conn, batch.ledger, batch.settles)
                batch.entries.extend(settled.entries)
                batch.ledger = settled.ledger
            q_accounts.save_ledger(conn, account_id, batch.ledger, batch.entries, now)
            for (submit, _, accepted), (ref, _) in zip(batch.sends, created, strict=True):
                if submit.idempotency is not None:
                    conn.execute(
                        "INSERT INTO idempotency (account_id, key, body_hash, response, cree_le)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            account_id,
                            submit.idempotency.key,
                            submit.idempotency.body_hash,
                            json.dumps(_accepted_json(accepted, ref)),
                            wall.timestamp(),
                        ),
                    )
            return created, settled

        if batch.sends or batch.writes or batch.settles or batch.entries:
            created, settled = await self._store.transact(write)
        else:  # only reads (snapshots) and refusals: nothing to make durable
            created, settled = [], None
        self._committed = True
        self._ledger = batch.ledger
        offered: list[OutMessage] = []
        for (submit, row, accepted), (ref, first_id) in zip(batch.sends, created, strict=True):
            final = accepted.with_ref(ref)
            submit.reply.set(final)
            offered.extend(self._ready_messages(submit.draft, row, ref, first_id))
        if settled is not None:
            self._in_flight -= len(settled.settled)
        self._in_flight += len(offered)
        for answer in batch.replies:
            answer()
        for snapshot in batch.snapshots:
            snapshot.set(self.snapshot())
        if settled is not None and settled.settled and self._observer is not None:
            self._observer.ended(account_id, settled.settled)
        if offered:
            self._outlet.offer(offered)

    def _decide(
        self,
        cmd: Command,
        batch: _Batch,
        replays: dict[str, tuple[str, Accepted]],
        invoices: dict[int, q_accounts.InvoiceRow],
        now: str,
    ) -> None:
        match cmd:
            case Submit(draft=draft, idempotency=idem, reply=reply):
                if idem is not None and idem.key in replays:
                    body_hash, earlier = replays[idem.key]
                    if body_hash != idem.body_hash:
                        reply.fail(IdempotencyConflict(idem.key))
                    else:
                        reply.set(earlier)
                    return
                row, accepted = self._admit(draft, batch, now)
                batch.sends.append((cmd, row, accepted))
                if idem is not None:
                    # a second request with the same key in this very batch
                    replays[idem.key] = (idem.body_hash, accepted)
            case Settle(outcomes=outcomes):
                batch.settles.extend(outcomes)
            case TopUp(amount=amount, reply=reply):
                batch.ledger, entries = state.top_up(batch.ledger, amount)
                batch.entries.extend(entries)
                solde = batch.ledger.solde
                batch.replies.append(partial(reply.set, solde))
            case ChangeType(new_type=new_type, reply=reply):
                batch.ledger, entries = state.change_type(batch.ledger, new_type)
                batch.entries.extend(entries)
                batch.replies.append(partial(reply.set, None))
            case CloseInvoice(reply=reply):
                self._close_invoice(batch, reply, now)
            case SettleInvoice(invoice_id=invoice_id, reply=reply):
                self._settle_invoice(batch, invoices, invoice_id, reply, now)
            case SetRate(debit_max=rate, reply=reply):
                account_id = self.account_id

                def set_rate(conn: sqlite3.Connection) -> None:
                    q_accounts.update_profile(conn, account_id, debit_max=rate)

                batch.writes.append(set_rate)
                batch.replies.append(partial(self._rate_set, rate, reply))
            case GetSnapshot(reply=reply):
                batch.snapshots.append(reply)
            case OpenCampaign():
                self._open_campaign(cmd, batch, replays, now)
            case ReserveWave():
                self._reserve_wave(cmd, batch)
            case EndCampaign(outcomes=outcomes, write=end_write, reply=reply):
                batch.settles.extend(outcomes)
                batch.writes.append(end_write)
                batch.replies.append(partial(reply.set, None))

    def _rate_set(self, rate: float, reply: Reply[None]) -> None:
        self._debit_max = rate
        self._bucket = TokenBucket.full(rate, trio.current_time())
        self._outlet.set_rate(self.account_id, self._bucket)
        reply.set(None)

    def _open_campaign(
        self,
        cmd: OpenCampaign,
        batch: _Batch,
        replays: dict[str, tuple[str, Accepted]],
        now: str,
    ) -> None:
        """A campaign's send and recipients, billed under the current type; nothing
        is reserved and nothing offered yet (its scheduler releases it by waves)."""
        idem, reply = cmd.idempotency, cmd.reply
        if idem is not None and idem.key in replays:
            body_hash, earlier = replays[idem.key]
            if body_hash != idem.body_hash:
                reply.fail(IdempotencyConflict(idem.key))
            else:
                reply.set(earlier)
            return
        if idem is not None:
            replays[idem.key] = (idem.body_hash, cmd.accepted)
        row = replace(cmd.row, billing=batch.ledger.billing, cree_le=now)
        waiting = sum(1 for r in row.recipients if r.statut is Statut.EN_ATTENTE)
        account_id = self.account_id
        holder: dict[str, SendRef] = {}
        stamp = self._clock.now().timestamp()

        def write(conn: sqlite3.Connection) -> None:
            ref, first_id = q_messages.insert_send(conn, row)
            cmd.setup(conn, ref, first_id)
            holder["ref"] = ref
            if idem is not None:
                conn.execute(
                    "INSERT INTO idempotency (account_id, key, body_hash, response, cree_le)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        account_id,
                        idem.key,
                        idem.body_hash,
                        json.dumps(_accepted_json(cmd.accepted, holder["ref"])),
                        stamp,
                    ),
                )

        def done() -> None:
            self._in_flight += waiting
            reply.set(cmd.accepted.with_ref(holder["ref"]))

        batch.writes.append(write)
        batch.replies.append(done)

    def _reserve_wave(self, cmd: ReserveWave, batch: _Batch) -> None:
        """Rule 2 of the ledger holds: a prepaid wave reserves only what the balance
        covers, the longest prefix of the wave, never more."""
        covered = len(cmd.wave)
        if cmd.billing is Billing.PREPAYE and cmd.segments > 0:
            covered = min(covered, batch.ledger.solde // cmd.segments)
            if covered:
                decided = state.reserve(batch.ledger, covered * cmd.segments, cmd.ref)
                assert decided is not None
                batch.ledger, entries = decided
                batch.entries.extend(entries)
        released = cmd.wave[:covered]
        ids = [m.message_id for m in released]
        prepaid = cmd.billing is Billing.PREPAYE
        segments = cmd.segments

        def write(conn: sqlite3.Connection) -> None:
            if prepaid and ids:
                q_campaigns.reserve_messages(conn, ids, segments)
            cmd.progress(conn, covered)

        def done() -> None:
            if released:
                self._outlet.offer(released)
            cmd.reply.set(covered)

        batch.writes.append(write)
        batch.replies.append(done)

    def _admit(self, draft: SendDraft, batch: _Batch, now: str) -> tuple[NewSendRow, Accepted]:
        segments = len(draft.encoded.parts)
        billing = batch.ledger.billing
        statut = Statut.EN_ATTENTE
        raison: Raison | None = None
        per_message = 0
        if draft.valid:
            if billing is Billing.PREPAYE:
                decided = state.reserve(batch.ledger, segments * len(draft.valid))
                if decided is None:
                    statut, raison = Statut.ECHEC, Raison.SOLDE_INSUFFISANT
                else:
                    batch.ledger, entries = decided
                    batch.entries.extend(entries)
                    per_message = segments
        else:
            statut = Statut.ECHEC
        recipients: list[NewRecipient] = [
            NewRecipient(number, statut, raison, per_message) for number in draft.valid
        ]
        if draft.invalid:
            recipients.extend(
                NewRecipient(raw, Statut.ECHEC, Raison.NUMERO_INVALIDE, 0) for raw in draft.invalid
            )
        row = NewSendRow(
            account_id=self.account_id,
            type=draft.type.value,
            emetteur=draft.emetteur,
            corps=draft.corps,
            encodage=draft.encoded.encoding.value,
            segments=segments,
            billing=billing,
            doublons=draft.doublons,
            avertissements=draft.avertissements,
            recipients=recipients,
            cree_le=now,
        )
        accepted = Accepted(
            ref=SendRef(0),
            type=draft.type,
            statut=statut,
            segments=segments,
            encodage=draft.encoded.encoding.value,
            nb_destinataires=len(recipients),
            doublons=draft.doublons,
            avertissements=draft.avertissements,
        )
        return row, accepted

    def _ready_messages(
        self, draft: SendDraft, row: NewSendRow, ref: SendRef, first_id: MessageId
    ) -> list[OutMessage]:
        priority = draft.type is SendType.UNIDES
        return [
            OutMessage(
                message_id=MessageId(first_id + i),
                account_id=self.account_id,
                ref=ref,
                destination=r.destinataire,
                sender=draft.sender,
                encoded=draft.encoded,
                priority=priority,
            )
            for i, r in enumerate(row.recipients)
            if r.statut is Statut.EN_ATTENTE
        ]

    def _close_invoice(self, batch: _Batch, reply: Any, now: str) -> None:
        batch.ledger, amount, entries = state.close_invoice(batch.ledger)
        batch.entries.extend(entries)
        account_id = self.account_id
        holder: dict[str, int] = {}

        def write(conn: sqlite3.Connection) -> None:
            row = q_accounts.get_account(conn, account_id)
            assert row is not None
            holder["id"] = q_accounts.insert_invoice(conn, account_id, row.periode_debut, now, amount)

        batch.writes.append(write)
        batch.replies.append(lambda: reply.set(holder["id"]))

    def _settle_invoice(
        self,
        batch: _Batch,
        invoices: dict[int, q_accounts.InvoiceRow],
        invoice_id: int,
        reply: Any,
        now: str,
    ) -> None:
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.account_id != self.account_id:
            raise LedgerError("FACTURE_INCONNUE", "Cette facture n'existe pas.")
        if invoice.regle_le is not None:
            raise LedgerError(
                "FACTURE_DEJA_REGLEE", f"La facture {invoice.id} a déjà été réglée le {invoice.regle_le}."
            )
        batch.ledger, entries = state.settle_invoice(batch.ledger, invoice.montant, invoice.id)
        batch.entries.extend(entries)
        invoices[invoice_id] = replace(invoice, regle_le=now)  # a second one in this batch

        def write(conn: sqlite3.Connection) -> None:
            q_accounts.mark_invoice_paid(conn, invoice_id, now)

        batch.writes.append(write)
        batch.replies.append(lambda: reply.set(None))

    async def _prefetch(
        self, commands: list[Command]
    ) -> tuple[dict[str, tuple[str, Accepted]], dict[int, q_accounts.InvoiceRow]]:
        """Read what the decisions need: earlier idempotent answers, invoices."""
        keys = [
            c.idempotency.key
            for c in commands
            if isinstance(c, Submit | OpenCampaign) and c.idempotency
        ]
        invoice_ids = [c.invoice_id for c in commands if isinstance(c, SettleInvoice)]
        if not keys and not invoice_ids:
            return {}, {}
        account_id = self.account_id

        def read(
            conn: sqlite3.Connection,
        ) -> tuple[dict[str, tuple[str, Accepted]], dict[int, q_accounts.InvoiceRow]]:
            found = {}
            for key in keys:
                row = conn.execute(
                    "SELECT body_hash, response FROM idempotency WHERE account_id = ? AND key = ?",
                    (account_id, key),
                ).fetchone()
                if row is not None:
                    found[key] = (row[0], _accepted_from_json(json.loads(row[1])))
            invoices = {}
            for invoice_id in invoice_ids:
                invoice = q_accounts.get_invoice(conn, invoice_id)
                if invoice is not None:
                    invoices[invoice_id] = invoice
            return found, invoices

        return await self._store.read(read)



def _fail(cmd: Command, error: BaseException) -> None:
    reply = getattr(cmd, "reply", None)
    if reply is not None:
        reply.fail(error)


def _accepted_json(accepted: Accepted, ref: SendRef) -> dict[str, Any]:
    data = asdict(accepted.with_ref(ref))
    data["avertissements"] = list(accepted.avertissements)
    return data


def _accepted_from_json(data: dict[str, Any]) -> Accepted:
    return Accepted(
        ref=SendRef(data["ref"]),
        type=SendType(data["type"]),
        statut=Statut(data["statut"]),
        segments=data["segments"],
        encodage=data["encodage"],
        nb_destinataires=data["nb_destinataires"],
        doublons=data["doublons"],
        avertissements=tuple(data["avertissements"]),
        replayed=True,
    )
