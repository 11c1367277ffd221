"""`smsgw comptes ...`: accounts, through the admin API (contract section 5).

creer, lister, voir, crediter, suspendre (and `suspendre --reactiver`, or
reactiver).
"""

from __future__ import annotations

from typing import Any

import click

from smsgw_cli.options import admin_options, admin_session
from smsgw_cli.output import grid, record

ACCOUNT_FIELDS = (
    ("Identifiant", "id"),
    ("Nom", "nom"),
    ("Type", "type"),
    ("Solde", "solde"),
    ("Réservé", "reserve"),
    ("Consommation", "consommation"),
    ("Dû", "du"),
    ("Débit max (SMS/s)", "debitMax"),
    ("E-mail", "email"),
    ("URL de rappel", "urlRappel"),
    ("Créé le", "creeLe"),
    ("Actif", "actif"),
)


@click.group("comptes")
def comptes() -> None:
    """Créer, lister, voir, créditer, suspendre et réactiver les comptes (jeton d'administration)."""


@comptes.command("creer")
@click.option("--nom", required=True, help="Nom du compte.")
@click.option("--type", "type_", required=True,
              type=click.Choice(["PREPAYE", "POSTPAYE"], case_sensitive=False),
              help="PREPAYE : solde crédité d'avance ; POSTPAYE : facturé après.")
@click.option("--solde", type=click.IntRange(min=0), help="Crédits SMS de départ (prépayé).")
@click.option("--email", help="E-mail de connexion à l'espace client.")
@click.option("--mot-de-passe", "mot_de_passe",
              help="Mot de passe de l'espace client (8 caractères au moins).")
@click.option("--debit-max", type=click.FloatRange(min=0, min_open=True),
              help="Débit d'envoi du compte vers le SMSC, en SMS par seconde.")
@admin_options
def creer(nom: str, type_: str, solde: int | None, email: str | None, mot_de_passe: str | None,
          debit_max: float | None, url: str, jeton: str | None, as_json: bool) -> None:
    """Créer un compte ; affiche son identifiant et sa clé API (une seule fois)."""
    body: dict[str, Any] = {"nom": nom, "type": type_.upper()}
    optional = {"solde": solde, "email": email, "motDePasse": mot_de_passe, "debitMax": debit_max}
    body.update({name: value for name, value in optional.items() if value is not None})
    with admin_session(url, jeton, as_json) as s:
        account = s.gateway.admin("POST", "/comptes", json=body)
        if s.output.as_json:
            s.output.json(account)
            return
        key = account.get("cleApi") or {}
        s.output.table(record(f"Compte #{account['id']} créé", _account_rows(account)))
        s.output.line(f"Clé API : {key.get('cle')}", style="bold")
        s.output.line(f"Expire le {key.get('expiration')}. Elle ne sera plus affichée : conservez-la.")


@comptes.command("lister")
@admin_options
def lister(url: str, jeton: str | None, as_json: bool) -> None:
    """Lister tous les comptes, par identifiant croissant."""
    with admin_session(url, jeton, as_json) as s:
        accounts: list[dict[str, Any]] = []
        cursor: str | None = "0"
        while cursor is not None:
            page = s.gateway.admin("GET", "/comptes", params={"curseur": cursor, "limite": 1000})
            accounts.extend(page["comptes"])
            cursor = page.get("curseurSuivant")
        if s.output.as_json:
            s.output.json({"comptes": accounts})
            return
        columns = ("Id", "Nom", "Type", "Solde", "Réservé", "Consommation", "Dû", "E-mail")
        keys = ("id", "nom", "type", "solde", "reserve", "consommation", "du", "email")
        s.output.table(grid(f"{len(accounts)} compte(s)", columns,
                            ([a.get(k) for k in keys] for a in accounts),
                            right=("Id", "Solde", "Réservé", "Consommation", "Dû")))


@comptes.command("voir")
@click.argument("compte", metavar="ID", type=click.IntRange(min=1))
@admin_options
def voir(compte: int, url: str, jeton: str | None, as_json: bool) -> None:
    """Afficher un compte : type, solde, réservé, consommation, dû, clé."""
    with admin_session(url, jeton, as_json) as s:
        account = s.gateway.admin("GET", f"/comptes/{compte}")
        if s.output.as_json:
            s.output.json(account)
            return
        s.output.table(record(f"Compte #{account['id']}", _account_rows(account)))


@comptes.command("crediter")
@click.argument("compte", metavar="ID", type=click.IntRange(min=1))
@click.argument("montant", metavar="MONTANT", type=click.IntRange(min=1))
@admin_options
def crediter(compte: int, montant: int, url: str, jeton: str | None, as_json: bool) -> None:
    """Ajouter MONTANT crédits SMS au solde d'un compte prépayé."""
    with admin_session(url, jeton, as_json) as s:
        answer = s.gateway.admin("POST", f"/comptes/{compte}/credit", json={"montant": montant})
        if s.output.as_json:
            s.output.json(answer)
            return
        s.output.line(f"Compte #{answer['id']} crédité de {montant} : solde {answer['solde']}.")


@comptes.command("suspendre")
@click.argument("compte", metavar="ID", type=click.IntRange(min=1))
@click.option("--reactiver", is_flag=True, help="Réactiver le compte au lieu de le suspendre.")
@admin_options
def suspendre(compte: int, reactiver: bool, url: str, jeton: str | None, as_json: bool) -> None:
    """Suspendre un compte : ses envois sont refusés (403 COMPTE_SUSPENDU), ses campagnes
    attendent, ses lectures répondent. Avec --reactiver, le laisser envoyer de nouveau."""
    _set_active(compte, reactiver, url, jeton, as_json)


@comptes.command("reactiver")
@click.argument("compte", metavar="ID", type=click.IntRange(min=1))
@admin_options
def reactiver(compte: int, url: str, jeton: str | None, as_json: bool) -> None:
    """Réactiver un compte suspendu : ses envois repartent, ses campagnes reprennent."""
    _set_active(compte, True, url, jeton, as_json)


def _set_active(compte: int, actif: bool, url: str, jeton: str | None, as_json: bool) -> None:
    with admin_session(url, jeton, as_json) as s:
        account = s.gateway.admin("PATCH", f"/comptes/{compte}", json={"actif": actif})
        if s.output.as_json:
            s.output.json(account)
            return
        s.output.line(f"Compte #{account['id']} " + ("réactivé." if actif else "suspendu."))


def _account_rows(account: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = [(label, account.get(name)) for label, name in ACCOUNT_FIELDS]
    key = account.get("cleApi")
    if isinstance(key, dict):
        rows.append(("Clé API expire le", key.get("expiration")))
    return rows
