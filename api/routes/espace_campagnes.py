"""Campaigns (MULDESP) from the client space, /espace/campagnes.

Server-rendered pages behind the client session. The form takes what
`POST /api/V1/sms/muldesp` takes (sender, body, numbers pasted or from a CSV
file, dates, daily quota, interval); "Voir le plan" shows the calendar the
campaign would follow if accepted now (`Gateway.preview_campaign`: nothing is
recorded, nothing reserved) with a confirmation form carrying the same fields;
"Confirmer" runs the send intake every door runs (api/intake.py) with the
session's account as the caller, then shows the campaign: its state, progress,
its plan (`Gateway.campaign_plan`) and, while it is live, a cancel button.

Every post carries the session's CSRF token. A refusal re-renders the form with
the contract's message and the fields it names, and the status the API would
answer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, redirect, request

from api import views
from api.deps import gateway, send_intake, settings
from api.errors import ApiError, refusal
from api.http import VALIDATION_MESSAGE, valid
from api.intake import SendRequest, SessionAccount
from api.openapi import Answer, Security, operation
from api.routes.espace import (
    PAGE_ANSWERS,
    check_csrf,
    client_or_login,
    csrf_refusal,
    numbers_from_text,
    page,
    posted_answers,
    refuse_unstorable_form,
)
from engine.errors import GatewayError
from engine.model import (
    AccountId,
    CampaignPlan,
    CampaignRequest,
    PlannedSlot,
    SendRef,
    SendType,
    format_ref,
    parse_ref,
)

bp = Blueprint("espace_campagnes", __name__, url_prefix="/espace/campagnes")

bp.before_request(refuse_unstorable_form)

FIELDS = ("emetteur", "corps", "numeros", "dateDebut", "dateFin", "nbParJour", "intervalleMinutes")
INTEGERS = ("nbParJour", "intervalleMinutes")
SHOWN_SLOTS = 60
LIVE = ("PLANIFIEE", "EN_COURS", "SUSPENDUE")
PAGE = PAGE_ANSWERS
POSTED = posted_answers("Vers la page de la campagne.", {
    409: "Refusé (par exemple CAMPAGNE_TERMINEE).",
    413: "Trop de numéros (TROP_DE_DESTINATAIRES).",
    422: "Champs invalides : la page les nomme.",
})


_account = client_or_login


async def _form() -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the MULDESP body (integers where the form holds digits, else
    the text, which validation then names) and the raw values to show again."""
    form = await request.form
    raw = {name: form.get(name, "") for name in FIELDS}
    numbers = numbers_from_text(raw["numeros"])
    upload = (await request.files).get("fichier")
    if upload is not None and upload.filename:
        data = upload.read()
        try:
            numbers += numbers_from_text(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            numbers += numbers_from_text(data.decode("latin-1"))
    raw["numeros"] = "\n".join(numbers)
    body: dict[str, Any] = {name: raw[name].strip() for name in ("emetteur", "dateDebut", "dateFin")}
    body["corps"] = raw["corps"]
    body["numeros"] = numbers
    for name in INTEGERS:
        text = raw[name].strip()
        body[name] = int(text) if text.isdigit() and len(text) < 12 else text
    return body, raw


def _check(body: dict[str, Any]) -> Any:
    """What the intake checks before the engine: the count, then the documented
    body (api/models); the body read by its model."""
    limit = settings().gateway.max_recipients
    if len(body["numeros"]) > limit:
        raise ApiError(413, "TROP_DE_DESTINATAIRES",
                       f"Un envoi accepte au plus {limit} numéros (reçu : {len(body['numeros'])}).")
    try:
        return valid(send_intake().bodies[SendType.MULDESP], body)
    except ApiError as refused:
        if body["numeros"]:
            raise
        details = [d for d in refused.details if d.get("champ") != "numeros"]
        details.append({"champ": "numeros", "message": "Saisissez au moins un numéro ou joignez "
                        "un fichier CSV."})
        raise ApiError(422, "VALIDATION", VALIDATION_MESSAGE, details) from None


def _slot(slot: PlannedSlot, zone: ZoneInfo) -> dict[str, Any]:
    local = slot.at.astimezone(zone)
    return {"jour": local.strftime("%d/%m/%Y"), "heure": local.strftime("%H:%M"),
            "nombre": slot.count, "fait": slot.done, "lances": slot.released}


def _preview(p: CampaignPlan, draft: Any) -> dict[str, Any]:
    """The preview's figures: the plan's slots (the first `SHOWN_SLOTS`) and
    counts, and what the draft left out (invalid numbers, duplicates, opt-outs)."""
    row = p.row
    zone = ZoneInfo(row.fuseau)
    slots = [s for s in p.slots if not s.done]
    return {
        "creneaux": [_slot(s, zone) for s in slots[:SHOWN_SLOTS]],
        "nbCreneaux": p.upcoming_total,
        "plusDeCreneaux": max(0, p.upcoming_total - SHOWN_SLOTS),
        "premier": _slot(slots[0], zone) if slots else None,
        "dernier": _slot(slots[-1], zone) if slots and not p.truncated else None,
        "destinataires": row.total,
        "invalides": len(draft.invalid),
        "doublons": draft.doublons,
        "desinscrits": max(0, len(draft.valid) - row.total),
        "nonPlanifies": p.unplanned,
        "segments": row.segments,
        "credits": row.total * row.segments,
        "fuseau": row.fuseau,
        "fenetre": f"{row.fenetre_debut}-{row.fenetre_fin}",
        "avertissements": list(draft.avertissements),
    }


async def _campaigns(account_id: AccountId) -> list[dict[str, Any]]:
    rows = await gateway().sends_page(account_id, before=None, type=SendType.MULDESP.value,
                                      statut=None, since=None, until=None, limit=20)
    return [views.send(v) for v in rows]


async def _form_page(account_id: AccountId, status: int = 200, **context: Any) -> Response:
    view = await gateway().account(account_id)
    today = gateway().now().astimezone(ZoneInfo(settings().gateway.timezone)).date().isoformat()
    values = context.pop("valeurs", None) or {
        "dateDebut": today, "dateFin": today, "nbParJour": "1000", "intervalleMinutes": "30"}
    return await page(
        "espace_campagnes.html", status, compte=views.account(view), valeurs=values,
        campagnes=await _campaigns(account_id), max_numeros=settings().gateway.max_recipients,
        fenetre=f"{settings().campaigns.window_start}-{settings().campaigns.window_end}",
        fuseau=settings().gateway.timezone, onglet="campagnes", **context)


async def _posted() -> tuple[AccountId, dict[str, Any], dict[str, str]] | Response:
    """A campaign form post: its account (401 page when the session is gone, CSRF
    checked), the body as read and the raw fields to show again."""
    account_id = await _account()
    if isinstance(account_id, Response):
        return await page("espace_connexion.html", 401, notice="Votre session a expiré : reconnectez-vous.")
    if not await check_csrf():
        raise csrf_refusal()
    body, raw = await _form()
    return account_id, body, raw


async def _refused(account_id: AccountId, exc: ApiError | GatewayError, raw: dict[str, str]) -> Response:
    error = exc if isinstance(exc, ApiError) else refusal(exc)
    return await _form_page(account_id, error.status, erreur=error.message, details=error.details,
                            valeurs=raw)


@bp.get("")
@bp.get("/")
@operation(
    "Campagnes (espace client)",
    tag="Pages",
    description="Formulaire MULDESP (aperçu du calendrier avant confirmation) et les "
    "campagnes du compte.",
    responses=PAGE,
    security=Security.SESSION,
)
async def campaigns() -> Response:
    account_id = await _account()
    if isinstance(account_id, Response):
        return account_id
    return await _form_page(account_id)


@bp.post("/apercu")
@operation(
    "Aperçu d'une campagne (espace client)",
    tag="Pages",
    description="Le calendrier que suivrait la campagne si elle était acceptée maintenant ; "
    "rien n'est enregistré ni réservé. Champs de POST /api/V1/sms/muldesp (numéros collés, un "
    "par ligne, ou fichier CSV `fichier`) ; CSRF requis.",
    responses={**PAGE, **POSTED},
    security=Security.SESSION,
)
async def preview() -> Response:
    posted = await _posted()
    if isinstance(posted, Response):
        return posted
    account_id, body, raw = posted
    try:
        checked = _check(body)
        gw = gateway()
        draft = gw.prepare(SendType.MULDESP, checked.emetteur, checked.numeros, checked.corps)
        plan = await gw.preview_campaign(account_id, draft, _calendar(checked))
    except (ApiError, GatewayError) as exc:
        return await _refused(account_id, exc, raw)
    return await _form_page(account_id, apercu=_preview(plan, draft), valeurs=raw)


def _calendar(body: Any) -> CampaignRequest:
    """The calendar of a MULDESP body its model has read."""
    return CampaignRequest(
        date_debut=date.fromisoformat(body.dateDebut),
        date_fin=date.fromisoformat(body.dateFin),
        nb_par_jour=body.nbParJour,
        intervalle_minutes=body.intervalleMinutes,
    )


@bp.post("")
@bp.post("/")
@operation(
    "Confirmer une campagne (espace client)",
    tag="Pages",
    description="Enregistre la campagne comme POST /api/V1/sms/muldesp, puis montre sa page ; "
    "CSRF requis.",
    responses=POSTED,
    security=Security.SESSION,
)
async def confirm() -> Response:
    posted = await _posted()
    if isinstance(posted, Response):
        return posted
    account_id, body, raw = posted
    try:
        _check(body)
        answer = await send_intake().accept(
            SendRequest(SendType.MULDESP, body, SessionAccount(account_id), request.path))
    except (ApiError, GatewayError) as exc:
        return await _refused(account_id, exc, raw)
    return redirect(f"/espace/campagnes/{answer['ref']}?fait=creee", 303)  # type: ignore[return-value]


def _ref(text: str) -> SendRef:
    parsed = parse_ref(text)
    if parsed is None:
        raise ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")
    return parsed


@bp.get("/<ref>")
@operation(
    "Une campagne (espace client)",
    tag="Pages",
    description="État, progression et calendrier d'une campagne ; annulation tant qu'elle vit.",
    responses={**PAGE, 404: Answer("Pas une campagne du compte.", None, media_type="text/html")},
    security=Security.SESSION,
)
async def campaign(ref: str) -> Response:
    account_id = await _account()
    if isinstance(account_id, Response):
        return account_id
    gw = gateway()
    try:
        parsed = _ref(ref)
        send = views.send(await gw.send_view(account_id, parsed))
        plan = await gw.campaign_plan(account_id, parsed)
    except (ApiError, GatewayError) as exc:
        error = exc if isinstance(exc, ApiError) else refusal(exc)
        return await _form_page(account_id, error.status, erreur=error.message)
    zone = ZoneInfo(plan.row.fuseau)
    done = [_slot(s, zone) for s in plan.slots if s.done]
    upcoming = [_slot(s, zone) for s in plan.slots if not s.done]
    following = send.get("prochainCreneau")
    next_at = (datetime.fromisoformat(following.replace("Z", "+00:00")).astimezone(zone)
               .strftime("%d/%m/%Y %H:%M") if following else None)
    view = await gw.account(account_id)
    notices = {"creee": "Campagne enregistrée.", "annulee": "Campagne annulée."}
    return await page(
        "espace_campagne.html", compte=views.account(view), envoi=send,
        etat=plan.etat.value, vivante=plan.etat.value in LIVE,
        effectues=done[-SHOWN_SLOTS:], a_venir=upcoming[:SHOWN_SLOTS],
        plus_a_venir=max(0, plan.upcoming_total - SHOWN_SLOTS), non_planifies=plan.unplanned,
        fuseau=plan.row.fuseau, fenetre=f"{plan.row.fenetre_debut}-{plan.row.fenetre_fin}",
        prochain=next_at, fait=notices.get(request.args.get("fait", "")), onglet="campagnes",
        annules=request.args.get("annules"),
    )


@bp.post("/<ref>/annulation")
@operation(
    "Annuler une campagne (espace client)",
    tag="Pages",
    description="Comme DELETE /api/V1/sms/{ref} : les destinataires pas encore lancés passent "
    "ECHEC / ANNULE ; CSRF requis.",
    responses=POSTED,
    security=Security.SESSION,
)
async def cancel(ref: str) -> Response:
    account_id = await _account()
    if isinstance(account_id, Response):
        return await page("espace_connexion.html", 401, notice="Votre session a expiré : reconnectez-vous.")
    if not await check_csrf():
        raise csrf_refusal()
    try:
        parsed = _ref(ref)
        count = await gateway().cancel_campaign(account_id, parsed)
    except (ApiError, GatewayError) as exc:
        error = exc if isinstance(exc, ApiError) else refusal(exc)
        return await _form_page(account_id, error.status, erreur=error.message)
    return redirect(  # type: ignore[return-value]
        f"/espace/campagnes/{format_ref(parsed)}?fait=annulee&annules={count}", 303)
