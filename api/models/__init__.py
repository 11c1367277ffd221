"""Request and answer definitions, on pydantic: each one checks what it defines
and is what the OpenAPI document shows (api/openapi.py), so the two cannot drift.

- `api.models.base`: the strict `Body` base, French details of a refusal
  (`check`, `Refused`, `value_details`), the document's JSON Schema (`json_schema`);
- `api.models.requests`: the send and administration bodies, query parameters, headers;
- `api.models.answers`: the answer bodies;
- `api.models.text`: strings no database can store (`unstorable`).
"""

from api.models.base import (
    TEXT,
    WHITESPACE,
    Body,
    Detail,
    Refused,
    Schema,
    SchemaSource,
    Text,
    check,
    json_schema,
    pattern,
    resolve,
    value_details,
)

__all__ = [
    "TEXT",
    "WHITESPACE",
    "Body",
    "Detail",
    "Refused",
    "Schema",
    "SchemaSource",
    "Text",
    "check",
    "json_schema",
    "pattern",
    "resolve",
    "value_details",
]
