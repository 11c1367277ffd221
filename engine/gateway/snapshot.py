"""What operators see of a running engine: health and the actors snapshot.

`OperatorSnapshot` is the typed record behind GET /api/V1/admin/acteurs, its
event stream and the console: `dataclasses.asdict(snapshot)` is the answer, and
the OpenAPI document's schema of that answer is written from this record's
type hints (`api/shapes.py`), so the two cannot drift. Field names are the
wire's words (see docs/glossary.md); the statistics records inside are the ones
each owner reports from its `statistics()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.accounts.commands import AccountSnapshot
from engine.callbacks.notifier import CallbackStatistics
from engine.campaigns.scheduler import SchedulerStatistics
from engine.dispatch.states import ConnectionStatistics, DispatcherStatistics, SenderStatistics
from engine.gateway.runtime import Runtime
from engine.model import BindState, iso
from engine.process import CollectorStatistics, collector_statistics
from engine.store import StoreStatistics
from engine.supervise import TaskStatistics


@dataclass(frozen=True, slots=True)
class RegistryCounts:
    """The account registry: live actors, and actors rebuilt after a crash."""

    actifs: int
    redemarrages: int


@dataclass(frozen=True, slots=True)
class ReceiptCounts:
    """Delivery receipts matched to a message part, those matching none (their
    patience ran out, or dropped), those still tried again, and those dropped
    because too many were waiting."""

    rapproches: int
    non_rapproches: int
    en_attente: int
    abandonnes: int


@dataclass(frozen=True, slots=True)
class ProcessStatistics:
    """The process itself: Python's cycle collector (`engine/process.py`)."""

    collecteur: CollectorStatistics


@dataclass(frozen=True, slots=True)
class OperatorSnapshot:
    """Every actor's statistics at one instant (GET /api/V1/admin/acteurs)."""

    comptes: tuple[AccountSnapshot, ...]
    registre: RegistryCounts
    repartiteur: DispatcherStatistics
    connexions: tuple[ConnectionStatistics, ...]
    """Each SMSC connection: binds, cap, throughput, errors, failover."""
    liaisons: tuple[SenderStatistics, ...]
    stockage: StoreStatistics
    accuses: ReceiptCounts
    rappels: CallbackStatistics
    campagnes: SchedulerStatistics
    processus: ProcessStatistics
    taches: tuple[TaskStatistics, ...]
    """Every supervised long-lived task and how often it was restarted."""


def operator_snapshot(runtime: Runtime) -> OperatorSnapshot:
    """Read every owner's statistics; synchronous, never blocks."""
    return OperatorSnapshot(
        comptes=tuple(runtime.registry.snapshots()),
        registre=RegistryCounts(runtime.registry.live, runtime.registry.restarts),
        repartiteur=runtime.dispatcher.statistics(),
        connexions=runtime.dispatcher.connection_statistics(),
        liaisons=tuple(s.statistics() for s in runtime.senders),
        stockage=runtime.store.statistics(),
        accuses=ReceiptCounts(
            runtime.router.receipts_matched,
            runtime.router.receipts_unmatched,
            runtime.router.receipts_waiting,
            runtime.router.receipts_dropped,
        ),
        rappels=runtime.callbacks.statistics(),
        campagnes=runtime.campaigns.statistics(),
        processus=ProcessStatistics(collector_statistics()),
        taches=runtime.supervisor.statistics(),
    )


def health(runtime: Runtime) -> dict[str, Any]:
    """GET /api/V1/sante: OK when a bind is bound and the store takes writes."""
    binds = [s.statistics() for s in runtime.senders]
    up = sum(1 for b in binds if b.state is BindState.BOUND)
    return {
        "statut": "OK" if up and runtime.store.writable else "DEGRADE",
        "smsc": {"liaisons": len(binds), "actives": up},
        "stockage": {"ecriture": runtime.store.writable},
        "demarreLe": iso(runtime.started_at),
        "noeud": runtime.cluster.node,
    }
