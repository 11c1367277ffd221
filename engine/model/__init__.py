"""The domain model: the types every layer shares, owned by no actor.

Imports nothing of the engine's (standard library only), so the API, the actors
and every store backend can speak it without importing one another. By subject:

- `vocabulary`: identifiers and the wire vocabulary (statuses, reasons, types, refs);
- `ledger`: how a message is billed, an account's balances, journal entries;
- `sends`: a send and its recipients as accepted, the answer it gets, how a message
  ended, what outcomes do to a ledger, a part's receipt;
- `views`: the records the store reads back and the API shows (sends, messages,
  accounts, keys, journal entries, invoices);
- `campaigns`: a scheduled campaign's states, calendar, stored rows and plan;
- `cluster`: the nodes of a cluster and the shards accounts fall into;
- `dispatch`: a bind's state and mode as the operator sees them;
- `inbound`: inbound messages (MO) and the numbers accounts receive them on;
- `time`, `keys`, `bucket`: pure helpers the API shares with the engine (how a
  timestamp is written, an API key's form and digest, the token bucket).

Every name is importable from `engine.model` itself.
"""

from __future__ import annotations

from engine.model import keys
from engine.model.bucket import TokenBucket
from engine.model.campaigns import (
    LIVE,
    PLAN_LIMIT,
    CampaignPlan,
    CampaignRequest,
    CampaignRow,
    CampaignState,
    PlannedSlot,
    WaveRow,
)
from engine.model.cluster import ClusterView, NodeView, shard_of
from engine.model.dispatch import BindMode, BindState
from engine.model.inbound import (
    InboundMessage,
    InboundStored,
    InboundView,
    inbound_key,
    is_stop,
)
from engine.model.ledger import Billing, Entry, EntryKind, Ledger
from engine.model.sends import (
    NO_OPTIONS,
    Accepted,
    Idempotency,
    NewRecipient,
    NewSendRow,
    Outcome,
    PartReceipt,
    PendingCharge,
    SendOptions,
    Settlement,
    WaitingMessage,
)
from engine.model.time import iso
from engine.model.views import (
    AccountRow,
    InvoiceRow,
    JournalRow,
    KeyRow,
    KeyView,
    MessageView,
    OptOutRow,
    PendingCallback,
    SendView,
)
from engine.model.vocabulary import (
    AccountId,
    AccountType,
    Delivery,
    MessageId,
    MessageStatus,
    Priority,
    Reason,
    SendRef,
    SendType,
    format_ref,
    parse_ref,
)

__all__ = [
    "ClusterView",
    "NodeView",
    "shard_of",
    "InboundMessage",
    "InboundStored",
    "InboundView",
    "inbound_key",
    "is_stop",
    "LIVE",
    "PLAN_LIMIT",
    "Accepted",
    "AccountId",
    "AccountRow",
    "AccountType",
    "Billing",
    "BindMode",
    "BindState",
    "CampaignPlan",
    "CampaignRequest",
    "CampaignRow",
    "Entry",
    "EntryKind",
    "CampaignState",
    "Idempotency",
    "InvoiceRow",
    "JournalRow",
    "KeyRow",
    "KeyView",
    "OptOutRow",
    "Ledger",
    "Delivery",
    "MessageId",
    "MessageView",
    "NewRecipient",
    "NewSendRow",
    "NO_OPTIONS",
    "SendOptions",
    "Outcome",
    "PartReceipt",
    "PendingCharge",
    "PlannedSlot",
    "Priority",
    "Reason",
    "PendingCallback",
    "SendRef",
    "SendType",
    "SendView",
    "Settlement",
    "MessageStatus",
    "TokenBucket",
    "WaitingMessage",
    "WaveRow",
    "format_ref",
    "iso",
    "keys",
    "parse_ref",
]
