"""Administration: /api/V1/admin/* behind the admin bearer token (contract section 5).

Accounts: create, list, detail, top-up, amend (type, rate, name, callback URL),
the journal that explains every balance, invoices and their settlement.

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

from api import schemas, views
from api.deps import gateway, require_admin
from api.errors import ApiError
from api.http import json_body, jsonify_status, valid_query
from api.openapi import PAGE_BY_ID, Answer, Security, operation
from api.schemas import EMAIL_PATTERN, WHITESPACE, Schema, unsafe, validate
from engine.model import AccountId, AccountType, JournalRow, Ledger, format_ref

bp = Blueprint("admin", __name__, url_prefix="/api/V1/admin")

_VALIDATION = "La requête contient des champs invalides."

_NOM: Schema = {"type": "string", "minLength": 1, "maxLength": 100, "example": "Banque de Libreville"}
_TYPE: Schema = {
    "type": "string",
    "enum": ["PREPAYE", "POSTPAYE"],
    "description": "PREPAYE : les envois consomment un solde crédité d'avance ; "
    "POSTPAYE : les envois sont enregistrés puis facturés.",
}
_DEBIT_MAX: Schema = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 100000,
    "description": "Débit d'envoi du compte vers le SMSC, en messages par seconde.",
    "example": 100,
}

CREATE_ACCOUNT_SCHEMA: Schema = {
    "type": "object",
    "required": ["nom", "type"],
    "properties": {
        "nom": _NOM,
        "type": _TYPE,
        "solde": {
            "type": "integer",
            "minimum": 0,
            "maximum": 1_000_000_000,
            "description": "Crédits SMS de départ (comptes prépayés seulement).",
            "example": 1000,
        },
        "email": {"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN},
        "motDePasse": {"type": "string", "minLength": 8, "maxLength": 200},
        "debitMax": _DEBIT_MAX,
    },
    "anyOf": [
        {"type": "object", "properties": {"type": {"type": "string", "enum": ["PREPAYE"]}}},
        {"type": "object", "properties": {"solde": {"type": "integer", "maximum": 0}}},
    ],
    "anyOfField": "solde",
    "anyOfMessage": "Un compte postpayé n'a pas de solde de départ : ses envois sont facturés.",
    "example": {"nom": "Banque de Libreville", "type": "PREPAYE", "solde": 1000},
}

CREDIT_SCHEMA: Schema = {
    "type": "object",
    "required": ["montant"],
    "properties": {
        "montant": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1_000_000_000,
            "description": "Crédits SMS à ajouter au solde d'un compte prépayé (entier > 0).",
            "example": 1000,
        }
    },
    "example": {"montant": 1000},
}

AMEND_ACCOUNT_SCHEMA: Schema = {
    "type": "object",
    "required": [],
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "type": {
            **_TYPE,
            "nullable": False,
            "description": "Nouveau type. Ce qui est déjà réservé reste facturé selon "
            "l'ancien type ; un solde prépayé restant est conservé.",
        },
        "debitMax": {**_DEBIT_MAX, "nullable": False},
        "nom": {**_NOM, "nullable": False},
        "urlRappel": {
            "type": "string",
            "maxLength": 2048,
            "pattern": rf"^https?://[^\x00{WHITESPACE[1:-1]}]+$",
            "description": "URL qui reçoit chaque changement de statut (null pour la retirer).",
            "example": "https://exemple.ga/sms/statuts",
        },
        "motDePasse": {
            "type": "string",
            "minLength": 8,
            "maxLength": 200,
            "nullable": False,
            "description": "Nouveau mot de passe de l'espace client : toutes les sessions "
            "ouvertes du compte sont fermées.",
        },
        "numerosEntrants": {
            "type": "array",
            "nullable": False,
            "maxItems": 100,
            "items": {"type": "string", "pattern": r"^\+?[0-9]{1,20}$"},
            "description": "Numéros et codes courts entrants du compte (remplacent les "
            "précédents ; [] les libère) : un SMS entrant adressé à l'un d'eux est à lui "
            "(GET /sms/entrants), et « STOP » y inscrit son expéditeur sur sa liste "
            "d'opposition. Un numéro appartient à un seul compte (409 NUMERO_ENTRANT_UTILISE).",
            "example": ["1234", "+24106000000"],
        },
    },
    "example": {"type": "POSTPAYE", "debitMax": 50},
}

_AMENDABLE = tuple(AMEND_ACCOUNT_SCHEMA["properties"])


@bp.before_request
async def _admin_only() -> None:
    require_admin()


def _check(schema: Schema, body: Any) -> None:
    details = validate(schema, body)
    if details:
        raise ApiError(422, "VALIDATION", _VALIDATION, details)


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
    body=CREATE_ACCOUNT_SCHEMA,
    responses={201: Answer("Compte créé, avec sa clé API.", schemas.COMPTE),
               409: Answer("Adresse e-mail déjà utilisée (EMAIL_UTILISE).")},
    security=Security.ADMIN,
)
async def create_account() -> Response:
    body = await json_body()
    _check(CREATE_ACCOUNT_SCHEMA, body)
    account_id, key = await gateway().create_account(
        nom=body["nom"],
        type=AccountType(body["type"]),
        solde=body.get("solde") or 0,
        email=body.get("email"),
        mot_de_passe=body.get("motDePasse"),
        debit_max=float(body.get("debitMax") or 100),
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
    responses={200: Answer("Une page de comptes, par identifiant croissant.", schemas.PAGE_COMPTES)},
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
    responses={200: Answer("Le compte.", schemas.COMPTE),
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
    "passe de l'espace client (qui ferme toutes ses sessions), numéros entrants.",
    body=AMEND_ACCOUNT_SCHEMA,
    responses={200: Answer("Le compte modifié.", schemas.COMPTE),
               409: Answer("Changement refusé (par exemple TYPE_INCHANGE, "
                           "NUMERO_ENTRANT_UTILISE).")},
    security=Security.ADMIN,
)
async def amend_account(account_id: int) -> Response:
    body = await json_body()
    if not isinstance(body, dict):
        _check(AMEND_ACCOUNT_SCHEMA, body)
    details = validate(AMEND_ACCOUNT_SCHEMA, body)
    unknown = [name for name in body if name not in _AMENDABLE and not unsafe(name)]
    details += [
        {
            "champ": name,
            "message": "Champ non modifiable ici"
            + (" : créditez le compte par POST .../credit." if name == "solde" else ".")
            + " Champs modifiables : " + ", ".join(_AMENDABLE) + ".",
        }
        for name in unknown
    ]
    if not body and not details:
        details.append(
            {"champ": "corps de la requête", "message": "Indiquez au moins un champ à modifier : "
             + ", ".join(_AMENDABLE) + "."}
        )
    for name in ("type", "debitMax", "nom", "motDePasse", "numerosEntrants"):
        if name in body and body[name] is None:
            details.append({"champ": name, "message": "Ne peut pas être null."})
    if details:
        raise ApiError(422, "VALIDATION", _VALIDATION, details)
    debit_max = body.get("debitMax")
    if "numerosEntrants" in body:
        await gateway().set_inbound_numbers(AccountId(account_id), body["numerosEntrants"])
    await gateway().amend_account(
        AccountId(account_id),
        type=AccountType(body["type"]) if "type" in body else None,
        debit_max=float(debit_max) if debit_max is not None else None,
        nom=body.get("nom"),
        url_rappel=body.get("urlRappel"),
        clear_url="urlRappel" in body and body["urlRappel"] is None,
        mot_de_passe=body.get("motDePasse"),
    )
    view = await gateway().account(AccountId(account_id))
    return jsonify_status(views.account(view), 200)


@bp.post("/comptes/<int:account_id>/credit")
@operation(
    "Créditer un compte prépayé",
    tag="Administration",
    body=CREDIT_SCHEMA,
    responses={200: Answer("Le nouveau solde.", schemas.SOLDE),
               409: Answer("Compte postpayé : il paie sur facture (COMPTE_POSTPAYE).")},
    security=Security.ADMIN,
)
async def credit(account_id: int) -> Response:
    body = await json_body()
    _check(CREDIT_SCHEMA, body)
    solde = await gateway().top_up(AccountId(account_id), body["montant"])
    return jsonify_status({"id": account_id, "solde": solde}, 200)


@bp.get("/comptes/<int:account_id>/journal")
@operation(
    "Journal d'un compte",
    tag="Administration",
    description="Chaque mouvement de crédits, et les soldes que le journal recalcule.",
    params=PAGE_BY_ID,
    responses={200: Answer("Une page du journal.", schemas.JOURNAL)},
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
    responses={201: Answer("La facture.", schemas.FACTURE),
               409: Answer("Rien à facturer pour ce compte (COMPTE_PREPAYE).")},
    security=Security.ADMIN,
)
async def close_invoice(account_id: int) -> Response:
    invoice = await gateway().close_invoice(AccountId(account_id))
    return jsonify_status(views.invoice(invoice), 201)


@bp.get("/comptes/<int:account_id>/factures")
@operation(
    "Factures d'un compte",
    tag="Administration",
    responses={200: Answer("Les factures, la plus récente d'abord.", schemas.FACTURES)},
    security=Security.ADMIN,
)
async def list_invoices(account_id: int) -> Response:
    invoices = await gateway().invoices(AccountId(account_id))
    return jsonify_status({"factures": [views.invoice(i) for i in invoices]}, 200)


@bp.post("/factures/<int:invoice_id>/reglement")
@operation(
    "Régler une facture",
    tag="Administration",
    responses={200: Answer("La facture réglée et le nouveau dû.", schemas.FACTURE),
               409: Answer("Facture déjà réglée (FACTURE_DEJA_REGLEE).")},
    security=Security.ADMIN,
)
async def settle_invoice(invoice_id: int) -> Response:
    invoice = await gateway().settle_invoice(invoice_id)
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
