"""Request bodies: one definition per body, used both to validate requests and to
write the OpenAPI document (so the two cannot drift).

A definition is a small JSON Schema (the subset below). `validate` returns one
`{"champ", "message"}` detail per faulty field, in French.

Rules every request definition shares, stated once here and shown in the document
by `request_schema`:
- a string the API reads never holds NUL nor a lone UTF-16 surrogate (`TEXT`),
  unless its own `pattern` says more;
- an optional property given as `null` counts as absent, so the document shows it
  nullable, unless the definition marks it `"nullable": False`;
- an integer may be written `3.0` (JSON does not tell `3` from `3.0`).
Private keys (`hints`, `nullable`, `patternMessage`, `anyOfMessage`, `anyOfField`)
shape French messages or these rules and never appear in the document.
"""

from __future__ import annotations

import base64
import functools
import re
from datetime import date, datetime
from typing import Any

Schema = dict[str, Any]

TEXT = r"^[^\x00]*$"
"""No NUL: the default pattern of every string a request carries. A lone UTF-16
surrogate (a `\uD800`-`\uDFFF` escape without its pair) is no Unicode character, so
no JSON Schema pattern can name it; it is refused as well, by `validate`."""

_UNSAFE = re.compile("[\x00\ud800-\udfff]")

WHITESPACE = r"[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""Python's whitespace (`str.isspace`, what `str.strip` removes), spelled out so that
every regular expression engine reads a pattern the way the gateway does."""

SENDER_PATTERN = (
    rf"^{WHITESPACE}*(?:\+[ .-]*(?:[0-9][ .-]*){{1,15}}"
    rf"|[A-Za-z0-9._-][A-Za-z0-9 ._-]*){WHITESPACE}*$"
)
"""An `emetteur`, spaces around it ignored: `+` then 1 to 15 digits (spaces, dots
and dashes between them allowed), or a name among ASCII letters, digits, space,
`.`, `_`, `-` (engine/text/numbers.py `parse_sender`)."""

EMETTEUR: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 20,
    "pattern": SENDER_PATTERN,
    "patternMessage": "L'émetteur est un numéro international (« + » suivi de 1 à 15 chiffres) "
    "ou un nom fait de lettres sans accent, de chiffres, d'espaces et des caractères "
    "« - », « . » et « _ ».",
    "description": "Numéro international (« + » puis 1 à 15 chiffres, espaces, points et tirets "
    "permis entre eux) ou nom de 1 à 20 caractères parmi les lettres sans accent, les chiffres, "
    "l'espace, -, . et _ ; les espaces autour sont ignorés. Au-delà de 11 caractères, un "
    "avertissement est renvoyé.",
    "example": "ION-Networking",
}
CORPS: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 160,
    "description": "Texte du message, 1 à 160 caractères (GSM 7 bits si possible, UCS-2 sinon).",
    "example": "Bienvenue sur SMS Gateway !",
}
NUMERO: Schema = {"type": "string", "minLength": 1, "maxLength": 32, "example": "+24106123456"}


def numeros(max_items: int) -> Schema:
    return {
        "type": "array",
        "items": NUMERO,
        "minItems": 1,
        "maxItems": max_items,
        "description": "Numéros des destinataires (format international conseillé).",
        "example": ["+24106123456", "+24107456789", "+24106234567"],
    }


UNIDES: Schema = {
    "type": "object",
    "required": ["emetteur", "destinataire", "corps"],
    "properties": {
        "emetteur": EMETTEUR,
        "destinataire": {**NUMERO, "description": "Numéro du destinataire (format international)."},
        "corps": CORPS,
    },
    "example": {
        "emetteur": "ION-Networking",
        "destinataire": "+24106123456",
        "corps": "Bienvenue sur SMS Gateway !",
    },
}


def muldes(max_items: int) -> Schema:
    return {
        "type": "object",
        "required": ["emetteur", "numeros", "corps"],
        "properties": {"emetteur": EMETTEUR, "numeros": numeros(max_items), "corps": CORPS},
        "hints": {
            "destinataire": "Champ obligatoire : un envoi multiple prend la liste « numeros » ; "
            "« destinataire » (un seul numéro) sert à l'envoi unitaire /api/V1/sms/unides."
        },
        "example": {
            "emetteur": "ION-Networking",
            "numeros": ["+24106123456", "+24107456789", "+24106234567"],
            "corps": "Profitez de nos offres exclusives SMS Gateway !",
        },
    }


EMAIL_PATTERN = rf"^[^@\x00{WHITESPACE[1:-1]}]+@[^@\x00{WHITESPACE[1:-1]}]+\.[^@\x00{WHITESPACE[1:-1]}]+$"

_TYPE_NAMES = {
    "string": "une chaîne de caractères",
    "integer": "un entier",
    "number": "un nombre",
    "array": "une liste",
    "object": "un objet JSON",
    "boolean": "un booléen",
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "boolean":
        return isinstance(value, bool)
    raise ValueError(kind)


def validate(schema: Schema, value: Any, path: str = "") -> list[dict[str, str]]:
    """Every fault of `value` against `schema`, one detail per field."""
    where = path or "corps de la requête"
    kinds = schema.get("type")
    if isinstance(kinds, list):
        if value is None and "null" in kinds:
            return []
        kind = next((k for k in kinds if k != "null" and _is_type(value, k)), None)
        if kind is None:
            return [{"champ": where, "message": f"Doit être {_TYPE_NAMES[kinds[0]]}."}]
    else:
        kind = kinds
        if kind and not _is_type(value, kind):
            return [{"champ": where, "message": f"Doit être {_TYPE_NAMES[kind]}."}]
    details = _faults(schema, kind, value, path, where)
    if not details and "anyOf" in schema and all(validate(o, value, path) for o in schema["anyOf"]):
        field = schema.get("anyOfField")
        details.append({"champ": _join(path, field) if field else where,
                        "message": schema.get("anyOfMessage", "Format invalide.")})
    return details


def _faults(schema: Schema, kind: str | None, value: Any, path: str, where: str) -> list[dict[str, str]]:
    details: list[dict[str, str]] = []
    if kind == "object":
        props: dict[str, Schema] = schema.get("properties", {})
        if any(unsafe(name) for name in value) or any(
            _unsafe_within(item) for name, item in value.items() if name not in props
        ):
            return [{"champ": where, "message": "Un nom de champ ou une valeur contient un "
                     "caractère NUL ou une moitié isolée de paire UTF-16."}]
        for name in schema.get("required", []):
            if name not in value or value[name] is None:
                hint = schema.get("hints", {})
                found = next((h for h in hint if h in value), None)
                message = hint[found] if found else "Champ obligatoire."
                details.append({"champ": _join(path, name), "message": message})
        for name, sub in props.items():
            if name in value and value[name] is not None:
                details.extend(validate(sub, value[name], _join(path, name)))
        return details
    if kind == "string":
        details.extend(_string_faults(schema, value, where))
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            details.append({"champ": where, "message": f"Doit être supérieur ou égal à {schema['minimum']}."})
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            details.append({"champ": where, "message": f"Doit être strictement supérieur à {schema['exclusiveMinimum']}."})
        if "maximum" in schema and value > schema["maximum"]:
            details.append({"champ": where, "message": f"Doit être inférieur ou égal à {schema['maximum']}."})
    elif kind == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            details.append({"champ": where, "message": f"Doit contenir au moins {schema['minItems']} élément(s)."})
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                details.extend(validate(items, item, f"{where}[{index}]"))
                if len(details) >= 20:
                    break
    return details


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def unsafe(text: str) -> bool:
    """Whether `text` holds a NUL or a lone surrogate, which no request may carry."""
    return _UNSAFE.search(text) is not None


def _unsafe_within(value: Any) -> bool:
    """Whether a string anywhere in `value` (a key too) is `unsafe`."""
    if isinstance(value, str):
        return unsafe(value)
    if isinstance(value, list):
        return any(_unsafe_within(item) for item in value)
    if isinstance(value, dict):
        return any(unsafe(k) or _unsafe_within(v) for k, v in value.items())
    return False


JSON_SANS_NUL: Schema = {
    "description": "Toute valeur JSON dont aucune chaîne (nom de champ compris) ne contient "
    "le caractère NUL.",
    "anyOf": [
        {"type": ["number", "boolean", "null"]},
        {"type": "string", "pattern": TEXT},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonSansNul"}},
        {"type": "object", "propertyNames": {"pattern": TEXT},
         "additionalProperties": {"$ref": "#/components/schemas/JsonSansNul"}},
    ],
}
"""What a request object holds beyond the properties it names (components/schemas)."""


def _string_faults(schema: Schema, value: str, where: str) -> list[dict[str, str]]:
    details: list[dict[str, str]] = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        details.append({"champ": where, "message": _min_len(schema["minLength"])})
    elif "maxLength" in schema and len(value) > schema["maxLength"]:
        details.append(
            {"champ": where, "message": f"Ne doit pas dépasser {schema['maxLength']} caractères "
             f"(reçu : {len(value)})."}
        )
    if "enum" in schema and value not in schema["enum"]:
        details.append({"champ": where, "message": "Valeurs acceptées : "
                        + ", ".join(v for v in schema["enum"] if v is not None) + "."})
    if details:
        return details  # one detail per field
    if unsafe(value):
        details.append({"champ": where, "message": "Ne doit contenir ni caractère NUL ni "
                        "moitié isolée de paire UTF-16."})
    elif "pattern" in schema and not _compiled(schema["pattern"]).search(value):
        details.append({"champ": where, "message": schema.get("patternMessage", "Format invalide.")})
    fmt = schema.get("format")
    if fmt == "date" and not _is_date(value):
        details.append({"champ": where, "message": "Doit être une date AAAA-MM-JJ."})
    if fmt == "date-time" and not _is_date_time(value):
        details.append({"champ": where, "message": "Doit être une date-heure RFC 3339 "
                        "(AAAA-MM-JJTHH:MM:SS avec Z ou un décalage ±HH:MM)."})
    return details


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    """`pattern` as JSON Schema reads it: a final `$` is the end of the text, never
    the place before a final newline as in Python."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _is_date(text: str) -> bool:
    try:
        return bool(_DATE.fullmatch(text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _is_date_time(text: str) -> bool:
    """RFC 3339 `date-time` (a leap second is refused: nothing here is that precise)."""
    if not _DATE_TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


UNSTORABLE_MESSAGE = (
    "Contient un caractère qui ne peut pas être enregistré (caractère nul U+0000 ou "
    "demi-caractère UTF-16 isolé, U+D800 à U+DFFF)."
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "") -> list[dict[str, str]]:
    """One detail per string of `value` (a member name or a value, at any depth)
    that no database can store: a NUL, or a UTF-16 surrogate standing alone
    (JSON lets `"\\ud800"` through; UTF-8 cannot encode it). The details name
    the field, never echo its text; at most 20."""
    details: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack and len(details) < 20:
        where, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                details.append({"champ": where or "corps de la requête", "message": UNSTORABLE_MESSAGE})
        elif isinstance(item, dict):
            for name, sub in reversed(item.items()):
                if _UNSTORABLE.search(name):
                    details.append({"champ": where or "corps de la requête",
                                    "message": "Un nom de champ " + UNSTORABLE_MESSAGE[0].lower()
                                    + UNSTORABLE_MESSAGE[1:]})
                else:
                    stack.append((_join(where, name), sub))
        elif isinstance(item, list):
            stack.extend((f"{where or 'corps de la requête'}[{i}]", sub)
                         for i, sub in reversed(list(enumerate(item))))
    return details


def _min_len(n: int) -> str:
    return "Ne doit pas être vide." if n == 1 else f"Doit contenir au moins {n} caractères."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_PRIVATE = ("hints", "nullable", "patternMessage", "anyOfMessage", "anyOfField")


def openapi_schema(schema: Schema) -> Schema:
    """The definition as OpenAPI 3.1 shows it (without our private keys)."""
    out = {k: v for k, v in schema.items() if k not in _PRIVATE}
    if "properties" in out:
        out["properties"] = {k: openapi_schema(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = openapi_schema(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = openapi_schema(out["additionalProperties"])
    if "anyOf" in out:
        out["anyOf"] = [openapi_schema(option) for option in out["anyOf"]]
    return out


def request_schema(schema: Schema) -> Schema:
    """The definition of something a request carries (body, query, header), as the
    document shows it: `openapi_schema` plus the shared rules `validate` applies
    (the `TEXT` pattern on strings, optional properties nullable)."""
    out = openapi_schema(schema)
    kinds = out.get("type")
    if kinds == "string" and "pattern" not in out and "enum" not in out:
        out["pattern"] = TEXT
    if "properties" in out:
        required = set(schema.get("required", []))
        props: dict[str, Schema] = {}
        for name, sub in schema["properties"].items():
            shown = request_schema(sub)
            if name not in required and sub.get("nullable", True):
                shown = _nullable_schema(shown)
            props[name] = shown
        out["properties"] = props
        if schema.get("additionalProperties") is not False:
            out["propertyNames"] = {"pattern": TEXT}
            out["additionalProperties"] = {"$ref": "#/components/schemas/JsonSansNul"}
    if "items" in out:
        out["items"] = request_schema(schema["items"])
    if "anyOf" in out:
        out["anyOf"] = [request_schema(option) for option in schema["anyOf"]]
    return out


def _nullable_schema(schema: Schema) -> Schema:
    kinds = schema.get("type")
    if kinds is None:
        return schema
    listed = kinds if isinstance(kinds, list) else [kinds]
    out = {**schema, "type": [*listed, "null"] if "null" not in listed else listed}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


# -- responses and query parameters ---------------------------------------------------
# Answers are documented with the same care as bodies: the test suite checks every
# response the server gives against these definitions.


def _nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


STATUT: Schema = {
    "type": "string",
    "enum": ["EN_ATTENTE", "ENVOYE", "ECHEC"],
    "description": "EN_ATTENTE : enregistré, pas encore transmis ; ENVOYE : accepté par "
    "le SMSC ; ECHEC : numéro invalide, solde insuffisant ou problème réseau.",
}
TYPE_ENVOI: Schema = {"type": "string", "enum": ["UNIDES", "MULDES", "MULDESP"]}
RAISON: Schema = _nullable(
    "string",
    enum=[
        "NUMERO_INVALIDE",
        "SOLDE_INSUFFISANT",
        "ERREUR_RESEAU",
        "REJET_SMSC",
        "CAMPAGNE_EXPIREE",
        "ANNULE",
        None,
    ],
    description="Raison d'un ECHEC.",
)
LIVRAISON: Schema = _nullable(
    "string",
    enum=["LIVRE", "NON_LIVRE", "EXPIRE", None],
    description="Accusé de réception de l'opérateur ; ne change pas le statut.",
)
REF: Schema = {
    "type": "string",
    "pattern": r"^[0-9]{6,}$",
    "description": "Référence de l'envoi (chiffres, au moins 6).",
    "example": "000245",
}

ERREUR: Schema = {
    "type": "object",
    "required": ["erreur"],
    "properties": {
        "erreur": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "VALIDATION"},
                "message": {"type": "string", "example": "La requête contient des champs invalides."},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"champ": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}

_AVERTISSEMENTS: Schema = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Avertissements en français (par exemple un émetteur de plus de 11 caractères).",
}

ACCEPTE_UNIDES: Schema = {
    "type": "object",
    "required": ["ref", "type", "statut", "segments", "encodage"],
    "properties": {
        "ref": REF,
        "type": TYPE_ENVOI,
        "statut": STATUT,
        "segments": {"type": "integer", "minimum": 1, "description": "SMS par destinataire."},
        "encodage": {"type": "string", "enum": ["GSM7", "UCS2"]},
        "avertissements": _AVERTISSEMENTS,
    },
    "example": {"ref": "000245", "type": "UNIDES", "statut": "EN_ATTENTE", "segments": 1,
                "encodage": "GSM7"},
}

ACCEPTE_MULDES: Schema = {
    "type": "object",
    "required": ["ref", "type", "statut", "nbDestinataires", "doublonsIgnores", "segments",
                 "encodage"],
    "properties": {
        **ACCEPTE_UNIDES["properties"],
        "nbDestinataires": {"type": "integer", "minimum": 0},
        "doublonsIgnores": {"type": "integer", "minimum": 0},
    },
    "example": {"ref": "000312", "type": "MULDES", "statut": "EN_ATTENTE", "nbDestinataires": 3,
                "doublonsIgnores": 0, "segments": 1, "encodage": "GSM7"},
}

COMPTEURS: Schema = {
    "type": "object",
    "required": ["EN_ATTENTE", "ENVOYE", "ECHEC", "LIVRE"],
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("EN_ATTENTE", "ENVOYE", "ECHEC", "LIVRE")},
}

ENVOI: Schema = {
    "type": "object",
    "required": ["ref", "type", "statut", "emetteur", "corps", "creeLe", "nbDestinataires",
                 "compteurs"],
    "properties": {
        "ref": REF,
        "type": TYPE_ENVOI,
        "statut": {**STATUT, "description": "EN_ATTENTE tant qu'un destinataire attend ; puis "
                   "ENVOYE si au moins un a été envoyé, sinon ECHEC."},
        "emetteur": {"type": "string"},
        "corps": {"type": "string"},
        "creeLe": {"type": "string", "format": "date-time"},
        "nbDestinataires": {"type": "integer", "minimum": 0},
        "doublonsIgnores": {"type": "integer", "minimum": 0},
        "segments": {"type": "integer", "minimum": 1},
        "encodage": {"type": "string"},
        "compteurs": COMPTEURS,
        "avertissements": _AVERTISSEMENTS,
        "dateDebut": {"type": "string", "format": "date", "description": "MULDESP : premier jour."},
        "dateFin": {"type": "string", "format": "date", "description": "MULDESP : dernier jour."},
        "nbParJour": {"type": "integer", "minimum": 1, "description": "MULDESP : quota quotidien."},
        "intervalleMinutes": {"type": "integer", "minimum": 1,
                              "description": "MULDESP : minutes entre deux créneaux."},
        "etatCampagne": {"type": "string",
                         "enum": ["PLANIFIEE", "EN_COURS", "SUSPENDUE", "TERMINEE", "ANNULEE"],
                         "description": "MULDESP : état de la campagne."},
        "progression": {
            "type": "object",
            "description": "MULDESP : destinataires lancés et restants.",
            "properties": {"total": {"type": "integer"}, "lances": {"type": "integer"},
                           "restants": {"type": "integer"}},
        },
        "prochainCreneau": {"type": ["string", "null"], "format": "date-time",
                            "description": "MULDESP : heure du prochain créneau, null s'il n'y en a plus."},
    },
    "example": {"ref": "000312", "type": "MULDES", "statut": "ENVOYE", "emetteur": "ION-Networking",
                "corps": "Profitez de nos offres exclusives SMS Gateway !",
                "creeLe": "2025-10-10T08:00:00.000Z", "nbDestinataires": 3, "doublonsIgnores": 0,
                "segments": 1, "encodage": "GSM7",
                "compteurs": {"EN_ATTENTE": 0, "ENVOYE": 3, "ECHEC": 0, "LIVRE": 2}},
}

MESSAGE: Schema = {
    "type": "object",
    "required": ["destinataire", "statut", "raison", "codeSmsc", "envoyeLe", "livraison",
                 "livreLe", "doublonPossible"],
    "properties": {
        "destinataire": {"type": "string", "description": "Numéro E.164 (ou tel que reçu s'il est invalide)."},
        "statut": STATUT,
        "raison": RAISON,
        "codeSmsc": _nullable("integer", description="command_status SMPP d'un REJET_SMSC."),
        "envoyeLe": _nullable("string", format="date-time"),
        "livraison": LIVRAISON,
        "livreLe": _nullable("string"),
        "doublonPossible": {"type": "boolean", "description": "Peut avoir été reçu deux fois "
                            "(envoi repris après une coupure)."},
        "smsc": _nullable("string", description="La connexion SMSC par laquelle il est parti "
                          "(`defaut` sans connexions nommées) ; null avant tout envoi."),
    },
}

CURSEUR_SUIVANT: Schema = _nullable(
    "string", description="À passer en `curseur` pour la page suivante ; null à la fin."
)

ENTRANT: Schema = {
    "type": "object",
    "required": ["id", "emetteur", "destinataire", "corps", "recuLe", "smsc"],
    "properties": {
        "id": {"type": "integer"},
        "emetteur": {"type": "string", "description": "L'abonné qui l'a envoyé (E.164)."},
        "destinataire": {"type": "string", "description": "Le code court ou le numéro "
                         "auquel il l'a adressé."},
        "corps": {"type": "string"},
        "recuLe": {"type": "string", "format": "date-time"},
        "smsc": {"type": "string", "description": "La connexion SMSC qui l'a remis."},
    },
}

PAGE_ENTRANTS: Schema = {
    "type": "object",
    "required": ["entrants", "curseurSuivant"],
    "properties": {
        "entrants": {"type": "array", "items": ENTRANT},
        "curseurSuivant": CURSEUR_SUIVANT,
    },
    "example": {"entrants": [{"id": 7, "emetteur": "+24106123456", "destinataire": "1234",
                              "corps": "STOP", "recuLe": "2025-10-10T08:00:00.000Z",
                              "smsc": "moov"}], "curseurSuivant": None},
}

PAGE_MESSAGES: Schema = {
    "type": "object",
    "required": ["ref", "messages", "curseurSuivant"],
    "properties": {"ref": REF, "messages": {"type": "array", "items": MESSAGE},
                   "curseurSuivant": CURSEUR_SUIVANT},
}

PAGE_ENVOIS: Schema = {
    "type": "object",
    "required": ["envois", "curseurSuivant"],
    "properties": {"envois": {"type": "array", "items": ENVOI}, "curseurSuivant": CURSEUR_SUIVANT},
}

LIMITE: Schema = {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Taille de page (100 par défaut)."}
CURSEUR: Schema = {
    "type": "string",
    "minLength": 3,
    "maxLength": 26,
    "description": "Valeur `curseurSuivant` de la page précédente : base64url sans remplissage "
    "d'une lettre et de 1 à 18 chiffres. Toute autre valeur répond 422.",
}
DATE_OU_INSTANT: Schema = {
    "type": "string",
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "anyOfMessage": "Doit être une date AAAA-MM-JJ ou une date-heure RFC 3339.",
    "description": "AAAA-MM-JJ (journée entière du fuseau de la passerelle) ou date-heure "
    "RFC 3339 avec son décalage (AAAA-MM-JJTHH:MM:SSZ, ...+01:00).",
}


def cursor_pattern(prefix: str) -> str:
    """The cursors `curseurSuivant` hands out for `prefix`: base64url, unpadded, of
    the letter `prefix` then 1 to 18 digits, and nothing else. Each run of three
    digits encodes to four characters from small sets, hence the classes below."""
    head = base64.urlsafe_b64encode(f"{prefix}0".encode()).decode()[:2]
    lead, middle, last = "(?:[MN][DTjz]|O[DT])", "[AEIMQUYcgk]", "[w-z0-5]"
    block = lead + middle + last  # three digits
    one, two = "(?:[MN][AQgw]|O[AQ])", lead + middle  # one or two last digits
    return (
        f"^{head}{middle}(?:{last}(?:(?:{block}){{0,4}}(?:{one}|{two})?"
        f"|(?:{block}){{5}}{one}?))?$"
    )


CLE_API: Schema = {
    "type": "object",
    "required": ["expiration"],
    "properties": {
        "cle": {"type": "string", "description": "La clé, montrée une seule fois."},
        "expiration": _nullable("string"),
    },
}

COMPTE: Schema = {
    "type": "object",
    "required": ["id", "nom", "type", "solde", "reserve", "consommation", "du", "debitMax"],
    "properties": {
        "id": {"type": "integer"},
        "nom": {"type": "string"},
        "type": {"type": "string", "enum": ["PREPAYE", "POSTPAYE"]},
        "solde": {"type": "integer", "minimum": 0, "description": "Crédits SMS disponibles."},
        "reserve": {"type": "integer", "minimum": 0, "description": "Crédits réservés par des envois en cours."},
        "consommation": {"type": "integer", "minimum": 0},
        "du": {"type": "integer", "minimum": 0},
        "debitMax": {"type": "number"},
        "email": _nullable("string"),
        "urlRappel": _nullable("string"),
        "creeLe": {"type": "string"},
        "cleApi": CLE_API,
        "numerosEntrants": {
            "type": "array", "items": {"type": "string"},
            "description": "Numéros et codes courts entrants du compte (sans +) : les SMS "
            "entrants qui leur sont adressés sont à lui.",
        },
    },
}

PAGE_COMPTES: Schema = {
    "type": "object",
    "required": ["comptes"],
    "properties": {"comptes": {"type": "array", "items": COMPTE}, "curseurSuivant": CURSEUR_SUIVANT},
}

SOLDE: Schema = {
    "type": "object",
    "required": ["id", "solde"],
    "properties": {"id": {"type": "integer"}, "solde": {"type": "integer", "minimum": 0}},
}

NOUVELLE_CLE: Schema = {"type": "object", "required": ["cleApi"], "properties": {"cleApi": CLE_API}}

FACTURE: Schema = {
    "type": "object",
    "required": ["id", "debut", "fin", "nbSms", "montant"],
    "properties": {
        "id": {"type": "integer"},
        "compte": {"type": "integer"},
        "debut": {"type": "string"},
        "fin": {"type": "string"},
        "nbSms": {"type": "integer", "minimum": 0},
        "montant": {"type": "integer", "minimum": 0},
        "regleLe": _nullable("string"),
        "reglee": {"type": "boolean"},
    },
}

SANTE: Schema = {
    "type": "object",
    "required": ["statut"],
    "properties": {
        "statut": {"type": "string", "enum": ["OK", "DEGRADE"]},
        "smsc": {"type": "object"},
        "stockage": {"type": "object"},
        "demarreLe": {"type": "string"},
    },
}

OBJET: Schema = {"type": "object"}

FACTURES: Schema = {"type": "object", "required": ["factures"],
                    "properties": {"factures": {"type": "array", "items": FACTURE}}}

JOURNAL: Schema = {
    "type": "object",
    "required": ["compte", "ecritures"],
    "properties": {
        "compte": {"type": "integer"},
        "ecritures": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "nature": {"type": "string"}, "montant": {"type": "integer"},
            "ref": _nullable("string"), "detail": {"type": "string"}, "date": {"type": "string"}}}},
        "curseurSuivant": CURSEUR_SUIVANT,
        "recalcule": {"type": "object"},
        "concorde": {"type": "boolean"},
    },
}
