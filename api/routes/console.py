"""The operator console's account administration, /operateur/comptes.

Server-rendered pages behind the operator session (the console's login, same
signed cookie and generation as /operateur): search and list the accounts,
create one (its first key shown once), and on an account's page top it up,
change its type, rate and sender names, suspend and reactivate it, reset its
client-space password, close its postpaid period into an invoice and settle its
invoices.

Every action is a form post carrying the session's CSRF token; it runs the same
facade call as the admin API, which writes it in the account's journal as made
`by` the console, the operator's name given at login and the caller's address.
A refusal re-renders the page with the engine's message and status; a success
redirects (303) to the account's page, which says what was done. Without a live
operator session a page redirects to the console's login and an action is
refused (401); a client session is refused (403).
"""

from __future__ import annotations

import math
from typing import Any

from quart import Blueprint, Response, redirect, request, session

from api import views
from api.deps import gateway
from api.errors import status_of
from api.openapi import Answer, Security, operation
from api.routes.espace import (
    check_csrf,
    csrf_refusal,
    page,
    refuse_unstorable_form,
    session_state,
    source,
)
from engine.errors import GatewayError
from engine.gateway import BY_CONSOLE, AccountView
from engine.model import AccountId, AccountType, EntryKind, InvoiceRow

bp = Blueprint("console", __name__, url_prefix="/operateur/comptes")

bp.before_request(refuse_unstorable_form)

PAGE = {
    200: Answer("La page.", None, media_type="text/html"),
    302: Answer("Sans session opérateur : vers la connexion de la console.", None,
                media_type="text/html"),
    403: Answer("Session client : accès refusé.", None, media_type="text/html"),
}
ACTION = {
    303: Answer("Fait : vers la page du compte, qui le dit.", None, media_type="text/html"),
    401: Answer("Sans session opérateur.", None, media_type="text/html"),
    403: Answer("Jeton CSRF absent ou faux, ou session client.", None, media_type="text/html"),
    404: Answer("Compte ou facture inconnus.", None, media_type="text/html"),
    409: Answer("Refusé par le compte (par exemple COMPTE_POSTPAYE, TYPE_INCHANGE).", None,
                media_type="text/html"),
    422: Answer("Champ invalide : la page le nomme.", None, media_type="text/html"),
}
DONE = {
    "cree": "Compte créé.",
    "credit": "Compte crédité.",
    "type": "Type du compte changé.",
    "debit": "Débit maximal changé.",
    "mot-de-passe": "Mot de passe de l'espace client remplacé : ses sessions ouvertes sont fermées.",
    "facture": "Période close : la facture est émise.",
    "reglement": "Facture réglée.",
    "suspendu": "Compte suspendu : ses envois sont refusés, ses campagnes suspendues.",
    "reactive": "Compte réactivé.",
    "emetteurs": "Émetteurs autorisés enregistrés.",
}
NATURES = {
    EntryKind.CREDIT: "Crédit", EntryKind.RESERVATION: "Réservation", EntryKind.DEBIT: "Débit",
    EntryKind.LIBERATION: "Libération", EntryKind.CONSOMMATION: "Consommation",
    EntryKind.FACTURE: "Facture", EntryKind.REGLEMENT: "Règlement", EntryKind.TYPE: "Type",
    EntryKind.ADMIN: "Administration",
}
SEARCH_LIMIT = 50
MAX_CREDIT = 1_000_000_000
MAX_RATE = 100_000.0


class FormFault(Exception):
    """A form field the console refuses before any call (422, the field named)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def _who() -> str | Response:
    """The operator's signature for the journal, or the answer to give instead
    (a client session 403, no live operator session 401, a wrong CSRF 403)."""
    if session.get("role") == "client":
        return await page("refus.html", 403)
    if await session_state("operateur") != "ok":
        return await page("operateur_connexion.html", 401,
                          erreur="Votre session a expiré : reconnectez-vous.")
    if not await check_csrf():
        return await page("refus.html", 403, message=csrf_refusal().message)
    name = session.get("nom")
    who = f" « {name} »" if isinstance(name, str) and name else ""
    return f"{BY_CONSOLE}{who} depuis {source()}"


async def _viewer() -> Response | None:
    """None when an operator is logged in; otherwise the answer to give."""
    if session.get("role") == "client":
        return await page("refus.html", 403)
    if await session_state("operateur") != "ok":
        return redirect("/operateur")  # type: ignore[return-value]
    return None


def _int(form: Any, name: str, low: int, high: int) -> int:
    raw = (form.get(name) or "").strip()
    if not raw.isdigit() or len(raw) > 12 or not low <= int(raw) <= high:
        raise FormFault(name, f"Saisissez un nombre entier de {low} à {high}.")
    return int(raw)


def _rate(form: Any) -> float:
    raw = (form.get("debitMax") or "").strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_RATE:
        raise FormFault("debitMax", "Saisissez un débit positif, au plus 100000 messages par seconde.")
    return value


def _type(form: Any) -> AccountType:
    raw = form.get("type") or ""
    if raw not in (t.value for t in AccountType):
        raise FormFault("type", "Choisissez PREPAYE ou POSTPAYE.")
    return AccountType(raw)


def _password(form: Any) -> str:
    value = form.get("motDePasse") or ""
    if not 8 <= len(value) <= 200:
        raise FormFault("motDePasse", "Le mot de passe compte de 8 à 200 caractères.")
    return value


def _journal_row(row: Any) -> dict[str, Any]:
    entry = row.entry
    return {"date": row.at, "nature": NATURES.get(entry.kind, entry.kind.value),
            "action": entry.kind is EntryKind.ADMIN, "montant": entry.amount,
            "detail": entry.detail}


async def _account_page(account_id: AccountId, status: int = 200, **context: Any) -> Response:
    gw = gateway()
    view: AccountView = await gw.account(account_id)
    invoices: list[InvoiceRow] = await gw.invoices(account_id)
    entries = await gw.latest_entries(account_id, 30)
    return await page(
        "operateur_compte.html", status,
        compte=views.account(view),
        factures=[views.invoice(i) for i in invoices],
        journal=[_journal_row(r) for r in entries],
        fait=DONE.get(request.args.get("fait", "")),
        **context,
    )


async def _refused(account_id: AccountId, exc: GatewayError | FormFault) -> Response:
    if isinstance(exc, FormFault):
        return await _account_page(account_id, 422, erreur=exc.message, champ=exc.field)
    if exc.code == "COMPTE_INCONNU":
        return await page("refus.html", 404, message=exc.message)
    return await _account_page(account_id, status_of(exc), erreur=exc.message)


def _done(account_id: int, what: str) -> Response:
    return redirect(f"/operateur/comptes/{account_id}?fait={what}", 303)  # type: ignore[return-value]


@bp.get("")
@bp.get("/")
@operation(
    "Comptes (console opérateur)",
    tag="Pages",
    description="Recherche (`q` : numéro, nom ou e-mail) et liste des comptes, 50 au plus.",
    responses=PAGE,
    security=Security.SESSION,
)
async def accounts() -> Response:
    refused = await _viewer()
    if refused is not None:
        return refused
    text = (request.args.get("q") or "")[:100]
    rows = await gateway().search_accounts(text, 0, SEARCH_LIMIT)
    return await page("operateur_comptes.html", q=text,
                      comptes=[views.account_row(r) for r in rows])


@bp.get("/nouveau")
@operation(
    "Nouveau compte (console opérateur)",
    tag="Pages",
    description="Formulaire de création d'un compte.",
    responses=PAGE,
    security=Security.SESSION,
)
async def new_account() -> Response:
    refused = await _viewer()
    if refused is not None:
        return refused
    return await page("operateur_compte_nouveau.html", valeurs={"type": "PREPAYE", "debitMax": "100"})


@bp.post("")
@bp.post("/")
@operation(
    "Créer un compte (console opérateur)",
    tag="Pages",
    description="Formulaire `nom`, `type`, `solde` (prépayé), `email`, `motDePasse`, `debitMax` ; "
    "CSRF requis. La réponse montre la première clé API, une seule fois.",
    responses={201: Answer("Compte créé, sa clé montrée une fois.", None, media_type="text/html"),
               **ACTION},
    security=Security.SESSION,
)
async def create() -> Response:
    who = await _who()
    if isinstance(who, Response):
        return who
    form = await request.form
    values = {name: form.get(name, "") for name in ("nom", "type", "solde", "email", "debitMax")}
    try:
        nom = (form.get("nom") or "").strip()
        if not 1 <= len(nom) <= 100:
            raise FormFault("nom", "Le nom compte de 1 à 100 caractères.")
        type_ = _type(form)
        solde = _int(form, "solde", 0, MAX_CREDIT) if (form.get("solde") or "").strip() else 0
        email = (form.get("email") or "").strip() or None
        if email is not None and ("@" not in email or len(email) > 254 or " " in email):
            raise FormFault("email", "Saisissez une adresse e-mail valide.")
        password = _password(form) if form.get("motDePasse") else None
        rate = _rate(form) if (form.get("debitMax") or "").strip() else 100.0
        account_id, key = await gateway().create_account(
            nom=nom, type=type_, solde=solde, email=email, mot_de_passe=password, debit_max=rate,
            by=who,
        )
    except (FormFault, GatewayError) as exc:
        field = exc.field if isinstance(exc, FormFault) else None
        status = 422 if isinstance(exc, FormFault) else status_of(exc)
        return await page("operateur_compte_nouveau.html", status, erreur=exc.message, champ=field,
                          valeurs=values)
    view = await gateway().account(account_id)
    return await page("operateur_compte_cree.html", 201, compte=views.account(view),
                      cle=views.key(key))


@bp.get("/<int:account_id>")
@operation(
    "Un compte (console opérateur)",
    tag="Pages",
    description="Le compte, ses actions (crédit, type, débit, mot de passe, factures) et les "
    "dernières écritures de son journal.",
    responses={**PAGE, 404: Answer("Compte inconnu.", None, media_type="text/html")},
    security=Security.SESSION,
)
async def account(account_id: int) -> Response:
    refused = await _viewer()
    if refused is not None:
        return refused
    try:
        return await _account_page(AccountId(account_id))
    except GatewayError as exc:
        return await page("refus.html", status_of(exc), message=exc.message)


async def _act(account_id: int, what: str, run: Any) -> Response:
    """Run one action on the account for the logged-in operator: `run(form,
    account, who)` does it, the engine writing it in the account's journal as
    made by `who`."""
    who = await _who()
    if isinstance(who, Response):
        return who
    target = AccountId(account_id)
    try:
        await gateway().require_account(target)
        await run(await request.form, target, who)
    except (FormFault, GatewayError) as exc:
        return await _refused(target, exc)
    return _done(account_id, what)


@bp.post("/<int:account_id>/credit")
@operation("Créditer (console opérateur)", tag="Pages",
           description="Formulaire `montant` (entier > 0) ; comptes prépayés ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def credit(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        await gateway().top_up(target, _int(form, "montant", 1, MAX_CREDIT), by=who)

    return await _act(account_id, "credit", run)


@bp.post("/<int:account_id>/type")
@operation("Changer le type (console opérateur)", tag="Pages",
           description="Formulaire `type` (PREPAYE ou POSTPAYE) ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def change_type(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        await gateway().change_type(target, _type(form), by=who)

    return await _act(account_id, "type", run)


@bp.post("/<int:account_id>/debit")
@operation("Changer le débit (console opérateur)", tag="Pages",
           description="Formulaire `debitMax` (messages par seconde) ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def change_rate(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        await gateway().set_rate(target, _rate(form), by=who)

    return await _act(account_id, "debit", run)


@bp.post("/<int:account_id>/mot-de-passe")
@operation("Réinitialiser le mot de passe (console opérateur)", tag="Pages",
           description="Formulaire `motDePasse` (8 à 200 caractères) : le nouveau mot de passe de "
           "l'espace client ; toutes ses sessions sont fermées ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def reset_password(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        await gateway().reset_password(target, _password(form), by=who)

    return await _act(account_id, "mot-de-passe", run)


@bp.post("/<int:account_id>/factures")
@operation("Clore la période (console opérateur)", tag="Pages",
           description="La consommation postpayée de la période devient une facture ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def close_period(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        await gateway().close_invoice(target, by=who)

    return await _act(account_id, "facture", run)


@bp.post("/<int:account_id>/factures/<int:invoice_id>/reglement")
@operation("Régler une facture (console opérateur)", tag="Pages",
           description="Marque la facture du compte réglée ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def settle(account_id: int, invoice_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        invoices = await gateway().invoices(target)
        if not any(i.id == invoice_id for i in invoices):
            raise FormFault("facture", "Ce compte n'a pas de facture de ce numéro.")
        await gateway().settle_invoice(invoice_id, by=who)

    return await _act(account_id, "reglement", run)


@bp.post("/<int:account_id>/suspension")
@operation("Suspendre ou réactiver (console opérateur)", tag="Pages",
           description="Formulaire `actif` (`non` : suspendu, tout envoi refusé 403 "
           "COMPTE_SUSPENDU, campagnes SUSPENDUE ; `oui` : réactivé) ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def suspension(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        choice = form.get("actif")
        if choice not in ("oui", "non"):
            raise FormFault("actif", "Choisissez oui (actif) ou non (suspendu).")
        if choice == "non":
            await gateway().suspend_account(target, by=who)
        else:
            await gateway().reactivate_account(target, by=who)

    choice = (await request.form).get("actif")
    return await _act(account_id, "suspendu" if choice == "non" else "reactive", run)


@bp.post("/<int:account_id>/emetteurs")
@operation("Émetteurs autorisés (console opérateur)", tag="Pages",
           description="Formulaire `emetteurs`, un nom par ligne (vide : tout émetteur valide) ; "
           "un autre émetteur est refusé 422 EMETTEUR_NON_AUTORISE ; CSRF requis.",
           responses=ACTION, security=Security.SESSION)
async def senders(account_id: int) -> Response:
    async def run(form: Any, target: AccountId, who: str) -> None:
        names = [line.strip() for line in (form.get("emetteurs") or "").splitlines() if line.strip()]
        await gateway().set_senders(target, names, by=who)

    return await _act(account_id, "emetteurs", run)
