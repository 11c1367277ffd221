"""`smsgw charge`: a load test against any gateway, over its public API.

`--connexions C` tasks share one `httpx.AsyncClient` whose pool holds C connections
(run under trio): each task sends, waits for the answer, sends again, so up to C
requests are in flight on C TCP connections. Every answer's latency and status is
kept; the table counts the connections actually opened (httpx's connection trace)
and the most requests seen in flight at once.

When every send has answered, the run asks the account's pending sends
(`GET /api/V1/sms?statut=EN_ATTENTE`, newest first, down to the run's first ref)
every `--intervalle` seconds until none of the run's sends is pending: the time
from the first request to that moment is the end-to-end time (precise to one
interval). A last pass reads the run's sends for their ENVOYE and ECHEC counts.
Answers 429 to those reads are waited out (Retry-After); sends are never retried.

Numbers are generated: +24106000000, +24106000001, ... (valid Gabonese mobiles
the simulator accepts), K distinct per MULDES.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import click
import httpx
import trio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from smsgw_cli.client import API_PREFIX, ApiFailure, failure_of, unreachable
from smsgw_cli.options import EXIT_REFUSED, EXIT_TIMEOUT, client_options, require
from smsgw_cli.output import Output, cell, record
from smsgw_cli.stats import Ending, Summary, Tally

PAGE = 1000


def number(i: int) -> str:
    """The i-th generated recipient: +24106000000 onwards, then +24107000000..."""
    return f"+2410{6 + (i // 1_000_000) % 2}{i % 1_000_000:06d}"


@dataclass(frozen=True, slots=True)
class Plan:
    """One run's parameters."""

    url: str
    key: str
    sends: int
    connections: int
    mode: str
    recipients_per_send: int
    emetteur: str
    corps: str
    timeout_s: float
    interval_s: float

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/sms/{self.mode.lower()}"

    def body(self, i: int) -> dict[str, Any]:
        if self.mode == "UNIDES":
            return {"emetteur": self.emetteur, "destinataire": number(i), "corps": self.corps}
        first = i * self.recipients_per_send
        numeros = [number(first + k) for k in range(self.recipients_per_send)]
        return {"emetteur": self.emetteur, "numeros": numeros, "corps": self.corps}


@click.command("charge")
@click.option("--n", "sends", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Nombre d'envois (requêtes POST).")
@click.option("--connexions", type=click.IntRange(min=1, max=10_000), default=10, show_default=True,
              help="Connexions HTTP simultanées.")
@click.option("--mode", type=click.Choice(["unides", "muldes"], case_sensitive=False), default="unides",
              show_default=True, help="UNIDES : un numéro par envoi ; MULDES : --destinataires par envoi.")
@click.option("--destinataires", type=click.IntRange(min=1), default=100, show_default=True,
              help="Numéros par envoi MULDES.")
@click.option("--emetteur", default="CHARGE", show_default=True, help="Émetteur des SMS.")
@click.option("--corps", default="Test de charge SMS Gateway", show_default=True, help="Texte des SMS.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Secondes d'attente au plus, après les envois, pour que chaque message finisse.")
@click.option("--intervalle", "interval_s", type=click.FloatRange(min=0.01), default=0.2, show_default=True,
              help="Secondes entre deux lectures des envois en attente.")
@client_options
def charge(sends: int, connexions: int, mode: str, destinataires: int, emetteur: str, corps: str,
           timeout_s: float, interval_s: float, url: str, cle: str | None, as_json: bool) -> None:
    """Test de charge : N envois sur C connexions, puis l'attente de bout en bout.
    Affiche acceptés/s, latences p50/p99, erreurs par statut et débit de bout en bout."""
    key = require(cle, "Clé API manquante : indiquez --cle ou la variable SMSGW_API_KEY.")
    plan = Plan(url.rstrip("/"), key, sends, connexions, mode.upper(),
                destinataires if mode.upper() == "MULDES" else 1, emetteur, corps, timeout_s, interval_s)
    output = Output(as_json)
    try:
        summary = trio.run(run_load, plan, output)
    except ApiFailure as failure:
        output.failure(failure)
        raise click.exceptions.Exit(EXIT_REFUSED) from None
    report = summary.as_json()
    if output.as_json:
        output.json(report)
    else:
        output.table(summary_table(report))
    if summary.tally.accepted == 0:
        worst = summary.tally.errors.most_common(1)
        output.err.print(f"Aucun envoi accepté ({worst[0][0] if worst else 'aucune réponse'}).",
                         style="bold red", markup=False)
        raise click.exceptions.Exit(EXIT_REFUSED)
    if not summary.ending.ended:
        output.warning(f"Délai dépassé : {summary.ending.pending} message(s) encore EN_ATTENTE.")
        raise click.exceptions.Exit(EXIT_TIMEOUT)


async def run_load(plan: Plan, output: Output) -> Summary:
    """Send, then wait for the end; the run's summary."""
    tally = Tally()
    limits = httpx.Limits(max_connections=plan.connections, max_keepalive_connections=plan.connections)
    headers = {"X-API-Key": plan.key}
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    async with httpx.AsyncClient(base_url=plan.url, headers=headers, limits=limits, timeout=60) as http:
        with Progress(*columns, console=output.err, disable=output.as_json) as progress:
            started = time.perf_counter()
            await _send_all(http, plan, tally, progress)
            tally.sends_s = time.perf_counter() - started
            ending = Ending()
            if tally.refs:
                await _wait_for_end(http, plan, tally, ending, progress, started)
    return Summary(plan.sends, plan.mode, plan.recipients_per_send, plan.connections, tally, ending)


async def _send_all(http: httpx.AsyncClient, plan: Plan, tally: Tally, progress: Progress) -> None:
    task = progress.add_task("Envois", total=plan.sends, detail="")

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            tally.connections_opened += 1

    def advance() -> None:
        progress.update(task, advance=1, detail=f"acceptés {tally.accepted} · erreurs {tally.errors.total()}")

    indices = iter(range(plan.sends))
    async with trio.open_nursery() as nursery:
        for _ in range(min(plan.connections, plan.sends)):
            nursery.start_soon(_sender, http, plan, tally, indices, trace, advance)


async def _sender(http: httpx.AsyncClient, plan: Plan, tally: Tally, indices: Iterator[int],
                  trace: Callable[..., Any], advance: Callable[[], None]) -> None:
    """Take the next index, send it, record its answer; until none is left."""
    for i in indices:
        tally.in_flight += 1
        tally.peak_in_flight = max(tally.peak_in_flight, tally.in_flight)
        sent_at = time.perf_counter()
        try:
            response = await http.post(plan.path, json=plan.body(i), extensions={"trace": trace})
        except httpx.TransportError as error:
            tally.errors[f"réseau ({type(error).__name__})"] += 1
        else:
            tally.latencies_s.append(time.perf_counter() - sent_at)
            _record(tally, response)
        finally:
            tally.in_flight -= 1
        advance()


def _record(tally: Tally, response: httpx.Response) -> None:
    if response.status_code != 202:
        failure = failure_of(response)
        tally.errors[f"{failure.status} {failure.code}"] += 1
        return
    accepted = response.json()
    tally.accepted += 1
    tally.refs.append(int(accepted["ref"]))
    tally.messages += int(accepted.get("nbDestinataires", 1))
    if accepted.get("statut") == "ECHEC":
        tally.accepted_failed += 1


async def _wait_for_end(http: httpx.AsyncClient, plan: Plan, tally: Tally, ending: Ending,
                        progress: Progress, started: float) -> None:
    task = progress.add_task("Bout en bout", total=tally.messages, detail="")
    ours = set(tally.refs)
    oldest = min(ours)
    deadline = trio.current_time() + plan.timeout_s
    while True:
        pending = await _read_sends(http, plan, ours, oldest, statut="EN_ATTENTE")
        waiting = sum(view["compteurs"].get("EN_ATTENTE", 0) for view in pending)
        ending.end_to_end_s = time.perf_counter() - started
        _show(progress, task, tally.messages - waiting, f"EN_ATTENTE {waiting}")
        if not pending:
            ending.ended = True
            break
        if trio.current_time() >= deadline:
            break
        await trio.sleep(plan.interval_s)
    for view in await _read_sends(http, plan, ours, oldest, statut=None):
        counts = view["compteurs"]
        ending.sent += counts.get("ENVOYE", 0)
        ending.failed += counts.get("ECHEC", 0)
        ending.pending += counts.get("EN_ATTENTE", 0)
    _show(progress, task, ending.sent + ending.failed, f"ENVOYE {ending.sent} · ECHEC {ending.failed}")


def _show(progress: Progress, task: TaskID, completed: int, detail: str) -> None:
    progress.update(task, completed=completed, detail=detail)


async def _read_sends(http: httpx.AsyncClient, plan: Plan, ours: set[int], oldest: int,
                      statut: str | None) -> list[dict[str, Any]]:
    """The run's sends (with `statut`, if given), page by page from the newest,
    down to the run's oldest ref."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limite": PAGE, **({"statut": statut} if statut else {})}
    while True:
        page = await _get(http, plan, f"{API_PREFIX}/sms", params)
        views = page.get("envois", [])
        found += [view for view in views if int(view["ref"]) in ours]
        following = page.get("curseurSuivant")
        if not following or not views or int(views[-1]["ref"]) <= oldest:
            return found
        params["curseur"] = following


async def _get(http: httpx.AsyncClient, plan: Plan, path: str, params: dict[str, Any]) -> Any:
    """GET with 429 and 503 waited out (their Retry-After); other refusals raise."""
    while True:
        try:
            response = await http.get(path, params=params)
        except httpx.TransportError as error:
            raise unreachable(plan.url, error) from None
        if response.status_code in (429, 503):
            await trio.sleep(_retry_after_s(response))
            continue
        if not response.is_success:
            raise failure_of(response)
        return response.json()


def _retry_after_s(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.05), 30.0)
    except ValueError:
        return 1.0


def summary_table(report: dict[str, Any]) -> Table:
    """The closing table, from `Summary.as_json()`."""
    mode = report["mode"]
    if mode == "MULDES":
        mode += f" × {cell(report['destinatairesParEnvoi'])} destinataires"
    latency = report["latenceMs"]
    errors = report["erreurs"]
    rows: list[tuple[str, Any]] = [
        ("Envois demandés", f"{cell(report['envois'])} ({mode})"),
        ("Connexions", f"{report['connexions']} demandées, {report['connexionsOuvertes']} ouvertes, "
                       f"{report['simultanesMax']} requêtes simultanées au plus"),
        ("Acceptés (202)", report["acceptes"]),
        ("Erreurs", "\n".join(f"{code} : {cell(count)}" for code, count in errors.items()) or "aucune"),
        ("Durée des envois", f"{report['dureeEnvoisS']:.2f} s"),
        ("Acceptés par seconde", f"{report['acceptesParS']:.1f}"),
        ("Latence p50 / p99 / max", f"{latency['p50']:.1f} / {latency['p99']:.1f} / {latency['max']:.1f} ms"),
        ("Messages acceptés", report["messages"]),
        ("ENVOYE / ECHEC / EN_ATTENTE",
         " / ".join(cell(report[name]) for name in ("envoyes", "echecs", "enAttente"))),
        ("Bout en bout", f"{report['boutEnBoutS']:.2f} s" + ("" if report["termine"] else " (inachevé)")),
        ("ENVOYE par seconde, bout en bout", f"{report['envoyesParS']:.1f}"),
    ]
    if report["acceptesEnEchec"]:
        rows.insert(3, ("Acceptés déjà en ECHEC", report["acceptesEnEchec"]))
    return record("Test de charge", rows)
