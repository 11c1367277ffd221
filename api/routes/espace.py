"""The client space, /espace (seed 3.1 and 3.2): log in, watch the account, manage
the API key, send without a key, follow the sends, read the invoices.

Sessions are Quart's signed cookies (HttpOnly, SameSite=Lax, browser-session
lifetime). The signing secret is derived with HMAC-SHA256 from the admin token
(`session_secret`), so it needs no extra file and changes when the token does
(which logs every session out). A session holds the role (`client` or
`operateur`), the account id, the login time, the last activity and a CSRF
token; it expires after `IDLE_S` without a request or `MAX_S` after login.
Every POST carries that CSRF token (form field `csrf` or `X-CSRF-Token` header).
A session also carries a generation, checked against the store on every request
(engine/gateway/access.py): logging out, a new password or a new API key moves
the account's generation on and so ends all its sessions, on every node and
after a restart, though a copy of the cookie would still be correctly signed;
the session that changed the password or the key takes the new generation.
Form posts holding a NUL, or not UTF-8, are refused before any view reads them.

The send form runs the same send intake as the API (api/intake.py): the form's
fields become the JSON fields of UNIDES or MULDES, the session's account is the
caller, and its answer is the API's 202 body.

Pages are HTML; the data the pages poll (`/espace/donnees/*`) and the actions
they post answer JSON, refusals in the contract's error envelope. Every query is
scoped to the session's account. The page scripts and styles are served from
`api/static/` (no third-party host, and a Content-Security-Policy says so).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from quart import Blueprint, Response, current_app, redirect, render_template, request, session
from quart.blueprints import BlueprintSetupState

from api import views
from api.charts import daily_bars
from api.deps import gateway, send_intake, settings
from api.errors import ApiError, status_of
from api.http import jsonify_status, valid
from api.intake import ACCEPTED, SendRequest, SessionAccount
from api.models import answers
from api.models.requests import ChangePassword
from api.models.text import unstorable
from api.openapi import Answer, Security, operation
from config import logs
from engine.errors import GatewayError
from engine.model import AccountId, SendType, format_ref, iso, parse_ref

bp = Blueprint("espace", __name__, url_prefix="/espace")

IDLE_S = 30 * 60
MAX_S = 12 * 3600
PAGE_SIZE = 10
CHART_DAYS = 30
"""Days the postpaid consumption chart of the dashboard shows."""
EXPIRY_NOTICE_DAYS = 30
"""A key expiring within this many days is announced (dashboard, keys page)."""
STATUTS = ("EN_ATTENTE", "ENVOYE", "ECHEC")
FORM_POSTED = {
    303: Answer("Redirection vers la page suivante.", None, media_type="text/html"),
    403: Answer("Jeton CSRF absent ou faux.", None, media_type="text/html"),
}
"""The answers of a page's form post (login, logout): its next page, or a refusal."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def session_secret(admin_token: str) -> str:
    """The key that signs session cookies, derived from the admin token."""
    return hmac.new(admin_token.encode(), b"smsgw/session-cookie/v1", hashlib.sha256).hexdigest()


@bp.record_once
def _configure_sessions(state: BlueprintSetupState) -> None:
    app = state.app
    app.secret_key = session_secret(app.extensions["admin_token"])
    app.config.update(
        SESSION_COOKIE_NAME="smsgw_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=MAX_S,
    )


# -- sessions and CSRF, shared with the operator console ------------------------------


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_unstorable_form() -> None:
    """Every form post of the pages (client space and operator console): 400
    FORMULAIRE_INVALIDE when its body is not UTF-8, 422 VALIDATION naming each
    field that holds a character no database can store (NUL), before any view
    reads it."""
    if request.method != "POST" or request.mimetype not in FORM_TYPES:
        return
    unreadable = ApiError(
        400, "FORMULAIRE_INVALIDE", "Le formulaire n'est pas lisible (UTF-8 attendu)."
    )
    if request.mimetype == FORM_TYPES[0]:
        try:
            (await request.get_data(True, False, False)).decode("utf-8")
        except UnicodeDecodeError:
            raise unreadable from None
    try:
        form = await request.form
    except (UnicodeDecodeError, ValueError):
        raise unreadable from None
    details: list[dict[str, str]] = []
    for name, value in form.items(multi=True):
        details += unstorable(value, name if isinstance(name, str) else "formulaire")
        details += unstorable(name, "formulaire")
    if details:
        raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.", details)


async def check_csrf() -> bool:
    """True when the request carries the session's CSRF token."""
    expected = session.get("csrf")
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.mimetype in FORM_TYPES:
        given = (await request.form).get("csrf")
    return isinstance(expected, str) and isinstance(given, str) and hmac.compare_digest(
        given.encode(), expected.encode()
    )


def csrf_refusal() -> ApiError:
    return ApiError(
        403,
        "CSRF_INVALIDE",
        "Jeton anti-falsification (CSRF) manquant ou invalide : rechargez la page et recommencez.",
    )


def open_session(role: str, account_id: int | None = None, *, generation: int | str) -> None:
    """Start a fresh session (a new CSRF token) for `role`, carrying the
    generation it is valid for (the account's, or the operator console's)."""
    session.clear()
    now = int(time.time())
    session.update(role=role, debut=now, vu=now, csrf=secrets.token_urlsafe(32), gen=generation)
    if account_id is not None:
        session["compte"] = account_id


async def close_session(then: str) -> Response:
    """Log out (a CSRF-checked post) and redirect to `then`. A live session ends
    with every other session of its account (or, at the operator console, every
    operator session), on every node: a copy of its cookie is refused from now on."""
    if not await check_csrf():
        raise csrf_refusal()
    role = session.get("role")
    if role == "client" and await session_state("client") == "ok":
        await gateway().end_sessions(AccountId(int(session["compte"])))
    elif role == "operateur" and await session_state("operateur") == "ok":
        await gateway().end_operator_sessions()
    session.clear()
    return redirect(then, 303)  # type: ignore[return-value]


async def session_state(role: str) -> str:
    """`ok`, `expiree` (it existed but is too old, or was ended: logout, new
    password, new key) or `absente`; refreshes activity. Reads the generation
    in the store on every call, so an ended session is refused by every node."""
    if session.get("role") != role:
        return "absente"
    now = int(time.time())
    debut, vu = session.get("debut"), session.get("vu")
    if not isinstance(debut, int) or not isinstance(vu, int) or now - debut > MAX_S or now - vu > IDLE_S:
        session.clear()
        return "expiree"
    if session.get("gen") != await _current_generation(role):
        session.clear()
        return "expiree"
    if now - vu >= 60:
        session["vu"] = now
    return "ok"


async def _current_generation(role: str) -> int | str | None:
    if role == "operateur":
        return await gateway().operator_epoch()
    account = session.get("compte")
    if not isinstance(account, int):
        return None
    return await gateway().session_generation(AccountId(account))


async def _generation_of(account_id: AccountId) -> int:
    generation = await gateway().session_generation(account_id)
    return generation or 0


async def keep_session_current() -> None:
    """After this session's own change of password or key ended every session
    of its account, let this one go on (the others stay ended)."""
    session["gen"] = await gateway().session_generation(AccountId(int(session["compte"])))


def secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


PAGE_ANSWERS = {
    200: Answer("La page.", None, media_type="text/html"),
    302: Answer("Non connecté : vers /espace/connexion.", None, media_type="text/html"),
}
"""What a client-space page answers."""


def posted_answers(done: str, more: dict[int, str]) -> dict[int, Answer]:
    """What a client-space form post answers: `done` on 303, the session and CSRF
    refusals, and the `more` refusals by status."""
    answers = {
        303: Answer(done, None, media_type="text/html"),
        401: Answer("Sans session client.", None, media_type="text/html"),
        403: Answer("Jeton CSRF absent ou faux.", None, media_type="text/html"),
    }
    answers.update({code: Answer(text, None, media_type="text/html") for code, text in more.items()})
    return dict(sorted(answers.items()))


async def client_or_login() -> AccountId | Response:
    """The session's client account, or where to go instead (the login page)."""
    state = await session_state("client")
    if state != "ok":
        return redirect("/espace/connexion" + ("?expiree=1" if state == "expiree" else ""))  # type: ignore[return-value]
    return AccountId(int(session["compte"]))


async def page(template: str, status: int = 200, **context: Any) -> Response:
    html = await render_template(template, csrf=csrf_token(), **context)
    return secured(Response(html, status=status, mimetype="text/html"))


def source() -> str:
    return request.headers.get("X-Forwarded-For", "").split(",")[0].strip() or (
        request.remote_addr or "inconnue"
    )


# -- pages ------------------------------------------------------------------------------


async def _client() -> AccountId:
    """The session's account, or 401 (JSON) for the polled data and the actions."""
    state = await session_state("client")
    if state == "ok":
        account_id = AccountId(int(session["compte"]))
        logs.bind(account=account_id)
        return account_id
    if state == "expiree":
        raise ApiError(401, "SESSION_EXPIREE", "Votre session a expiré : reconnectez-vous.")
    raise ApiError(401, "NON_CONNECTE", "Connectez-vous à votre espace client.")


@bp.get("")
@bp.get("/")
@operation(
    "Espace client",
    tag="Pages",
    description="Tableau de bord : solde, clé API, envoi, historique (section 3.2 du guide).",
    responses={
        200: Answer("La page.", None, media_type="text/html"),
        302: Answer("Non connecté : vers /espace/connexion.", None, media_type="text/html"),
    },
    security=Security.SESSION,
)
async def home() -> Response:
    state = await session_state("client")
    if state != "ok":
        return redirect("/espace/connexion" + ("?expiree=1" if state == "expiree" else ""))  # type: ignore[return-value]
    account_id = AccountId(int(session["compte"]))
    view = await gateway().account(account_id)
    compte = views.account(view)
    keys = await live_keys(account_id)
    chart = None
    if compte["type"] == "POSTPAYE":
        chart = daily_bars(await gateway().consumption_by_day(account_id, CHART_DAYS))
    return await page(
        "espace.html",
        compte=compte,
        max_numeros=settings().gateway.max_recipients,
        consommation=chart,
        jours=CHART_DAYS,
        bientot=expiring(keys, gateway().now()),
    )


def expiring(keys: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The keys that expire within `EXPIRY_NOTICE_DAYS` of `now`, soonest first."""
    limit = iso(now + timedelta(days=EXPIRY_NOTICE_DAYS))
    return sorted((k for k in keys if k["expiration"] <= limit), key=lambda k: k["expiration"])


async def live_keys(account_id: AccountId) -> list[dict[str, Any]]:
    """The account's live keys as listed (never the key itself)."""
    return [views.key_view(k) for k in await gateway().list_keys(account_id)]


@bp.get("/connexion")
@operation(
    "Connexion à l'espace client",
    tag="Pages",
    description="Formulaire d'identifiant (numéro de compte ou e-mail) et de mot de passe.",
    responses={200: Answer("La page.", None, media_type="text/html"),},
    security=Security.PUBLIC,
)
async def login_page() -> Response:
    if await session_state("client") == "ok":
        return redirect("/espace")  # type: ignore[return-value]
    notice = "Votre session a expiré : reconnectez-vous." if request.args.get("expiree") else None
    return await page("espace_connexion.html", notice=notice)


@bp.post("/connexion")
@operation(
    "Se connecter (espace client)",
    tag="Pages",
    description="Ouvre la session ; 429 après trop d'échecs.",
    responses=FORM_POSTED,
    security=Security.SESSION,
)
async def login() -> Response:
    if not await check_csrf():
        return await page("espace_connexion.html", 403, erreur=csrf_refusal().message)
    form = await request.form
    identifiant = (form.get("identifiant") or "").strip()
    mot_de_passe = form.get("motDePasse") or ""
    if not identifiant or not mot_de_passe:
        return await page(
            "espace_connexion.html", 422, erreur="Saisissez votre identifiant et votre mot de passe.",
            identifiant=identifiant,
        )
    try:
        account_id = await gateway().login(identifiant, mot_de_passe, source())
    except GatewayError as exc:
        return await page(
            "espace_connexion.html", status_of(exc), erreur=exc.message, identifiant=identifiant
        )
    open_session("client", account_id, generation=await _generation_of(account_id))
    return redirect("/espace", 303)  # type: ignore[return-value]


@bp.post("/deconnexion")
@operation(
    "Se déconnecter (espace client)",
    tag="Pages",
    description="Ferme la session.",
    responses=FORM_POSTED,
    security=Security.SESSION,
)
async def logout() -> Response:
    return await close_session("/espace/connexion")


# -- data the page polls ----------------------------------------------------------------


@bp.get("/donnees/compte")
@operation(
    "Compte (espace client)",
    tag="Pages",
    description="Le compte de la session, comme GET /api/V1/compte.",
    responses={200: Answer("Les données.", answers.Compte)},
    security=Security.SESSION,
)
async def account_data() -> Response:
    view = await gateway().account(await _client())
    return secured(jsonify_status(views.account(view), 200))


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                       [{"champ": name, "message": f"Valeurs possibles : {', '.join(allowed)}."}])
    return value


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                       [{"champ": name, "message": "Doit être un entier positif."}])
    return int(raw)


@bp.get("/donnees/envois")
@operation(
    "Envois (espace client)",
    tag="Pages",
    description="Historique des envois de la session.",
    responses={200: Answer("Les données.", answers.Objet)},
    security=Security.SESSION,
)
async def sends_data() -> Response:
    account_id = await _client()
    type_ = _choice("type", tuple(t.value for t in SendType))
    statut = _choice("statut", STATUTS)
    before = _int_arg("avant", None)
    limit = min(_int_arg("limite", PAGE_SIZE) or PAGE_SIZE, 100)
    rows = await gateway().sends_page(account_id, before=before, type=type_, statut=statut,
                                      since=None, until=None, limit=limit + 1)
    body = {
        "envois": [views.send(v) for v in rows[:limit]],
        "suivant": format_ref(rows[limit - 1].ref) if len(rows) > limit else None,
    }
    return secured(jsonify_status(body, 200))


@bp.get("/donnees/envois/<ref>/messages")
@operation(
    "Destinataires d'un envoi (espace client)",
    tag="Pages",
    description="Détail par destinataire.",
    responses={200: Answer("Les données.", answers.Objet)},
    security=Security.SESSION,
)
async def messages_data(ref: str) -> Response:
    account_id = await _client()
    parsed = parse_ref(ref)
    if parsed is None:
        raise ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")
    statut = _choice("statut", STATUTS)
    after = _int_arg("apres", 0) or 0
    limit = min(_int_arg("limite", 50) or 50, 500)
    rows = await gateway().messages_page(account_id, parsed, statut=statut, after=after, limit=limit)
    body = {
        "messages": [
            {
                "destinataire": m.destinataire,
                "statut": m.statut,
                "raison": m.raison,
                "codeSmsc": m.code_smsc,
                "envoyeLe": m.envoye_le,
                "livraison": m.livraison,
                "livreLe": m.livre_le,
            }
            for m in rows
        ],
        "suivant": str(rows[-1].id) if len(rows) == limit else None,
    }
    return secured(jsonify_status(body, 200))


@bp.get("/donnees/factures")
@operation(
    "Factures (espace client)",
    tag="Pages",
    description="Factures du compte de la session.",
    responses={200: Answer("Les données.", answers.Factures)},
    security=Security.SESSION,
)
async def invoices_data() -> Response:
    invoices = await gateway().invoices(await _client())
    return secured(jsonify_status({"factures": [views.invoice(i) for i in invoices]}, 200))


# -- actions ----------------------------------------------------------------------------


@bp.post("/cle")
@operation(
    "Régénérer la clé (espace client)",
    tag="Pages",
    description="Nouvelle clé API montrée une fois ; CSRF requis.",
    responses={200: Answer("Les données.", answers.NouvelleCle)},
    security=Security.SESSION,
)
async def regenerate_key() -> Response:
    account_id = await _client()
    if not await check_csrf():
        raise csrf_refusal()
    new = await gateway().regenerate_key(account_id)
    await keep_session_current()
    return secured(jsonify_status({"cleApi": views.key(new)}, 201))


@bp.post("/mot-de-passe")
@operation(
    "Changer le mot de passe (espace client)",
    tag="Pages",
    description="Formulaire (application/x-www-form-urlencoded) `actuel`, `nouveau` (8 à 200 "
    "caractères) ; CSRF requis. Toutes les autres sessions du compte sont fermées ; celle-ci "
    "continue.",
    responses={200: Answer("Mot de passe changé.", answers.Objet),
               422: Answer("Mot de passe actuel incorrect, ou nouveau trop court.")},
    security=Security.SESSION,
)
async def change_password() -> Response:
    account_id = await _client()
    if not await check_csrf():
        raise csrf_refusal()
    form = await request.form
    fields = {name: form[name] for name in ("actuel", "nouveau") if name in form}
    change = valid(ChangePassword, fields)
    await gateway().change_password(account_id, change.actuel, change.nouveau)
    await keep_session_current()
    return secured(jsonify_status(
        {"message": "Mot de passe changé ; les autres sessions du compte sont fermées."}, 200))


_CELL = re.compile(r"[;,\t]")


def numbers_from_text(text: str) -> list[str]:
    """Numbers pasted one a line, or the rows of a CSV file: in each row, the first
    cell holding a digit (a header row without digits is skipped)."""
    found: list[str] = []
    for line in text.splitlines():
        for cell in _CELL.split(line):
            cell = cell.strip().strip('"').strip("'").strip()
            if any(ch.isdigit() for ch in cell):
                found.append(cell)
                break
    return found


@bp.post("/envois")
@operation(
    "Envoyer (espace client)",
    tag="Pages",
    description="Envoi depuis le tableau de bord, sans clé API ; CSRF requis.",
    responses={200: Answer("Les données.", answers.Objet)},
    security=Security.SESSION,
)
async def send() -> Response:
    account_id = await _client()
    if not await check_csrf():
        raise csrf_refusal()
    kind, body = await _send_form()
    request_ = SendRequest(
        kind, body, SessionAccount(account_id), request.path, no_numbers_hint=_NO_NUMBERS
    )
    return secured(jsonify_status(await send_intake().accept(request_), ACCEPTED))


_NO_NUMBERS = "Saisissez au moins un numéro ou joignez un fichier CSV."


async def _send_form() -> tuple[SendType, dict[str, Any]]:
    """The send form read as the JSON fields of UNIDES or MULDES: the numbers of a
    MULDES are those pasted, then those of the CSV file; 422 on an unknown type."""
    form = await request.form
    kind = form.get("type", "UNIDES")
    body: dict[str, Any] = {"emetteur": form.get("emetteur", ""), "corps": form.get("corps", "")}
    if kind == SendType.UNIDES:
        body["destinataire"] = (form.get("destinataire") or "").strip()
        return SendType.UNIDES, body
    if kind == SendType.MULDES:
        numbers = numbers_from_text(form.get("numeros", ""))
        upload = (await request.files).get("fichier")
        if upload is not None and upload.filename:
            raw = upload.read()
            try:
                numbers += numbers_from_text(raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                numbers += numbers_from_text(raw.decode("latin-1"))
        body["numeros"] = numbers
        details = unstorable(numbers, "fichier")
        if details:
            raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.", details)
        return SendType.MULDES, body
    raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.",
                   [{"champ": "type", "message": "Valeurs possibles : UNIDES, MULDES."}])


bp.before_request(refuse_unstorable_form)


@bp.after_request
async def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def app_admin_token() -> str:
    return current_app.extensions["admin_token"]  # type: ignore[no-any-return]
