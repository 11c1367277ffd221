"""What travels from an account to the SMSC: one recipient of one send, and the
submit_sm of each of its parts (pure: no trio, no socket).

The submit_sm of a part is the same for every recipient of a send but for the
destination, the sequence number and the concatenation reference: `SubmitTemplates`
keeps one `SubmitTemplate` per part of the sends a bind is writing, and the bind
patches it per recipient."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import overload

from engine.model import AccountId, MessageId, SendRef
from engine.smpp.constants import NPI_ISDN, TON_INTERNATIONAL
from engine.smpp.pdu import SubmitSm
from engine.smpp.template import SubmitTemplate
from engine.text import EncodedMessage, ReferenceCounter, SenderAddress


@dataclass(frozen=True, slots=True)
class SendCommon:
    """What every recipient of one send has in common, held once for all of them."""

    account_id: AccountId
    ref: SendRef
    sender: SenderAddress
    encoded: EncodedMessage
    priority: bool = False
    expires_at: float | None = None
    """When, not yet accepted by the SMSC, a message ends EXPIRE (POSIX seconds; its
    send's `validite`); also sent as the submit_sm's validity_period."""


class _OfSend:
    """What a message and a run of waiting recipients read from their send's shared
    record (`common`) the same way."""

    __slots__ = ()
    common: SendCommon

    @property
    def account_id(self) -> AccountId:
        return self.common.account_id

    @property
    def ref(self) -> SendRef:
        return self.common.ref

    @property
    def expires_at(self) -> float | None:
        return self.common.expires_at


_new = object.__new__
_last_common: SendCommon | None = None
"""The record of the last message made: the next one of the same send shares it (a
send's messages are made one after the other)."""


def _common(
    account_id: AccountId,
    ref: SendRef,
    sender: SenderAddress,
    encoded: EncodedMessage,
    priority: bool,
    expires_at: float | None,
) -> SendCommon:
    global _last_common
    last = _last_common
    if (
        last is not None
        and last.ref == ref
        and last.encoded is encoded
        and last.sender is sender
        and last.account_id == account_id
        and last.priority == priority
        and last.expires_at == expires_at
    ):
        return last
    _last_common = last = SendCommon(account_id, ref, sender, encoded, priority, expires_at)
    return last


@dataclass(slots=True, init=False)
class OutMessage(_OfSend):
    """One recipient's message, ready to be submitted.

    What the recipients of a send have in common (`account_id`, `ref`, `sender`,
    `encoded`, `priority`, `expires_at`) is one `SendCommon` record they share
    (`common`): a message waiting for the SMSC holds only its own id, destination and
    progress. The sender stamps each recipient's own concatenation reference into
    its parts. `attempts` counts submits that may have reached the SMSC (persisted
    before each one), so a message resent after a crash is known to be a possible
    duplicate.
    """

    message_id: MessageId
    common: SendCommon
    destination: str
    attempts: int
    possible_duplicate: bool
    retries: int
    part_ids: list[str | None] | None
    """The SMSC's message id of each part already accepted (None: still to send)."""
    done: bool
    udh_reference: int | None
    """The concatenation reference of this recipient's parts, drawn at first submit."""

    def __init__(
        self,
        message_id: MessageId,
        account_id: AccountId,
        ref: SendRef,
        destination: str,
        sender: SenderAddress,
        encoded: EncodedMessage,
        priority: bool = False,
        attempts: int = 0,
        possible_duplicate: bool = False,
        retries: int = 0,
        part_ids: list[str | None] | None = None,
        done: bool = False,
        udh_reference: int | None = None,
        expires_at: float | None = None,
    ) -> None:
        self.message_id = message_id
        self.common = _common(account_id, ref, sender, encoded, priority, expires_at)
        self.destination = destination
        self.attempts = attempts
        self.possible_duplicate = possible_duplicate
        self.retries = retries
        self.part_ids = part_ids
        self.done = done
        self.udh_reference = udh_reference

    @classmethod
    def of_send(cls, common: SendCommon, message_id: MessageId, destination: str) -> OutMessage:
        """A recipient of the send `common`, not attempted yet: what the constructor
        makes, at a quarter of its cost, for the many recipients of one send."""
        message = _new(cls)
        message.message_id = message_id
        message.common = common
        message.destination = destination
        message.attempts = message.retries = 0
        message.possible_duplicate = message.done = False
        message.part_ids = message.udh_reference = None
        return message

    @property
    def sender(self) -> SenderAddress:
        return self.common.sender

    @property
    def encoded(self) -> EncodedMessage:
        return self.common.encoded

    @property
    def priority(self) -> bool:
        return self.common.priority

    @property
    def expires_at(self) -> float | None:
        return self.common.expires_at

    @expires_at.setter
    def expires_at(self, value: float | None) -> None:
        """This message alone gets another validity (its own record)."""
        self.common = replace(self.common, expires_at=value)

    def expired(self, wall_now: float) -> bool:
        """Past its validity with no part accepted yet."""
        expires_at = self.common.expires_at
        if expires_at is None or wall_now < expires_at:
            return False
        return self.part_ids is None or all(p is None for p in self.part_ids)

    def reference(self, refs: ReferenceCounter) -> int:
        """The concatenation reference of this recipient's parts, drawn from `refs`
        at its first submit (0 for a message of one part, which has none)."""
        if len(self.common.encoded.parts) == 1:
            return 0
        if self.udh_reference is None:
            self.udh_reference = refs.next(self.destination)
        return self.udh_reference

    def submit_sm(self, part: int, registered_delivery: int, refs: ReferenceCounter) -> SubmitSm:
        """The submit_sm of part `part`. A concatenated message draws its
        recipient's reference from `refs` at its first submit and stamps it into
        each part's header (the parts of `encoded` are shared, so into a copy)."""
        encoded = self.encoded
        payload = encoded.parts[part]
        if len(encoded.parts) > 1:
            reference = self.reference(refs)
            at = _UDH_REFERENCE_AT
            payload = payload[:at] + bytes((reference,)) + payload[at + 1 :]
        sender = self.sender
        return SubmitSm(
            source_addr_ton=sender.ton,
            source_addr_npi=sender.npi,
            source_addr=sender.address,
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_ISDN,
            destination_addr=self.destination.lstrip("+"),
            esm_class=encoded.esm_class,
            registered_delivery=registered_delivery,
            data_coding=encoded.data_coding,
            short_message=payload,
            validity_period=validity_period(self.expires_at),
        )


class WaitingRun(_OfSend, Sequence[OutMessage]):
    """The recipients of one send waiting for the SMSC, kept compactly until each
    is taken: their ids (a range when consecutive), their numbers in one text, and
    the send's shared record. A recipient's `OutMessage` is made when it is taken
    from the front (`take`) or read (`run[i]`, iteration), so a bulk send waiting
    in the dispatcher costs a few octets a recipient instead of an object, an id and
    a number each (~200 octets).

    A sequence of the recipients not taken yet, in order; `take` removes the first.
    The dispatcher holds a run as one item of its account's queue."""

    __slots__ = ("common", "_ids", "_numbers", "_ends", "_taken")

    def __init__(self, common: SendCommon, ids: Sequence[int], numbers: Sequence[str]) -> None:
        if len(ids) != len(numbers):
            raise ValueError("a run needs one id per number")
        self.common = common
        self._ids = ids
        self._numbers = "".join(numbers)
        ends = array("I")
        end = 0
        for number in numbers:
            end += len(number)
            ends.append(end)
        self._ends = ends
        self._taken = 0

    def __len__(self) -> int:
        return len(self._ids) - self._taken

    def _make(self, i: int) -> OutMessage:
        ends = self._ends
        start = ends[i - 1] if i else 0
        return OutMessage.of_send(
            self.common, MessageId(self._ids[i]), self._numbers[start : ends[i]]
        )

    @overload
    def __getitem__(self, index: int) -> OutMessage: ...
    @overload
    def __getitem__(self, index: slice) -> list[OutMessage]: ...
    def __getitem__(self, index: int | slice) -> OutMessage | list[OutMessage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self._make(self._taken + index)

    def __iter__(self) -> Iterator[OutMessage]:
        for i in range(self._taken, len(self._ids)):
            yield self._make(i)

    def take(self) -> OutMessage:
        """The first recipient not taken yet, taken (IndexError when none is left)."""
        i = self._taken
        if i >= len(self._ids):
            raise IndexError("no recipient left in the run")
        self._taken = i + 1
        return self._make(i)

    def expired(self, wall_now: float) -> bool:
        """Past its send's validity (none of its recipients has been sent yet)."""
        expires_at = self.common.expires_at
        return expires_at is not None and wall_now >= expires_at


def validity_period(expires_at: float | None) -> str:
    """SMPP 3.4's absolute time format (7.1.1), in UTC: YYMMDDhhmmss, tenths, quarter
    hours from UTC and "+"; empty when the message has no validity."""
    if expires_at is None:
        return ""
    when = datetime.fromtimestamp(expires_at, UTC)
    return when.strftime("%y%m%d%H%M%S") + "000+"


_UDH_REFERENCE_AT = 3
"""Offset of the concatenation reference in a part's user data header (05 00 03 ref
total seq, as `engine.text` cuts them)."""


class SubmitTemplates:
    """The submit_sm templates of the parts one bind writes, shared by the recipients
    of a send (by their `SendCommon`).
    Bounded: past `max_templates`, the cache starts again empty."""

    __slots__ = ("_max", "_templates")

    def __init__(self, max_templates: int = 1024) -> None:
        self._max = max_templates
        self._templates: dict[tuple[int, int, int], tuple[SendCommon, SubmitTemplate]] = {}

    def get(self, message: OutMessage, part: int, registered_delivery: int) -> SubmitTemplate:
        """The template of part `part` of `message`'s send, made at its first use
        (`SubmitTemplate` checks every field there: a send the wire cannot carry
        raises `SmppEncodeError` as `codec.encode` does)."""
        common = message.common
        key = (id(common), part, registered_delivery)
        found = self._templates.get(key)
        if found is not None and found[0] is common:
            return found[1]
        encoded, sender = common.encoded, common.sender
        pdu = SubmitSm(
            source_addr_ton=sender.ton,
            source_addr_npi=sender.npi,
            source_addr=sender.address,
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_ISDN,
            esm_class=encoded.esm_class,
            registered_delivery=registered_delivery,
            data_coding=encoded.data_coding,
            short_message=encoded.parts[part],
            validity_period=validity_period(common.expires_at),
        )
        template = SubmitTemplate(
            pdu, reference_at=_UDH_REFERENCE_AT if len(encoded.parts) > 1 else None
        )
        if len(self._templates) >= self._max:
            self._templates.clear()
        # the entry holds the record: its id cannot be reused while the entry lives
        self._templates[key] = (common, template)
        return template
