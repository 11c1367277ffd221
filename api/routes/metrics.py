"""GET /metrics: Prometheus text format (contract section 6).

Request counters are kept by the application (one `CollectorRegistry` per app,
so two apps in one process never share figures); engine figures are read from
the actors' `statistics()` at scrape time, never stored twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from quart import Blueprint, Quart, Response, current_app, g, request

from api.openapi import Answer, operation
from engine.model import Accepted, BindState, ClusterView

bp = Blueprint("metrics", __name__)


class _EngineCollector(Collector):
    """Reads the gateway's actors at each scrape."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway

    def collect(self) -> Iterator[Any]:
        gw = self._gateway
        ended = CounterMetricFamily(
            "smsgw_messages_ended", "Messages arrivés à un statut final, par statut.",
            labels=["statut"],
        )
        for statut, n in sorted(gw.callbacks.ended_by_statut.items()):
            ended.add_metric([statut], n)
        yield ended
        dispatch = gw.dispatcher.statistics()
        yield GaugeMetricFamily(
            "smsgw_messages_waiting", "Messages acceptés, pas encore remis à une liaison SMPP.",
            value=dispatch.backlog,
        )
        yield CounterMetricFamily(
            "smsgw_messages_dispatched", "Messages remis aux liaisons SMPP.",
            value=dispatch.dispatched,
        )
        pdus = CounterMetricFamily(
            "smsgw_smpp_pdus", "PDU SMPP par liaison et par sorte.", labels=["liaison", "pdu"]
        )
        binds = GaugeMetricFamily("smsgw_smpp_bind_up", "1 si la liaison est établie.",
                                  labels=["liaison"])
        window = GaugeMetricFamily(
            "smsgw_smpp_window_used", "submit_sm sans réponse, par liaison.", labels=["liaison"]
        )
        for sender in gw.senders:
            s = sender.statistics()
            label = str(s.index)
            pdus.add_metric([label, "submit_sm"], s.submitted)
            pdus.add_metric([label, "submit_sm_resp_ok"], s.accepted)
            pdus.add_metric([label, "deliver_sm"], s.receipts)
            pdus.add_metric([label, "throttled"], s.throttled)
            pdus.add_metric([label, "retry"], s.retries)
            binds.add_metric([label], 1 if s.state is BindState.BOUND else 0)
            window.add_metric([label], s.window_used)
        yield pdus
        yield binds
        yield window
        store = gw.store.statistics()
        yield GaugeMetricFamily("smsgw_store_queue_depth", "Transactions en attente d'écriture.",
                                value=store.queue_depth)
        yield GaugeMetricFamily(
            "smsgw_store_last_commit_seconds", "Durée du dernier commit groupé.",
            value=store.last_commit_ms / 1000,
        )
        yield CounterMetricFamily("smsgw_store_commits", "Commits groupés.", value=store.commits)
        yield CounterMetricFamily(
            "smsgw_store_replayed_groups",
            "Groupes rejoués transaction par transaction après l'échec de l'une d'elles.",
            value=store.replayed_groups,
        )
        yield CounterMetricFamily("smsgw_store_transactions", "Transactions écrites.",
                                  value=store.transactions)
        mailboxes = sum(snap.mailbox for snap in gw.registry.snapshots())
        yield GaugeMetricFamily("smsgw_accounts_live", "Acteurs de compte en vie.",
                                value=gw.registry.live)
        yield GaugeMetricFamily(
            "smsgw_accounts_mailbox_depth", "Commandes en attente dans les boîtes des comptes.",
            value=mailboxes,
        )
        cb = gw.callbacks.statistics()
        yield GaugeMetricFamily("smsgw_callbacks_queue_depth",
                                "Événements de rappel dus lus au dernier tour.",
                                value=cb.queue_depth)
        yield GaugeMetricFamily(
            "smsgw_callbacks_waiting_retry", "Événements de rappel en attente d'un nouvel essai.",
            value=cb.waiting_retry,
        )
        events = CounterMetricFamily("smsgw_callback_events", "Événements de rappel, par issue.",
                                     labels=["issue"])
        events.add_metric(["livre"], cb.events_delivered)
        events.add_metric(["abandonne"], cb.events_abandoned)
        events.add_metric(["url_interdite"], cb.events_dropped)
        yield events
        yield CounterMetricFamily("smsgw_callback_attempts_failed",
                                  "Appels de rappel en échec (réessayés ou abandonnés).",
                                  value=cb.attempts_failed)
        failures = CounterMetricFamily(
            "smsgw_callback_account_failures",
            "Appels de rappel en échec et événements abandonnés, par compte.",
            labels=["compte", "issue"],
        )
        for a in cb.par_compte:
            failures.add_metric([str(a.compte), "echec"], a.attempts_failed)
            failures.add_metric([str(a.compte), "abandonne"], a.events_abandoned)
        yield failures


class _ClusterCollector(Collector):
    """The cluster as this node sees it at one scrape (`Gateway.cluster_view()`,
    which reads the database: read by the handler before the page is written)."""

    def __init__(self, view: ClusterView) -> None:
        self._view = view

    def collect(self) -> Iterator[Any]:
        view = self._view
        own = next((n for n in view.noeuds if n.noeud == view.noeud), None)
        yield GaugeMetricFamily("smsgw_cluster_nodes_live", "Nœuds vivants du cluster.",
                                value=sum(n.vivant for n in view.noeuds))
        yield GaugeMetricFamily("smsgw_cluster_nodes", "Nœuds inscrits du cluster.",
                                value=len(view.noeuds))
        yield GaugeMetricFamily("smsgw_cluster_shards", "Partitions des comptes.",
                                value=view.partitions)
        yield GaugeMetricFamily("smsgw_cluster_shards_held", "Partitions détenues par ce nœud.",
                                value=len(own.partitions) if own else 0)
        yield GaugeMetricFamily(
            "smsgw_cluster_forwarded_per_second",
            "Commandes relayées par ce nœud au détenteur du compte, par seconde.",
            value=own.relais_par_s if own else 0.0,
        )


class Metrics:
    """The application's metrics registry and its request instruments."""

    def __init__(self, gateway: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "smsgw_http_requests", "Requêtes HTTP par route, méthode et statut.",
            ["route", "methode", "statut"], registry=self.registry,
        )
        self.latency = Histogram(
            "smsgw_http_request_seconds", "Durée de traitement des requêtes HTTP, par route.",
            ["route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.accepted = Counter(
            "smsgw_messages_accepted", "Destinataires enregistrés à l'acceptation, par statut.",
            ["type", "statut"], registry=self.registry,
        )
        self.registry.register(_EngineCollector(gateway))
        self._per_route: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._per_outcome: dict[tuple[str, str], Any] = {}

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration. The labelled series are
        looked up once per (route, method, status): `labels()` takes a lock and
        checks its arguments, a cost every send would pay."""
        series = self._per_route.get((route, method, status))
        if series is None:
            series = self._per_route[(route, method, status)] = (
                self.requests.labels(route, method, str(status)), self.latency.labels(route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def count_accepted(self, result: Accepted) -> None:
        """Count the recipients of an accepted send under its type and status (the
        send intake calls it for every door; a replayed answer is not counted)."""
        key = (result.type.value, result.statut.value)
        series = self._per_outcome.get(key)
        if series is None:
            series = self._per_outcome[key] = self.accepted.labels(*key)
        series.inc(result.nb_destinataires)

    def install(self, app: Quart) -> None:
        @app.before_request
        async def _started() -> None:
            g.smsgw_started = time.perf_counter()

        @app.after_request
        async def _count(response: Response) -> Response:
            rule = request.url_rule.rule if request.url_rule is not None else "<inconnue>"
            started = getattr(g, "smsgw_started", None)
            seconds = time.perf_counter() - started if started is not None else 0.0
            self.request_done(rule, request.method, response.status_code, seconds)
            return response


@bp.get("/metrics")
@operation(
    "Métriques Prometheus",
    tag="Exploitation",
    description="Format texte de Prometheus : requêtes par route et statut, messages par "
    "statut, PDU SMPP, profondeur des files, latence des commits, rappels, cluster (nœuds "
    "vivants, partitions détenues par ce nœud, commandes relayées par seconde).",
    responses={200: Answer("Les métriques.", None, media_type=CONTENT_TYPE_LATEST.split(";")[0])},
)
async def metrics() -> Response:
    registry = current_app.extensions["metrics"].registry
    cluster = CollectorRegistry(auto_describe=False)
    cluster.register(_ClusterCollector(await current_app.extensions["gateway"].cluster_view()))
    return Response(generate_latest(registry) + generate_latest(cluster), status=200,
                    content_type=CONTENT_TYPE_LATEST)
