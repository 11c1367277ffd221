"""What a submit_sm_resp status means for its part (pure: no trio, no socket).

Rules, in order:
1. ESME_ROK: the part is accepted; once every part of its message is, the message
   is ENVOYE with the SMSC's ids (`Decision.SENT`).
2. ESME_RTHROTTLED: the bind slows down (`engine.dispatch.throttle.AdaptiveRate`)
   and the part is sent again before anything the bind has not sent yet, in message
   order: a throttled message keeps its place among its account's messages
   (`Decision.THROTTLED`).
3. A transient status (ESME_RSYSERR, ESME_RMSGQFUL, ...) or a response timeout: the
   part is sent again after an exponential backoff, up to `max_retries` times, then
   the message is ECHEC / ERREUR_RESEAU (`Decision.RETRY`, `RetryPolicy`). A part
   whose response timed out may have reached the SMSC: its message is flagged as a
   possible duplicate.
4. Any other status: the message is ECHEC / REJET_SMSC with the status as
   `codeSmsc` (`Decision.REJECTED`).

A generic_nack answering a submit_sm without a status counts as ESME_RSYSERR
(`submit_status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from engine.smpp.constants import Status, is_transient
from engine.smpp.pdu import GenericNack, Response


class Decision(Enum):
    """What becomes of a part after its submit_sm_resp."""

    SENT = "sent"
    """Accepted: the part has its SMSC id (rule 1)."""
    THROTTLED = "throttled"
    """Refused for now: slow down and send it again first (rule 2)."""
    RETRY = "retry"
    """Refused for now: send it again after a backoff, or give up (rule 3)."""
    REJECTED = "rejected"
    """Refused for good: ECHEC / REJET_SMSC, the status as `codeSmsc` (rule 4)."""


_ROK, _RTHROTTLED = int(Status.ESME_ROK), int(Status.ESME_RTHROTTLED)
_SENT = Decision.SENT


def classify(status: int) -> Decision:
    """The decision for a submit_sm_resp `status` (module docstring, rules 1-4)."""
    if status == _ROK:
        return _SENT
    if status == _RTHROTTLED:
        return Decision.THROTTLED
    if is_transient(status):
        return Decision.RETRY
    return Decision.REJECTED


def submit_status(pdu: Response) -> int:
    """The status a submit_sm's answer gives it: a generic_nack without one is
    ESME_RSYSERR (transient), anything else keeps its own."""
    status = pdu.status
    if isinstance(pdu, GenericNack) and not status:
        return Status.ESME_RSYSERR
    return status


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Rule 3's backoff: `min_s`, doubled at each retry of the same message, at most
    `max_s`; a message retried more than `max_retries` times fails."""

    max_retries: int
    min_s: float
    max_s: float

    def delay_s(self, retries: int) -> float | None:
        """The wait before a message's `retries`-th retry (counted from 1), or None
        when it has had its `max_retries`: the message is ECHEC / ERREUR_RESEAU."""
        if retries > self.max_retries:
            return None
        return min(self.min_s * 2.0 ** (retries - 1), self.max_s)


def status_name(status: int) -> str:
    """An SMPP status for a log line: its name, or its hex code if unknown."""
    try:
        return Status(status).name
    except ValueError:
        return f"0x{status:08X}"
