"""The OpenAPI 3.1 document, built from the same definitions that validate requests
(api/models: pydantic writes each definition's JSON Schema).

A route declares itself with `@operation(...)`: summary, description, request
body schema, query parameters, responses and security. The decorator only
attaches an `Operation` record to the view function; it changes nothing at run
time. `valid_body()` and `valid_query()` (api/http.py) read the record of the
route being served, so the schema that validates a request is, by construction,
the one the document shows.

`build_document(app, settings)` walks the application's URL map: every route
is in the document, its path and path parameters taken from the map itself; a
route without a record still appears (with a generic summary) so that nothing
the server answers is missing from the contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar

from quart import Quart

from api.models import Schema, SchemaSource, json_schema
from api.models import resolve as resolve_definition
from api.models.answers import Erreur
from api.models.requests import IdCursor, Limite
from config.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class Security(StrEnum):
    """Who may call a route: anyone, an integrator (X-API-Key), an operator (Bearer)."""

    PUBLIC = "public"
    CLE_API = "cleApi"
    ADMIN = "jetonAdmin"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class Param:
    """A query-string parameter or a request header: its definition (an annotated
    type of api/models) validates it and documents it."""

    name: str
    schema: Any
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """One documented response: a French description and its body schema."""

    description: str
    schema: SchemaSource | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str | Header] = field(default_factory=dict)
    example: Any = None
    alternatives: Mapping[str, Schema] = field(default_factory=dict)
    """Other media types the same answer may come in (e.g. text/csv), with their schemas."""


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    tag: str
    description: str = ""
    body: SchemaSource | None = None
    params: tuple[Param, ...] = ()
    responses: Mapping[int, Answer] = field(default_factory=dict)
    security: Security = Security.PUBLIC
    method: str | None = None
    headers: tuple[Param, ...] = ()


_ATTRIBUTE = "_smsgw_operations"


def operation(
    summary: str,
    *,
    tag: str,
    description: str = "",
    body: SchemaSource | None = None,
    params: tuple[Param, ...] = (),
    responses: Mapping[int, Answer] | None = None,
    security: Security = Security.PUBLIC,
    method: str | None = None,
    headers: tuple[Param, ...] = (),
) -> Callable[[F], F]:
    """Describe the decorated route for the OpenAPI document and for validation.

    `method` is needed only when one view serves several methods; `body` may be
    a function of the settings (limits that come from configuration).
    """
    record = Operation(
        summary=summary,
        tag=tag,
        description=description,
        body=body,
        params=params,
        responses=dict(responses or {}),
        security=security,
        method=method.upper() if method else None,
        headers=headers,
    )

    def attach(fn: F) -> F:
        records: list[Operation] = list(getattr(fn, _ATTRIBUTE, ()))
        records.append(record)
        setattr(fn, _ATTRIBUTE, records)
        return fn

    return attach


def operation_of(view: Callable[..., Any] | None, method: str) -> Operation | None:
    """The record of `view` for `method` (None when the route has none)."""
    records: list[Operation] = list(getattr(view, _ATTRIBUTE, ()))
    for record in records:
        if record.method in (None, method.upper()):
            return record
    return None


def resolve(source: SchemaSource | None, settings: Settings) -> Any:
    """The definition `source` names under `settings` (a body whose limit is set)."""
    return resolve_definition(source, settings)


_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PATH_TYPES: dict[str, dict[str, object]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "float": {"type": "number"},
}
_PATH_NAMES: dict[str, dict[str, object]] = {
    "ref": {"type": "string", "pattern": "^[0-9]{1,18}$", "example": "000245",
            "description": "Référence de l'envoi (1 à 18 chiffres ; toute autre valeur répond 404)."},
}
"""Path parameters whose name says more than their converter."""

_STANDARD: dict[int, str] = {
    400: "Corps illisible : JSON invalide ou octets qui ne sont pas de l'UTF-8 "
    "(code `JSON_INVALIDE`).",
    401: "Clé API absente (CLE_API_MANQUANTE), inconnue (CLE_API_INVALIDE) ou expirée "
    "(CLE_API_EXPIREE).",
    403: "Jeton d'administration invalide (JETON_ADMIN_INVALIDE).",
    404: "Ressource inconnue, ou qui n'appartient pas à votre compte.",
    413: "Corps de requête trop volumineux (REQUETE_TROP_VOLUMINEUSE, la connexion est "
    "ensuite fermée), ou trop de numéros (TROP_DE_DESTINATAIRES).",
    415: "Le corps doit être envoyé avec `Content-Type: application/json` (TYPE_NON_SUPPORTE).",
    408: "Le corps de la requête n'est pas arrivé dans le délai (30 s par défaut, "
    "`SMSGW_HTTP_BODY_TIMEOUT_S`) : code `REQUETE_TROP_LENTE`, la connexion est fermée.",
    422: "Champs invalides (VALIDATION) : un détail par champ fautif (`champ`, `message`). Un "
    "texte qui ne peut pas être enregistré (caractère nul U+0000, demi-caractère UTF-16 isolé "
    "comme `\\ud800`), dans n'importe quel champ, est refusé ainsi en nommant le champ.",
    429: "Trop de requêtes pour cette clé API (TROP_DE_REQUETES) : réessayez après "
    "`Retry-After` secondes.",
    503: "Passerelle ou compte momentanément indisponible (COMPTE_INDISPONIBLE, SURCHARGE) : "
    "réessayez, après `Retry-After` secondes quand l'en-tête est présent.",
}
_ADMIN_401 = (
    "Jeton d'administration absent (JETON_ADMIN_MANQUANT) : en-tête "
    "`Authorization: Bearer <jeton>` attendu."
)
_SECONDS: Schema = {"type": "string", "pattern": "^[1-9][0-9]*$"}
_HEADERS: dict[int, dict[str, Header]] = {}
"""Headers some standard answers always carry (filled below)."""


@dataclass(frozen=True, slots=True)
class Header:
    """A response header: its French description, its schema, whether it is always there."""

    description: str
    schema: Schema
    required: bool = False


_KEY_EXPIRY = Header("Expiration (ISO 8601) de la clé API qui appelle (absent quand la "
                     "requête vient de la révoquer).", {"type": "string"})
_HEADERS[429] = {"Retry-After": Header("Secondes à attendre.", _SECONDS, required=True)}
_HEADERS[503] = {"Retry-After": Header("Secondes à attendre (SURCHARGE).", _SECONDS)}
_HEADERS[413] = {"Connection": Header("`close` : le reste du corps n'est pas lu.",
                                      {"type": "string", "enum": ["close"]})}

DOCUMENT_DESCRIPTION = """\
API REST de SMS Gateway (ION-Networking) : envoi unitaire (UNIDES), multiple (MULDES)
et planifié (MULDESP), suivi des statuts, compte client et administration.

**Authentification.** Chaque appel à `/api/V1/sms*` et `/api/V1/compte*` porte
l'en-tête `X-API-Key`. Les routes `/api/V1/admin/*` demandent
`Authorization: Bearer <jeton d'administration>`.

Jusqu'à 10 clés actives par compte, chacune nommée (`/api/V1/compte/cles`) ; chaque
réponse à une clé porte l'en-tête `X-Cle-Expiration` (son expiration, ISO 8601).

**Contrôles du compte.** Un compte suspendu voit chaque envoi refusé 403 `COMPTE_SUSPENDU`
(rien n'est réservé) ; un émetteur hors des émetteurs autorisés du compte répond 422
`EMETTEUR_NON_AUTORISE`. Un destinataire de la liste des désinscrits
(`/api/V1/compte/desinscrits`) termine `ECHEC` / `DESINSCRIT` sans être facturé.

**Erreurs.** Toute erreur est un JSON
`{"erreur": {"code": "...", "message": "<phrase en français>",
"details": [{"champ", "message"}]}}`.

**Règles communes.** Une chaîne ne contient jamais le caractère NUL ni une moitié
isolée de paire UTF-16 (`\\uD800` à `\\uDFFF` sans sa paire) : 422 `VALIDATION`. Un champ
facultatif donné à `null` vaut absent. Un entier peut s'écrire `3.0`. Un identifiant
de chemin hors de portée (référence de plus de 18 chiffres, entier au-delà de
2^63 - 1) répond 404 comme un identifiant inconnu. Une méthode que le chemin ne prend
pas répond 405 avec l'en-tête `Allow`.

**Pages.** Les opérations de l'étiquette « Pages » (`/espace`, `/operateur`) servent le
navigateur (session par cookie, jeton CSRF sur chaque formulaire) ; elles ne font pas
partie de l'API d'intégration.

**Limites.** Corps de requête : 16 Mio au plus (413), reçu en entier dans les 30 s qui
suivent les en-têtes (408, connexion fermée). Ligne de requête et en-têtes : 16 Kio au plus
(431, connexion fermée). Curseurs et identifiants : un nombre au-delà de 2^63 - 1 ne désigne
rien (422 pour un paramètre de requête, 404 pour un chemin). Les réglages
`SMSGW_HTTP_MAX_BODY_BYTES`, `SMSGW_HTTP_BODY_TIMEOUT_S`, `SMSGW_HTTP_MAX_HEADER_BYTES` et
`SMSGW_HTTP_MAX_CONNECTIONS` les changent.

**Idempotence.** Un envoi peut porter l'en-tête `Idempotency-Key` (1 à 128 caractères) :
la même clé avec le même corps, dans les 24 heures, renvoie la première réponse sans
rien envoyer de nouveau ; la même clé avec un autre corps répond 409 `IDEMPOTENCE_CONFLIT`.

**Limitation de débit.** Chaque clé API dispose d'un seau de jetons (débit et rafale
configurables) ; au-delà, 429 `TROP_DE_REQUETES` avec l'en-tête `Retry-After`.

**Rappels de statut.** Chaque statut final d'un destinataire (`STATUT`) et chaque accusé
de livraison (`LIVRAISON`) est envoyé en `POST` JSON à l'`urlRappel` de l'envoi, sinon à
celle du compte, et chaque SMS entrant adressé à un numéro du compte (`ENTRANT`, avec
`emetteur`, `destinataire`, `corps`, `recuLe`, `smsc`) à l'`urlRappel` du compte :
`{"evenements": [...]}` (au plus 100 événements par appel, un seul compte par appel ;
le détail est sous `webhooks`). Chaque événement a un `id` unique : un événement répété
garde son `id`. Les événements d'un destinataire arrivent dans l'ordre
où ils se sont produits. Le corps est signé :
`X-SMSGW-Signature: t=<secondes Unix>,v1=<hex>`, où `v1` est le HMAC-SHA256 de
`"<t>.<corps brut>"` avec pour clé le secret des rappels du compte (`secretRappel`, montré
une fois à la création du compte, remplacé par `POST /api/V1/compte/secret-rappel`) ;
refusez un `t` de plus de 5 minutes. Toute réponse 2xx vaut accusé de réception ;
sinon l'événement est réessayé (1 s, puis un délai qui double, 10 min au plus entre deux
essais) pendant 24 heures (`SMSGW_CALLBACKS_MAX_AGE_S`), puis abandonné et compté. Les
événements sont enregistrés avec le changement qu'ils rapportent : un redémarrage ou un
arrêt brutal de la passerelle n'en perd aucun. Une `urlRappel` est http ou https ; une
adresse privée, locale ou réservée est refusée (422 `URL_RAPPEL_INTERDITE`).
"""


def _path_of(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def swap(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": dict(
                    _PATH_TYPES.get(converter or "") or _PATH_NAMES.get(name, {"type": "string"})
                ),
            }
        )
        return "{" + name + "}"

    return _CONVERTER.sub(swap, rule), params


def _content(
    source: Any, media_type: str, example: Any = None,
    mode: Literal["validation", "serialization"] = "serialization",
) -> dict[str, Any]:
    schema = json_schema(source, mode) if source is not None else None
    body: dict[str, Any] = {"schema": schema or {}}
    if example is not None:
        body["example"] = example
    elif schema and "example" in schema:
        body["example"] = schema["example"]
    return {media_type: body}


def _header_documents(headers: Mapping[str, str | Header]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, header in headers.items():
        if isinstance(header, str):
            header = Header(header, {"type": "string"})
        out[name] = {"description": header.description, "schema": header.schema}
        if header.required:
            out[name]["required"] = True
    return out


def _error(description: str, headers: Mapping[str, str | Header] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erreur"}}},
    }
    if headers:
        out["headers"] = _header_documents(headers)
    return out


def _responses(op: Operation, has_path_params: bool, settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, answer in sorted(op.responses.items()):
        schema = resolve(answer.schema, settings)
        headers = {**_HEADERS.get(status, {}), **answer.headers}
        if status >= 400 and schema is None and answer.media_type == "application/json":
            out[str(status)] = _error(answer.description, headers)
            continue
        entry: dict[str, Any] = {"description": answer.description}
        if status < 400 and op.security is Security.CLE_API:
            headers = {"X-Cle-Expiration": _KEY_EXPIRY, **headers}
        if schema is not None or answer.media_type != "application/json":
            entry["content"] = _content(schema, answer.media_type, answer.example)
            for media_type, other in answer.alternatives.items():
                entry["content"][media_type] = {"schema": other}
        if headers:
            entry["headers"] = _header_documents(headers)
        out[str(status)] = entry
    implied: list[int] = []
    if op.body is not None:
        implied += [400, 408, 413, 415, 422]
    if op.params or op.headers:
        implied.append(422)
    if has_path_params:
        implied.append(404)
    if op.security is Security.CLE_API:
        implied += [401, 429, 503]
    if op.security is Security.ADMIN:
        implied += [401, 403, 503]
    for status in implied:
        if str(status) in out:
            continue
        if status == 401 and op.security is Security.ADMIN:
            out["401"] = _error(_ADMIN_401, {"WWW-Authenticate": Header(
                "`Bearer`.", {"type": "string", "enum": ["Bearer"]}, required=True)})
        else:
            out[str(status)] = _error(_STANDARD[status], _HEADERS.get(status))
    return dict(sorted(out.items()))


def _operation_document(
    op: Operation, method: str, endpoint: str, path_params: list[dict[str, Any]], settings: Settings
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_") + ("" if op.method else "_" + method.lower()),
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        doc["description"] = op.description
    parameters = list(path_params)
    for p in op.params:
        parameters.append(
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description,
                "schema": json_schema(p.schema),
            }
        )
    for h in op.headers:
        parameters.append(
            {
                "name": h.name,
                "in": "header",
                "required": h.required,
                "description": h.description,
                "schema": json_schema(h.schema),
            }
        )
    if parameters:
        doc["parameters"] = parameters
    body = resolve(op.body, settings)
    if body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": _content(body, "application/json", mode="validation"),
        }
    doc["responses"] = _responses(op, bool(path_params), settings)
    doc["security"] = [] if op.security is Security.PUBLIC else [{op.security.value: []}]
    return doc


_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "ref", "destinataire", "statut", "raison", "codeSmsc",
                 "envoyeLe", "livraison", "livreLe", "reference", "smsc", "doublonPossible"],
    "properties": {
        "id": {"type": "integer", "description": "Unique par événement : un événement "
               "envoyé de nouveau garde son id (écartez les répétitions)."},
        "type": {"type": "string", "enum": ["STATUT", "LIVRAISON"],
                 "description": "STATUT : le statut final du destinataire ; LIVRAISON : un "
                 "accusé de livraison."},
        "ref": {"type": "string", "pattern": "^[0-9]{6,}$"},
        "destinataire": {"type": "string"},
        "statut": {"type": "string", "enum": ["EN_ATTENTE", "ENVOYE", "ECHEC"]},
        "raison": {"type": ["string", "null"]},
        "codeSmsc": {"type": ["integer", "null"]},
        "envoyeLe": {"type": ["string", "null"], "format": "date-time"},
        "livraison": {"type": ["string", "null"], "enum": ["LIVRE", "NON_LIVRE", "EXPIRE", None]},
        "livreLe": {"type": ["string", "null"]},
        "reference": {"type": ["string", "null"], "description": "La référence de l'envoi."},
        "smsc": {"type": ["string", "null"], "description": "Le SMSC qui a pris le message."},
        "doublonPossible": {"type": "boolean"},
    },
}

_INBOUND_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "emetteur", "destinataire", "corps", "recuLe", "smsc"],
    "properties": {
        "id": _EVENT["properties"]["id"],
        "type": {"type": "string", "enum": ["ENTRANT"],
                 "description": "ENTRANT : un SMS entrant adressé à un numéro ou code court "
                 "du compte (`numerosEntrants`)."},
        "emetteur": {"type": "string", "description": "L'abonné qui l'a envoyé."},
        "destinataire": {"type": "string", "description": "Le numéro ou code court du compte."},
        "corps": {"type": "string"},
        "recuLe": {"type": "string", "format": "date-time"},
        "smsc": {"type": "string", "description": "La connexion SMSC qui l'a remis."},
    },
}

WEBHOOKS: dict[str, Any] = {
    "rappelStatut": {
        "post": {
            "summary": "Rappel de statut (vers votre urlRappel)",
            "description": "Envoyé par la passerelle à l'urlRappel de l'envoi, sinon à celle "
            "du compte. Vérifiez `X-SMSGW-Signature: t=<secondes Unix>,v1=<hex>` : "
            "HMAC-SHA256 de `\"<t>.<corps brut>\"` avec votre secret des rappels, et refusez "
            "un `t` de plus de 5 minutes. Répondez 2xx : sinon l'appel est réessayé.",
            "parameters": [{
                "name": "X-SMSGW-Signature", "in": "header", "required": True,
                "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"},
            }],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["evenements"],
                    "properties": {"evenements": {
                        "type": "array", "minItems": 1, "maxItems": 100,
                        "items": {"oneOf": [_EVENT, _INBOUND_EVENT]}}},
                }}},
            },
            "responses": {
                "200": {"description": "Reçu (toute réponse 2xx vaut accusé de réception)."},
                "default": {"description": "Autre réponse : l'appel est réessayé."},
            },
        }
    }
}
"""The callbacks the gateway sends (contract section 11), as OpenAPI 3.1 webhooks."""


def build_document(app: Quart, settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `app` serves."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.rule.startswith("/static"):
            continue
        view = app.view_functions.get(rule.endpoint)
        path, path_params = _path_of(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = operation_of(view, method) or Operation(
                summary=f"{method} {path}", tag="Autres", description="Route sans description."
            )
            paths.setdefault(path, {})[method.lower()] = _operation_document(
                op, method, rule.endpoint, path_params, settings
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SMS Gateway",
            "version": "1.0",
            "description": DOCUMENT_DESCRIPTION,
            "contact": {"email": "support@sms-gateway.com"},
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "Envois", "description": "UNIDES, MULDES, MULDESP (section 5 du guide)."},
            {"name": "Suivi", "description": "Statuts des envois et des messages (section 6)."},
            {"name": "Compte", "description": "Le compte du client et sa clé API."},
            {"name": "Administration", "description": "Comptes, crédits, factures."},
            {"name": "Exploitation", "description": "Santé, acteurs, métriques, documentation."},
            {"name": "Pages", "description": "Espace client et console opérateur (navigateur)."},
        ],
        "paths": paths,
        "webhooks": WEBHOOKS,
        "components": {
            "schemas": {
                "Erreur": json_schema(Erreur, "serialization"),
            },
            "securitySchemes": {
                Security.CLE_API.value: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "Clé API du compte (format UUID).",
                },
                Security.ADMIN.value: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Jeton d'administration de la passerelle.",
                },
                Security.SESSION.value: {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "smsgw_session",
                    "description": "Session signée des pages /espace et /operateur (après "
                    "connexion), avec un jeton CSRF sur chaque formulaire. La déconnexion, un "
                    "nouveau mot de passe ou une nouvelle clé API ferment toutes les sessions "
                    "du compte (sauf celle qui a fait le changement) ; la déconnexion de la "
                    "console ferme toutes les sessions opérateur.",
                },
            },
        },
    }


PAGE_BY_ID = (
    Param("curseur", IdCursor,
          "Le `curseurSuivant` de la page précédente (un identifiant, 0 par défaut)."),
    Param("limite", Limite, "Nombre d'éléments par page (100 par défaut)."),
)
"""Query parameters of the lists paged by increasing id (administration)."""
