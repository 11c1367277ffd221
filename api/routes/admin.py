"""Administration: /api/V1/admin/* behind the admin bearer token (contract section 5).

Accounts: create, list, detail, top-up, amend (type, rate, name, callback URL,
password, suspension, sender names), the journal that explains every balance
(and records each action here as made by `BY_API`), invoices and their settlement.

Decisions the contract leaves open, documented here and in the OpenAPI document:
- A top-up goes to prepaid accounts only; on a postpaid account it answers 409
  `COMPTE_POSTPAYE` (a postpaid account pays by invoice). A prepaid balance left
  over from before a switch to postpaid is kept, shown, and usable again after a
  switch back.
- An invoice closes the postpaid consumption of the current period; a prepaid
  account answers 409 `COMPTE_PREPAYE`, unless consumption is left over from a
  postpaid period before a switch (that last consumption can still be invoiced).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from api import views
from api.deps import gateway, require_admin
from api.http import jsonify_status, valid_body, valid_query
from api.models import answers
from api.models.requests import AmendAccount, CreateAccount, Credit
from api.openapi import PAGE_BY_ID, Answer, Security, operation
from engine.gateway import BY_API
from engine.model import AccountId, AccountType, JournalRow, Ledger, format_ref

bp = Blueprint("admin", __name__, url_prefix="/api/V1/admin")

@bp.before_request
async def _admin_only() -> None:
    require_admin()


def _page() -> tuple[int, int]:
    """The page's `curseur` (an id, 0 by default) and `limite` (100 by default)."""
    query = valid_query()
    return query.get("curseur", 0), query.get("limite", 100)


@bp.post("/comptes")
@operation(
    "Créer un compte",
    tag="Administration",
    description="Crée un compte prépayé ou postpayé ; la réponse porte la première clé API, "
    "montrée une seule fois.",
    body=CreateAccount,
    responses={201: Answer("Compte créé, avec sa clé API.", answers.Compte),
               409: Answer("Adresse e-mail déjà utilisée (EMAIL_UTILISE).")},
    security=Security.ADMIN,
)
async def create_account() -> Response:
    body = await valid_body()
    assert isinstance(body, CreateAccount)
    account_id, key = await gateway().create_account(
        nom=body.nom,
        type=AccountType(body.type),
        solde=body.solde or 0,
        email=body.email,
        mot_de_passe=body.motDePasse,
        debit_max=float(body.debitMax or 100),
        emetteurs=body.emetteursAutorises,
        by=BY_API,
    )
    view = await gateway().account(account_id)
    answer = views.account(view)
    answer["cleApi"] = views.key(key)
    return jsonify_status(answer, 201)


@bp.get("/comptes")
@operation(
    "Liste des comptes",
    tag="Administration",
    params=PAGE_BY_ID,
    responses={200: Answer("Une page de comptes, par identifiant croissant.", answers.PageComptes)},
    security=Security.ADMIN,
)
async def list_accounts() -> Response:
    after, limit = _page()
    rows = await gateway().accounts(after, limit)
    return jsonify_status(
        {
            "comptes": [views.account_row(r) for r in rows],
            "curseurSuivant": str(rows[-1].id) if len(rows) == limit else None,
        },
        200,
    )


@bp.get("/comptes/<int:account_id>")
@operation(
    "Détail d'un compte",
    tag="Administration",
    responses={200: Answer("Le compte.", answers.Compte),
               503: Answer("Compte momentanément indisponible (COMPTE_INDISPONIBLE).")},
    security=Security.ADMIN,
)
async def get_account(account_id: int) -> Response:
    view = await gateway().account(AccountId(account_id))
    return jsonify_status(views.account(view), 200)


@bp.patch("/comptes/<int:account_id>")
@operation(
    "Modifier un compte",
    tag="Administration",
    description="Type (section 4.3 du guide), débit, nom, URL de rappel des statuts, mot de "
    "passe de l'espace client (qui ferme toutes ses sessions), suspension (`actif`) et "
    "émetteurs autorisés. Chaque changement est inscrit au journal du compte (nature ADMIN, "
    "avec qui l'a fait).",
    body=AmendAccount,
    responses={200: Answer("Le compte modifié.", answers.Compte),
               409: Answer("Changement refusé (par exemple TYPE_INCHANGE).")},
    security=Security.ADMIN,
)
async def amend_account(account_id: int) -> Response:
    body = await valid_body()
    assert isinstance(body, AmendAccount)
    given = body.model_fields_set
    await gateway().amend_account(
        AccountId(account_id),
        type=AccountType(body.type) if "type" in given else None,
        debit_max=float(body.debitMax) if "debitMax" in given else None,
        nom=body.nom,
        url_rappel=body.urlRappel,
        clear_url="urlRappel" in given and body.urlRappel is None,
        mot_de_passe=body.motDePasse,
        actif=body.actif if "actif" in given else None,
        emetteurs=body.emetteursAutorises if "emetteursAutorises" in given else None,
        by=BY_API,
    )
    view = await gateway().account(AccountId(account_id))
    return jsonify_status(views.account(view), 200)


@bp.post("/comptes/<int:account_id>/credit")
@operation(
    "Créditer un compte prépayé",
    tag="Administration",
    body=Credit,
    responses={200: Answer("Le nouveau solde.", answers.Solde),
               409: Answer("Compte postpayé : il paie sur facture (COMPTE_POSTPAYE).")},
    security=Security.ADMIN,
)
async def credit(account_id: int) -> Response:
    body = await valid_body()
    assert isinstance(body, Credit)
    solde = await gateway().top_up(AccountId(account_id), body.montant, by=BY_API)
    return jsonify_status({"id": account_id, "solde": solde}, 200)


@bp.get("/comptes/<int:account_id>/journal")
@operation(
    "Journal d'un compte",
    tag="Administration",
    description="Chaque mouvement de crédits, et les soldes que le journal recalcule.",
    params=PAGE_BY_ID,
    responses={200: Answer("Une page du journal.", answers.Journal)},
    security=Security.ADMIN,
)
async def journal(account_id: int) -> Response:
    after, limit = _page()
    rows, totals = await gateway().journal_page(AccountId(account_id), after, limit)
    view = await gateway().account(AccountId(account_id))
    live = view.snapshot
    balances = {
        "solde": live.solde if live else view.row.ledger.solde,
        "reserve": live.reserve if live else view.row.ledger.reserve,
        "consommation": live.consommation if live else view.row.ledger.consommation,
        "du": live.du if live else view.row.ledger.du,
    }
    recomputed = _ledger_json(totals)
    return jsonify_status(
        {
            "compte": account_id,
            "ecritures": [_entry_json(r) for r in rows],
            "curseurSuivant": str(rows[-1].id) if len(rows) == limit else None,
            "recalcule": recomputed,
            "concorde": all(recomputed[k] == v for k, v in balances.items()),
        },
        200,
    )


@bp.post("/comptes/<int:account_id>/factures")
@operation(
    "Clore la période en une facture",
    tag="Administration",
    responses={201: Answer("La facture.", answers.Facture),
               409: Answer("Rien à facturer pour ce compte (COMPTE_PREPAYE).")},
    security=Security.ADMIN,
)
async def close_invoice(account_id: int) -> Response:
    invoice = await gateway().close_invoice(AccountId(account_id), by=BY_API)
    return jsonify_status(views.invoice(invoice), 201)


@bp.get("/comptes/<int:account_id>/factures")
@operation(
    "Factures d'un compte",
    tag="Administration",
    responses={200: Answer("Les factures, la plus récente d'abord.", answers.Factures)},
    security=Security.ADMIN,
)
async def list_invoices(account_id: int) -> Response:
    invoices = await gateway().invoices(AccountId(account_id))
    return jsonify_status({"factures": [views.invoice(i) for i in invoices]}, 200)


@bp.post("/factures/<int:invoice_id>/reglement")
@operation(
    "Régler une facture",
    tag="Administration",
    responses={200: Answer("La facture réglée et le nouveau dû.", answers.Facture),
               409: Answer("Facture déjà réglée (FACTURE_DEJA_REGLEE).")},
    security=Security.ADMIN,
)
async def settle_invoice(invoice_id: int) -> Response:
    invoice = await gateway().settle_invoice(invoice_id, by=BY_API)
    view = await gateway().account(invoice.account_id)
    body = views.invoice(invoice)
    body["du"] = view.snapshot.du if view.snapshot else view.row.ledger.du
    return jsonify_status(body, 200)


def _entry_json(row: JournalRow) -> dict[str, Any]:
    entry = row.entry
    return {
        "id": row.id,
        "nature": entry.kind.value,
        "montant": entry.amount,
        "ref": format_ref(entry.ref) if entry.ref is not None else None,
        "detail": entry.detail,
        "date": row.at,
    }


def _ledger_json(led: Ledger) -> dict[str, Any]:
    return {
        "type": led.type.value,
        "solde": led.solde,
        "reserve": led.reserve,
        "debite": led.debite,
        "credite": led.credite,
        "consommation": led.consommation,
        "du": led.du,
    }
