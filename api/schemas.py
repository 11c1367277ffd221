"""Request bodies: one definition per body, used both to validate requests and to
write the OpenAPI document (so the two cannot drift).

A definition is a small JSON Schema (the subset below). `validate` returns one
`{"champ", "message"}` detail per faulty field, in French.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

Schema = dict[str, Any]

EMETTEUR: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 20,
    "description": "Numéro international (+241...) ou nom de 1 à 20 caractères "
    "(lettres, chiffres, espace, -, ., _). Au-delà de 11 caractères, un avertissement est renvoyé.",
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


CREATE_ACCOUNT: Schema = {
    "type": "object",
    "required": ["nom", "type"],
    "properties": {
        "nom": {"type": "string", "minLength": 1, "maxLength": 100, "example": "Banque de Libreville"},
        "type": {"type": "string", "enum": ["PREPAYE", "POSTPAYE"]},
        "solde": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "example": 1000},
        "email": {"type": "string", "maxLength": 254, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
        "motDePasse": {"type": "string", "minLength": 8, "maxLength": 200},
        "debitMax": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000, "example": 100},
    },
    "example": {"nom": "Banque de Libreville", "type": "PREPAYE", "solde": 1000},
}

CREDIT: Schema = {
    "type": "object",
    "required": ["montant"],
    "properties": {
        "montant": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "example": 1000}
    },
}

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
    kind = schema.get("type")
    where = path or "corps de la requête"
    if kind and not _is_type(value, kind):
        return [{"champ": where, "message": f"Doit être {_TYPE_NAMES[kind]}."}]
    details: list[dict[str, str]] = []
    if kind == "object":
        props: dict[str, Schema] = schema.get("properties", {})
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
        if "minLength" in schema and len(value) < schema["minLength"]:
            details.append({"champ": where, "message": _min_len(schema["minLength"])})
        elif "maxLength" in schema and len(value) > schema["maxLength"]:
            details.append(
                {"champ": where, "message": f"Ne doit pas dépasser {schema['maxLength']} caractères "
                 f"(reçu : {len(value)})."}
            )
        if "enum" in schema and value not in schema["enum"]:
            details.append({"champ": where, "message": "Valeurs acceptées : " + ", ".join(schema["enum"]) + "."})
        if "pattern" in schema and not re.search(schema["pattern"], value):
            details.append({"champ": where, "message": "Format invalide."})
        if schema.get("format") == "date":
            try:
                date.fromisoformat(value)
                if len(value) != 10:
                    raise ValueError
            except ValueError:
                details.append({"champ": where, "message": "Doit être une date AAAA-MM-JJ."})
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


def openapi_schema(schema: Schema) -> Schema:
    """The definition as OpenAPI 3.1 shows it (without our private keys)."""
    out = {k: v for k, v in schema.items() if k != "hints"}
    if "properties" in out:
        out["properties"] = {k: openapi_schema(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = openapi_schema(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = openapi_schema(out["additionalProperties"])
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
    },
}

CURSEUR_SUIVANT: Schema = _nullable(
    "string", description="À passer en `curseur` pour la page suivante ; null à la fin."
)

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
CURSEUR: Schema = {"type": "string", "maxLength": 200, "description": "Valeur opaque `curseurSuivant` de la page précédente."}
DATE_OU_INSTANT: Schema = {
    "type": "string",
    "format": "date-or-date-time",
    "maxLength": 40,
    "description": "AAAA-MM-JJ (jour du fuseau de la passerelle) ou date-heure ISO 8601.",
}

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
