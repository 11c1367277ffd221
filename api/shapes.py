"""JSON Schemas of typed records, for the OpenAPI document.

Operator views (the actors snapshot) are frozen dataclasses in the engine,
answered as `dataclasses.asdict(record)`. `record_schema` writes the JSON Schema
of that answer from the record's type hints, so the document and the answer
cannot drift: a field added to a record appears in the document with its type.

Supported hints: `int`, `float`, `str`, `bool`, `None` and unions of them,
`StrEnum` subclasses (an enum of their values), `tuple[X, ...]`, fixed tuples
(their length, each item one of their types), `list[X]`, `dict[str, X]` and
nested dataclasses. Anything else is a `TypeError`
when the document is built, never a silent `{}`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import StrEnum
from typing import Any

Schema = dict[str, Any]

_SCALARS: dict[Any, Schema] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}


def record_schema(record: type[Any]) -> Schema:
    """The JSON Schema of `dataclasses.asdict(instance)` for the dataclass `record`.

    Every field is required (asdict writes them all); no other property appears.
    """
    if not dataclasses.is_dataclass(record):
        raise TypeError(f"{record!r} is not a dataclass")
    hints = typing.get_type_hints(record)
    fields = dataclasses.fields(record)
    return {
        "type": "object",
        "required": [f.name for f in fields],
        "properties": {f.name: _hint_schema(hints[f.name], f"{record.__name__}.{f.name}") for f in fields},
        "additionalProperties": False,
    }


def _hint_schema(hint: Any, where: str) -> Schema:
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return {"type": "string", "enum": [member.value for member in hint]}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record_schema(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_hint_schema(arg, where) for arg in args]}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _hint_schema(args[0], where)}
        # a fixed tuple: its length, and each item one of its element types (no
        # `prefixItems`, which not every OpenAPI 3.1 tool reads)
        options: list[Schema] = []
        for arg in args:
            option = _hint_schema(arg, where)
            if option not in options:
                options.append(option)
        return {
            "type": "array",
            "items": options[0] if len(options) == 1 else {"anyOf": options},
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is list:
        return {"type": "array", "items": _hint_schema(args[0], where)}
    if origin is dict and args and args[0] is str:
        return {"type": "object", "additionalProperties": _hint_schema(args[1], where)}
    raise TypeError(f"{where}: no JSON Schema for the type hint {hint!r}")
