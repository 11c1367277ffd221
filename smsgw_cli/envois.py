"""`smsgw envoyer` and `smsgw suivre`: send (UNIDES, MULDES) and follow a send until
every recipient has ended (contract sections 2 and 4).

Following asks `GET /api/V1/sms/{ref}` every `--intervalle` seconds and draws its
counters as a progress bar (EN_ATTENTE → ENVOYE or ECHEC) until none is pending,
or `--timeout` passes (exit status 3).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smsgw_cli.client import Gateway
from smsgw_cli.numbers import CsvError, numbers_from_csv
from smsgw_cli.options import EXIT_TIMEOUT, Session, client_options, client_session
from smsgw_cli.output import Output, record

STATUSES = ("EN_ATTENTE", "ENVOYE", "ECHEC")

timeout_option = click.option(
    "--timeout", "timeout_s", type=click.FloatRange(min=0), default=120.0, show_default=True,
    help="Secondes d'attente au plus avant d'abandonner le suivi (statut de sortie 3).",
)
interval_option = click.option(
    "--intervalle", "interval_s", type=click.FloatRange(min=0.01), default=0.25, show_default=True,
    help="Secondes entre deux lectures du statut.",
)


@click.command("envoyer")
@click.argument("numeros", metavar="[NUMERO]...", nargs=-1)
@click.option("--emetteur", required=True, help="Émetteur : nom (1 à 20 caractères) ou numéro.")
@click.option("--corps", required=True, help="Texte du SMS (1 à 160 caractères).")
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fichier CSV des numéros (envoi multiple).")
@click.option("--colonne", metavar="NOM|N",
              help="Colonne du CSV : son en-tête, ou sa position (1 pour la première).")
@click.option("--idempotence", metavar="CLE",
              help="En-tête Idempotency-Key : renvoyer la même requête n'envoie rien de plus.")
@click.option("--suivre", "follow_after", is_flag=True,
              help="Suivre l'envoi jusqu'à la fin de chaque destinataire.")
@timeout_option
@interval_option
@client_options
def envoyer(numeros: tuple[str, ...], emetteur: str, corps: str, csv_file: Path | None,
            colonne: str | None, idempotence: str | None, follow_after: bool, timeout_s: float,
            interval_s: float, url: str, cle: str | None, as_json: bool) -> None:
    """Envoyer un SMS : à un NUMERO (UNIDES), ou à plusieurs numéros ou à ceux d'un
    fichier --csv (MULDES). Affiche la référence de l'envoi."""
    recipients = list(numeros)
    if csv_file is not None:
        try:
            recipients += numbers_from_csv(csv_file, colonne)
        except CsvError as error:
            raise click.BadParameter(str(error), param_hint="--csv") from None
    elif colonne is not None:
        raise click.UsageError("--colonne va avec --csv.")
    if not recipients:
        raise click.UsageError("Indiquez un NUMERO ou un fichier --csv.")
    body: dict[str, Any]
    if len(recipients) == 1 and csv_file is None:
        path, body = "/sms/unides", {"emetteur": emetteur, "destinataire": recipients[0], "corps": corps}
    else:
        path, body = "/sms/muldes", {"emetteur": emetteur, "numeros": recipients, "corps": corps}
    headers = {"Idempotency-Key": idempotence} if idempotence else {}
    with client_session(url, cle, as_json) as s:
        accepted = s.gateway.client("POST", path, json=body, headers=headers)
        if not s.output.as_json:
            _print_accepted(s.output, accepted)
        if not follow_after:
            if s.output.as_json:
                s.output.json(accepted)
            return
        view, ended = follow(s, accepted["ref"], timeout_s=timeout_s, interval_s=interval_s)
        if s.output.as_json:
            s.output.json({"acceptation": accepted, "suivi": view})
        _conclude(s.output, view, ended, timeout_s)


@click.command("suivre")
@click.argument("ref", metavar="REF")
@timeout_option
@interval_option
@client_options
def suivre(ref: str, timeout_s: float, interval_s: float, url: str, cle: str | None, as_json: bool) -> None:
    """Suivre l'envoi REF jusqu'à ce que chaque destinataire soit ENVOYE ou ECHEC,
    puis afficher ses compteurs."""
    with client_session(url, cle, as_json) as s:
        view, ended = follow(s, ref, timeout_s=timeout_s, interval_s=interval_s)
        if s.output.as_json:
            s.output.json(view)
        _conclude(s.output, view, ended, timeout_s)


def follow(s: Session, ref: str, *, timeout_s: float, interval_s: float) -> tuple[dict[str, Any], bool]:
    """Read the send until none of its recipients is pending or `timeout_s` passes;
    its last view and whether every recipient ended. Draws a progress bar on stderr
    (not in JSON mode)."""
    deadline = time.monotonic() + timeout_s
    view = read_send(s.gateway, ref)
    if not view["compteurs"].get("EN_ATTENTE"):
        return view, True
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=s.output.err, disable=s.output.as_json) as progress:
        task = progress.add_task(f"Envoi {ref}", total=None, detail="")
        while True:
            counts = view["compteurs"]
            total = sum(counts.get(name, 0) for name in STATUSES)
            detail = " · ".join(f"{name} {counts.get(name, 0)}" for name in STATUSES)
            progress.update(task, total=total, completed=total - counts.get("EN_ATTENTE", 0), detail=detail)
            if not counts.get("EN_ATTENTE"):
                return view, True
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                return view, False
            time.sleep(min(interval_s, left_s))
            view = read_send(s.gateway, ref)


def read_send(gateway: Gateway, ref: str) -> dict[str, Any]:
    view: dict[str, Any] = gateway.client("GET", f"/sms/{ref}")
    return view


def _print_accepted(output: Output, accepted: dict[str, Any]) -> None:
    parts = [accepted.get("type", "?"), accepted.get("statut", "?"),
             f"{accepted.get('segments', '?')} segment(s) {accepted.get('encodage', '')}".rstrip()]
    if "nbDestinataires" in accepted:
        parts.append(f"{accepted['nbDestinataires']} destinataire(s)")
        parts.append(f"{accepted.get('doublonsIgnores', 0)} doublon(s) ignoré(s)")
    output.line(f"Envoi {accepted['ref']} accepté : " + ", ".join(parts) + ".")
    for warning in accepted.get("avertissements") or []:
        output.warning(f"Avertissement : {warning}")


def _conclude(output: Output, view: dict[str, Any], ended: bool, timeout_s: float) -> None:
    counts = view.get("compteurs", {})
    if not output.as_json:
        rows = [("Type", view.get("type")), ("Statut", view.get("statut"))]
        rows += [(name, counts.get(name, 0)) for name in (*STATUSES, "LIVRE")]
        rows.append(("Total", sum(counts.get(name, 0) for name in STATUSES)))
        output.table(record(f"Envoi {view.get('ref')}", rows))
    if not ended:
        output.warning(f"Délai dépassé : {counts.get('EN_ATTENTE', 0)} destinataire(s) encore "
                       f"EN_ATTENTE après {timeout_s:g} s.")
        raise click.exceptions.Exit(EXIT_TIMEOUT)
