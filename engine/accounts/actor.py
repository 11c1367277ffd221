"""The account actor: sole owner of one account's ledger.

Every change to an account's money goes through its actor, one command at a
time, so no interleaving of requests can overdraw a prepaid balance. The actor
drains whatever is waiting in its mailbox and handles it as one batch: the pure
ledger decides each command in order, the batch is written in one store
transaction, and only then are the askers answered (a 202 is never given for an
uncommitted reservation). Accepted messages are then offered to the dispatcher.
Each command is decided on the batch (`engine.accounts.batch`, with the pure
ledger of `engine.accounts.state`); the store gets the batch as plain data
(`Store.ledger.apply`) with the ledger's rule for what outcomes cost.

The mailbox is bounded; a full mailbox makes the asker wait. A command taken
from the mailbox is always carried out, even if its asker has gone.

Crashes: any exception (a bug, a failed store write) ends `run`. The registry
then builds a new actor from the store around the same mailbox, so
nothing queued is lost. The interrupted batch is handled again one command at a
time (`salvage`), unless it had already been committed (never twice); a command
that crashes on its own is answered `ActorStopped`, and the others are served.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol, assert_never

import trio

from engine.accounts import state
from engine.accounts.batch import (
    Batch,
    Replays,
    admit,
    cover_wave,
    made,
    pay_invoice,
    ready_messages,
    replayed,
)
from engine.accounts.commands import (
    AccountSnapshot,
    CancelSend,
    ChangeType,
    CloseInvoice,
    CloseInvoiceFor,
    Command,
    EndCampaign,
    GetSnapshot,
    OpenCampaign,
    ReserveWave,
    SetControls,
    SetRate,
    Settle,
    SettleInvoice,
    Submit,
    TopUp,
)
from engine.accounts.controls import AccountControls, refusal
from engine.accounts.state import LedgerError
from engine.actor import ActorStopped, Reply
from engine.clock import WallClock
from engine.dispatch.message import OutMessage, WaitingRun
from engine.model import (
    Accepted,
    AccountId,
    AccountType,
    InvoiceRow,
    Ledger,
    MessageStatus,
    Outcome,
    SendRef,
    TokenBucket,
    iso,
)
from engine.store import Store
from engine.store.writes import (
    AccountBatch,
    BatchResult,
    ControlsWrite,
    InvoicePaid,
    NewInvoice,
    OpenCampaignWrite,
    SendWrite,
    SetDebitMax,
)
from engine.text import parse_sender

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
        controls: AccountControls | None = None,
    ) -> None:
        self.account_id = account_id
        self._controls = controls if controls is not None else AccountControls()
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
        batch = Batch(self._ledger)
        for cmd in commands:
            try:
                self._decide(cmd, batch, replays, invoices, now)
            except LedgerError as exc:
                reply = getattr(cmd, "reply", None)
                if reply is not None:
                    reply.fail(exc)
        if batch.durable:
            done = await self._store.ledger.apply(
                AccountBatch(
                    account_id=self.account_id,
                    now=now,
                    stamp=wall.timestamp(),
                    ledger=batch.ledger,
                    entries=batch.entries,
                    sends=[send for _, send in batch.sends],
                    writes=batch.writes,
                    outcomes=batch.settles,
                ),
                state.settle,
            )
        else:  # only reads (snapshots) and refusals: nothing to make durable
            done = BatchResult([], [], batch.ledger, ())
        self._committed = True
        self._ledger = done.ledger
        offered: list[WaitingRun] = []
        held = 0
        for (submit, send), (ref, first_id) in zip(batch.sends, done.created, strict=True):
            submit.reply.set(send.accepted.with_ref(ref))
            ready = ready_messages(self.account_id, submit.draft, send.row, ref, first_id)
            if send.row.options.date_envoi is not None:
                # a deferred send: released at its time (engine.dispatch.deferred), even
                # one whose time came while it was accepted, so that one owner decides
                held += len(ready)
            else:
                offered.append(ready)
        self._in_flight += sum(map(len, offered)) + held - len(done.settled)
        for answer in batch.replies:
            answer(done)
        for snapshot in batch.snapshots:
            snapshot.set(self.snapshot())
        if done.settled and self._observer is not None:
            self._observer.ended(self.account_id, done.settled)
        for run in offered:
            if run:
                self._outlet.offer(run)

    def _decide(
        self,
        cmd: Command,
        batch: Batch,
        replays: Replays,
        invoices: dict[int, InvoiceRow],
        now: str,
    ) -> None:
        match cmd:
            case Submit(draft=draft, idempotency=idem, reply=reply):
                if replayed(idem, replays, reply, batch):
                    return
                refused = refusal(self._controls, draft.sender)
                if refused is not None:
                    reply.fail(refused)
                    return
                send = admit(batch, self.account_id, draft, now, idem)
                index = len(batch.sends)
                batch.sends.append((cmd, send))
                if idem is not None:  # a repeat in this very batch gets the ref made here
                    batch.answers[idem.key] = (
                        idem.body_hash,
                        lambda done: send.accepted.with_ref(done.created[index][0]),
                    )
            case Settle(outcomes=outcomes):
                batch.settles.extend(outcomes)
            case TopUp(amount=amount, reply=topped):
                batch.ledger, entries = state.top_up(batch.ledger, amount)
                batch.entries.extend(entries)
                solde = batch.ledger.solde
                batch.replies.append(lambda _: topped.set(solde))
            case ChangeType(new_type=new_type, reply=changed):
                batch.ledger, entries = state.change_type(batch.ledger, new_type)
                batch.entries.extend(entries)
                batch.replies.append(lambda _: changed.set(None))
            case CloseInvoice(reply=closed):
                batch.ledger, amount, entries = state.close_invoice(batch.ledger)
                batch.entries.extend(entries)
                batch.write(NewInvoice(amount), lambda invoice_id: closed.set(made(invoice_id)))
            case CloseInvoiceFor(periode=periode, reply=closed_for):
                if batch.ledger.type is not AccountType.POSTPAYE:
                    closed_for.set(None)
                    return
                batch.ledger, amount, entries = state.close_invoice(batch.ledger)
                batch.entries.extend(entries)
                batch.write(NewInvoice(amount, periode), closed_for.set)
            case SetControls(actif=actif, emetteurs=emetteurs, journal=journal, reply=set_done):
                batch.write(
                    ControlsWrite(actif, emetteurs, journal),
                    lambda _: self._controls_set(actif, emetteurs, set_done),
                )
            case SettleInvoice(invoice_id=invoice_id, reply=paid):
                pay_invoice(batch, invoices, self.account_id, invoice_id, now)
                batch.write(InvoicePaid(invoice_id), lambda _: paid.set(None))
            case SetRate(debit_max=rate, reply=rate_set):
                batch.write(SetDebitMax(rate), lambda _: self._rate_set(rate, rate_set))
            case GetSnapshot(reply=asked):
                batch.snapshots.append(asked)
            case OpenCampaign():
                self._open_campaign(cmd, batch, replays, now)
            case ReserveWave():
                self._reserve_wave(cmd, batch)
            case EndCampaign(outcomes=outcomes, end=end, reply=ended):
                batch.settles.extend(outcomes)
                batch.write(end, lambda _: ended.set(None))
            case CancelSend(outcomes=outcomes, reply=cancelled):
                batch.settles.extend(outcomes)
                mine = {o.message_id for o in outcomes}
                batch.replies.append(
                    lambda done: cancelled.set(sum(o.message_id in mine for o in done.settled))
                )
            case _:
                assert_never(cmd)

    def _controls_set(
        self, actif: bool | None, emetteurs: tuple[str, ...] | None, reply: Reply[None]
    ) -> None:
        c = self._controls
        self._controls = replace(
            c,
            actif=c.actif if actif is None else actif,
            emetteurs=c.emetteurs if emetteurs is None else emetteurs,
        )
        reply.set(None)

    def _rate_set(self, rate: float, reply: Reply[None]) -> None:
        self._debit_max = rate
        self._bucket = TokenBucket.full(rate, trio.current_time())
        self._outlet.set_rate(self.account_id, self._bucket)
        reply.set(None)

    def _open_campaign(
        self,
        cmd: OpenCampaign,
        batch: Batch,
        replays: Replays,
        now: str,
    ) -> None:
        """A campaign's send and recipients, billed under the current type; nothing
        is reserved and nothing offered yet (its scheduler releases it by waves)."""
        idem, reply = cmd.idempotency, cmd.reply
        if replayed(idem, replays, reply, batch):
            return
        refused = refusal(self._controls, parse_sender(cmd.row.emetteur))
        if refused is not None:
            reply.fail(refused)
            return
        if idem is not None:  # a repeat in this very batch gets the ref made here
            index = len(batch.writes)
            batch.answers[idem.key] = (
                idem.body_hash,
                lambda done: cmd.accepted.with_ref(SendRef(made(done.results[index]))),
            )
        row = replace(cmd.row, billing=batch.ledger.billing, cree_le=now)
        waiting = sum(1 for r in row.recipients if r.statut is MessageStatus.EN_ATTENTE)

        def opened(ref: int | None) -> None:
            self._in_flight += waiting
            reply.set(cmd.accepted.with_ref(SendRef(made(ref))))

        send = SendWrite(row, cmd.accepted, idem)
        batch.write(OpenCampaignWrite(send, cmd.campaign), opened)

    def _reserve_wave(self, cmd: ReserveWave, batch: Batch) -> None:
        write = cover_wave(batch, cmd, active=self._controls.actif)
        released = cmd.wave[: len(write.message_ids)]

        def done(_: int | None) -> None:
            if released:
                self._outlet.offer(released)
            cmd.reply.set(len(released))

        batch.write(write, done)

    async def _prefetch(
        self, commands: list[Command]
    ) -> tuple[dict[str, tuple[str, Accepted]], dict[int, InvoiceRow]]:
        """Read what the decisions need: earlier idempotent answers, invoices."""
        keys = [
            c.idempotency.key
            for c in commands
            if isinstance(c, Submit | OpenCampaign) and c.idempotency
        ]
        invoice_ids = [c.invoice_id for c in commands if isinstance(c, SettleInvoice)]
        if not keys and not invoice_ids:
            return {}, {}
        return await self._store.accounts.prefetch(self.account_id, keys, invoice_ids)


def _fail(cmd: Command, error: BaseException) -> None:
    reply = getattr(cmd, "reply", None)
    if reply is not None:
        reply.fail(error)
