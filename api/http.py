"""Request and response helpers shared by the routes.

`valid_body()` and `valid_query()` validate against the `@operation` record of
the route being served (api/openapi.py): the definition (api/models) the OpenAPI
document shows is the one that checks the request.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import TypeAdapter
from quart import Response, current_app, jsonify, request

from api.errors import HTTP_MESSAGES, ApiError
from api.models import Body, Refused, check, json_schema, value_details
from api.models.text import unstorable
from api.openapi import Operation, operation_of, resolve

M = TypeVar("M", bound=Body)
_INTEGER = re.compile(r"-?[0-9]{1,18}")
VALIDATION_MESSAGE = "La requête contient des champs invalides."
STORED_INTEGER_MAX = 2**63 - 1
"""The largest id a database stores (a signed 64-bit integer): a cursor or an id
past it names nothing and never reaches the store."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"valeur non autorisée en JSON : {name}")


def _number(text: str) -> int | float:
    """A JSON number with a fraction or an exponent: an integer when it is one
    (`3.0`, `1e3`), since JSON does not tell `3` from `3.0`."""
    value = float(text)
    return int(value) if value.is_integer() else value


def check_json_type(mimetype: str) -> None:
    """415 unless the content type (lower case, no parameters) is JSON or absent."""
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        code, message = HTTP_MESSAGES[415]
        raise ApiError(415, code, message)


def decode_json(raw: bytes | str) -> Any:
    """A request body read as JSON, or 400 JSON_INVALIDE; 422 VALIDATION naming
    each string that cannot be stored (a NUL or a lone surrogate, which JSON
    can only carry as a `\\u` escape, so a body without one is not walked).

    Every JSON body of the API passes here, whatever its route: such a string is
    refused before authentication, reservation or any write."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_number)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(
            400,
            "JSON_INVALIDE",
            "Le corps de la requête n'est pas un JSON valide (UTF-8).",
            [{"champ": "corps de la requête", "message": str(exc)[:200].encode(
                "utf-8", "backslashreplace").decode()}],
        ) from None
    if "\\u" in text:
        details = unstorable(value)
        if details:
            raise ApiError(422, "VALIDATION", VALIDATION_MESSAGE, details)
    return value


async def json_body() -> Any:
    """The request's JSON body, or 400 JSON_INVALIDE / 415 / 413."""
    check_json_type(request.mimetype)
    return decode_json(await request.get_data(cache=False))


def current_operation() -> Operation:
    view = current_app.view_functions.get(request.endpoint or "")
    op = operation_of(view, request.method)
    if op is None:
        raise LookupError(f"route {request.endpoint} has no @operation record")
    return op


def valid(model: type[M], value: Any) -> M:
    """`value` read by `model`, or 422 VALIDATION with one detail per faulty field."""
    try:
        return check(model, value)
    except Refused as refused:
        raise ApiError(422, "VALIDATION", VALIDATION_MESSAGE, refused.details) from None


async def valid_body() -> Any:
    """The JSON body, read by this route's documented request body."""
    body = await json_body()
    model = resolve(current_operation().body, current_app.extensions["settings"])
    return valid(model, body)


def valid_query() -> dict[str, Any]:
    """This route's documented query parameters, parsed and validated.

    Integers are parsed from their text; absent optional parameters are omitted.
    """
    out: dict[str, Any] = {}
    details: list[dict[str, str]] = []
    for param in current_operation().params:
        raw = request.args.get(param.name)
        if raw is None:
            if param.required:
                details.append({"champ": param.name, "message": "Paramètre obligatoire."})
            continue
        value: Any = raw
        if json_schema(param.schema).get("type") == "integer":
            if not _INTEGER.fullmatch(raw):
                details.append({"champ": param.name, "message": "Doit être un entier."})
                continue
            value = int(raw)
        found = value_details(_adapter(param.schema), value, param.name)
        if found:
            details.extend(found)
        else:
            out[param.name] = value
    if details:
        raise ApiError(422, "VALIDATION", VALIDATION_MESSAGE, details)
    return out


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _adapter(definition: Any) -> TypeAdapter[Any]:
    """The (cached) pydantic adapter of a parameter's definition."""
    found = _ADAPTERS.get(id(definition))
    if found is None:
        found = _ADAPTERS[id(definition)] = (definition, TypeAdapter(definition))
    return found[1]


def jsonify_status(payload: Any, status: int) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response
