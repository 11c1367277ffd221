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
        "hints": {"destinataire": "Pour un envoi multiple, utilisez le champ « numeros » (liste)."},
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
    return out
