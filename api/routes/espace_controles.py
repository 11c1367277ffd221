"""The client space's account controls: API keys and the opt-out list,
/espace/cles and /espace/desinscrits.

Server-rendered pages behind the client session, each action a form post with
the session's CSRF token, calling the facade as the API does (contract section
12):
- keys: the live keys (name, first 8 characters, creation, expiry, last use),
  a new named key with an optional validity in days, shown once on the answer
  to its creation, and revocation (refused by the API from the next request on);
  a key expiring within `EXPIRY_NOTICE_DAYS` is announced here and on the
  dashboard;
- the opt-out list: its numbers (by cursor), numbers added (pasted, or from a
  CSV file: in each row, the first cell holding a digit) and removed. A
  recipient on the list ends ECHEC / DESINSCRIT and is not charged.
A refusal re-renders the page with the contract's message and status.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, redirect, request, session

from api import views
from api.deps import gateway
from api.errors import ApiError, refusal
from api.openapi import Answer, Security, operation
from api.routes.espace import (
    EXPIRY_NOTICE_DAYS,
    PAGE_ANSWERS,
    check_csrf,
    client_or_login,
    csrf_refusal,
    expiring,
    keep_session_current,
    live_keys,
    numbers_from_text,
    page,
    posted_answers,
    refuse_unstorable_form,
    session_state,
)
from engine.errors import GatewayError
from engine.gateway import MAX_KEYS
from engine.model import AccountId

bp = Blueprint("espace_controles", __name__, url_prefix="/espace")

bp.before_request(refuse_unstorable_form)

OPT_OUT_PAGE = 100
MAX_VALIDITY_DAYS = 3650
PAGE = PAGE_ANSWERS
POSTED = posted_answers("Fait : vers la page, qui le dit.", {
    404: "Clé ou numéro inconnus.",
    409: "Trop de clés actives (TROP_DE_CLES).",
    422: "Champ invalide : la page le nomme.",
})
DONE = {
    "revoquee": "Clé révoquée : elle est refusée dès maintenant.",
    "ajoutes": "Numéros ajoutés à la liste.",
    "retire": "Numéro retiré de la liste.",
}


_account = client_or_login


async def _acting() -> AccountId | Response:
    """The session's account for an action (401 page without one, 403 on a bad CSRF token)."""
    if await session_state("client") != "ok":
        return await page("espace_connexion.html", 401,
                          notice="Votre session a expiré : reconnectez-vous.")
    if not await check_csrf():
        raise csrf_refusal()
    return AccountId(int(session["compte"]))


async def _keys_page(account_id: AccountId, status: int = 200, **context: Any) -> Response:
    gw = gateway()
    keys = await live_keys(account_id)
    compte = views.account(await gw.account(account_id))
    return await page(
        "espace_cles.html", status, compte=compte, cles=keys, maximum=MAX_KEYS,
        bientot=expiring(keys, gw.now()), jours_avis=EXPIRY_NOTICE_DAYS, onglet="cles",
        fait=DONE.get(request.args.get("fait", "")), **context)


def _error(exc: ApiError | GatewayError) -> ApiError:
    return exc if isinstance(exc, ApiError) else refusal(exc)


@bp.get("/cles")
@operation("Clés API (espace client)", tag="Pages",
           description="Les clés actives du compte, une nouvelle clé nommée, la révocation ; "
           f"avis des clés qui expirent dans les {EXPIRY_NOTICE_DAYS} jours.",
           responses=PAGE, security=Security.SESSION)
async def keys_page() -> Response:
    account_id = await _account()
    if isinstance(account_id, Response):
        return account_id
    return await _keys_page(account_id)


@bp.post("/cles")
@operation("Créer une clé API (espace client)", tag="Pages",
           description="Formulaire `nom` (1 à 100 caractères) et `expirationJours` (facultatif, "
           f"1 à {MAX_VALIDITY_DAYS}) ; la clé est montrée une seule fois ; CSRF requis.",
           responses={201: Answer("La clé créée, montrée une fois.", None, media_type="text/html"),
                      **POSTED},
           security=Security.SESSION)
async def create_key() -> Response:
    account_id = await _acting()
    if isinstance(account_id, Response):
        return account_id
    form = await request.form
    name = " ".join((form.get("nom") or "").split())
    days_text = (form.get("expirationJours") or "").strip()
    try:
        if not 1 <= len(name) <= 100:
            raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                           [{"champ": "nom", "message": "Donnez à la clé un nom de 1 à 100 caractères."}])
        days = None
        if days_text:
            if not days_text.isdigit() or not 1 <= int(days_text) <= MAX_VALIDITY_DAYS:
                raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                               [{"champ": "expirationJours",
                                 "message": f"Un nombre de jours de 1 à {MAX_VALIDITY_DAYS}."}])
            days = int(days_text)
        created = await gateway().create_key(account_id, name, days)
    except (ApiError, GatewayError) as exc:
        error = _error(exc)
        return await _keys_page(account_id, error.status, erreur=error.message,
                                details=error.details, valeurs={"nom": name, "expirationJours": days_text})
    await keep_session_current()
    return await _keys_page(account_id, 201, nouvelle=views.created_key(created))


@bp.post("/cles/<int:key_id>/revocation")
@operation("Révoquer une clé API (espace client)", tag="Pages",
           description="La clé est refusée par l'API dès la requête suivante ; CSRF requis.",
           responses=POSTED, security=Security.SESSION)
async def revoke_key(key_id: int) -> Response:
    account_id = await _acting()
    if isinstance(account_id, Response):
        return account_id
    try:
        await gateway().revoke_key(account_id, key_id)
    except GatewayError as exc:
        error = _error(exc)
        return await _keys_page(account_id, error.status, erreur=error.message)
    await keep_session_current()
    return redirect("/espace/cles?fait=revoquee", 303)  # type: ignore[return-value]


async def _opt_outs_page(account_id: AccountId, status: int = 200, **context: Any) -> Response:
    raw = request.args.get("apres", "")
    after = int(raw) if raw.isdigit() and len(raw) < 18 else 0
    gw = gateway()
    rows = await gw.opt_outs_page(account_id, after, OPT_OUT_PAGE + 1)
    compte = views.account(await gw.account(account_id))
    return await page(
        "espace_desinscrits.html", status, compte=compte, onglet="desinscrits",
        desinscrits=[views.opt_out(r) for r in rows[:OPT_OUT_PAGE]],
        suivant=rows[OPT_OUT_PAGE - 1].id if len(rows) > OPT_OUT_PAGE else None,
        premier=after == 0, fait=DONE.get(request.args.get("fait", "")),
        ajoutes=request.args.get("n"), **context)


@bp.get("/desinscrits")
@operation("Désinscrits (espace client)", tag="Pages",
           description="La liste des numéros que le compte ne sert plus (`apres` : curseur), "
           "l'ajout (collés ou fichier CSV) et le retrait.",
           responses=PAGE, security=Security.SESSION)
async def opt_outs() -> Response:
    account_id = await _account()
    if isinstance(account_id, Response):
        return account_id
    return await _opt_outs_page(account_id)


@bp.post("/desinscrits")
@operation("Ajouter des désinscrits (espace client)", tag="Pages",
           description="Formulaire `numeros` (un par ligne) et/ou fichier CSV `fichier` (dans "
           "chaque ligne, la première cellule qui contient un chiffre) ; un numéro invalide "
           "refuse toute la liste ; CSRF requis.",
           responses=POSTED, security=Security.SESSION)
async def add_opt_outs() -> Response:
    account_id = await _acting()
    if isinstance(account_id, Response):
        return account_id
    form = await request.form
    numbers = numbers_from_text(form.get("numeros", ""))
    upload = (await request.files).get("fichier")
    if upload is not None and upload.filename:
        data = upload.read()
        try:
            numbers += numbers_from_text(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            numbers += numbers_from_text(data.decode("latin-1"))
    try:
        if not numbers:
            raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                           [{"champ": "numeros",
                             "message": "Saisissez au moins un numéro ou joignez un fichier CSV."}])
        added = await gateway().add_opt_outs(account_id, numbers, "ESPACE")
    except (ApiError, GatewayError) as exc:
        error = _error(exc)
        return await _opt_outs_page(account_id, error.status, erreur=error.message,
                                    details=error.details, valeurs={"numeros": form.get("numeros", "")})
    return redirect(f"/espace/desinscrits?fait=ajoutes&n={added}", 303)  # type: ignore[return-value]


@bp.post("/desinscrits/<numero>/retrait")
@operation("Retirer un désinscrit (espace client)", tag="Pages",
           description="Le numéro peut de nouveau recevoir les envois du compte ; CSRF requis.",
           responses=POSTED, security=Security.SESSION)
async def remove_opt_out(numero: str) -> Response:
    account_id = await _acting()
    if isinstance(account_id, Response):
        return account_id
    try:
        await gateway().remove_opt_out(account_id, numero)
    except GatewayError as exc:
        error = _error(exc)
        return await _opt_outs_page(account_id, error.status, erreur=error.message)
    return redirect("/espace/desinscrits?fait=retire", 303)  # type: ignore[return-value]
