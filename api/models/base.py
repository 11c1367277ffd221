"""What every request and answer definition shares: the strict body base, the
French details of a refused request, and the JSON Schema the OpenAPI document
shows (api/openapi.py), written by pydantic from the same definitions.

Rules every request definition shares:
- a body names only the fields its definition names (`extra="forbid"`): an
  unknown field is refused, named (a mistyped `dateEnvoie` must never send);
- types are strict: `"10"` is no integer, `true` no number; an integer may be
  written `3.0`, because api/http.py `decode_json` reads such a number as an
  integer (JSON does not tell `3` from `3.0`);
- a string never holds NUL (`TEXT`, shown in the document as a pattern); a lone
  UTF-16 surrogate cannot be said in a pattern: `decode_json` and the pages'
  form hook refuse both before any definition is consulted;
- an optional field given `null` counts as absent, unless its definition says it
  cannot be null.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import ErrorDetails

Schema = dict[str, Any]
Detail = dict[str, str]

TEXT = r"^[^\x00]*$"
"""No NUL: the pattern of every string a request carries that says no more."""

WHITESPACE = r"[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""Python's whitespace (`str.isspace`, what `str.strip` removes), spelled out so that
every regular expression engine reads a pattern the way the gateway does."""

Text = Annotated[str, Field(pattern=TEXT)]
"""A string of a request: anything but NUL."""

WHOLE_BODY = "corps de la requête"
PATTERN_MESSAGES: dict[str, str] = {}
"""The French message of a `pattern` a value does not match (`Format invalide.` otherwise)."""


def pattern(regex: str, message: str) -> str:
    """`regex`, with the French message a value that does not match it gets."""
    PATTERN_MESSAGES[regex] = message
    return regex


class Body(BaseModel):
    """A request body: strict, closed, its faults reported one detail per field.

    `missing_hints` replace « Champ obligatoire. » for a field (when the other
    field named with it was given instead); `unknown_hints` say more than
    « Champ inconnu » for a field the body does not take."""

    model_config = ConfigDict(strict=True, extra="forbid", hide_input_in_errors=True)

    missing_hints: ClassVar[Mapping[str, tuple[str, str]]] = {}
    unknown_hints: ClassVar[Mapping[str, str]] = {}


M = TypeVar("M", bound="Body")


class Refused(Exception):
    """A request's definition refused it: the French details, one per field."""

    def __init__(self, details: list[Detail]) -> None:
        super().__init__(details)
        self.details = details


def check(model: type[M], value: Any) -> M:
    """`value` read by `model`, or `Refused` with one detail per faulty field."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise Refused(body_details(model, exc, value)) from None


def body_details(model: type[Body], exc: ValidationError, value: Any) -> list[Detail]:
    """The French details of `exc`: one per field (the first fault), at most 20 per
    list, a field the body does not take named with the fields it does."""
    given = value if isinstance(value, dict) else {}
    errors = list(exc.errors(include_url=False))
    missing = {str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1}
    hinted: dict[str, str] = {}
    for name, (other, hint) in model.missing_hints.items():
        if name in missing and other in given:
            hinted[name] = hint
    details: list[Detail] = []
    for error in errors:
        loc = error["loc"]
        top = str(loc[0]) if loc else ""
        if error["type"] == "extra_forbidden":
            if any(other == top for other, _ in (model.missing_hints.get(h, ("", "")) for h in hinted)):
                continue  # said by the hint of the field it stood for
            details.append({"champ": top, "message": model.unknown_hints.get(top) or (
                "Champ inconnu : le contrat ne le nomme pas. Champs acceptés : "
                + ", ".join(_names(model)) + ".")})
            continue
        if top in hinted and len(loc) == 1:
            details.append({"champ": top, "message": hinted[top]})
            continue
        required = len(loc) == 1 and top in model.model_fields and model.model_fields[top].is_required()
        details.append(detail(error, required=required))
    return _one_per_field(details)


def _names(model: type[Body]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def value_details(adapter: TypeAdapter[Any], value: Any, champ: str) -> list[Detail]:
    """The French details of `value` against `adapter` (a query parameter or a header)."""
    try:
        adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        return _one_per_field([detail(e, prefix=champ) for e in exc.errors(include_url=False)])
    return []


def _one_per_field(details: list[Detail]) -> list[Detail]:
    seen: set[str] = set()
    per_list: dict[str, int] = {}
    out: list[Detail] = []
    for d in details:
        champ = d["champ"]
        if champ in seen:
            continue
        head = champ.split("[", 1)[0]
        if "[" in champ:
            per_list[head] = per_list.get(head, 0) + 1
            if per_list[head] > 20:
                continue
        seen.add(champ)
        out.append(d)
    return out


_TYPES = {
    "string_type": "une chaîne de caractères",
    "int_type": "un entier",
    "int_parsing": "un entier",
    "int_from_float": "un entier",
    "float_type": "un nombre",
    "float_parsing": "un nombre",
    "list_type": "une liste",
    "model_type": "un objet JSON",
    "model_attributes_type": "un objet JSON",
    "dict_type": "un objet JSON",
    "bool_type": "un booléen",
    "bool_parsing": "un booléen",
}


def _champ(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or WHOLE_BODY


def detail(error: ErrorDetails, *, required: bool = False, prefix: str = "") -> Detail:
    """One pydantic error as the contract's detail: `champ` (`a.b[3]`), French `message`."""
    kind, ctx = error["type"], error.get("ctx") or {}
    champ = ctx.get("champ") or _champ(error["loc"], prefix)
    return {"champ": str(champ), "message": _message(kind, ctx, error, required)}


def _message(kind: str, ctx: dict[str, Any], error: ErrorDetails, required: bool) -> str:
    given = error.get("input")
    if kind == "missing" or (given is None and required):
        return "Champ obligatoire."
    if given is None and (kind in _TYPES or kind in ("literal_error", "enum")):
        return "Ne peut pas être null."
    if kind in _TYPES:
        return f"Doit être {_TYPES[kind]}."
    if kind == "string_too_short":
        n = ctx["min_length"]
        return "Ne doit pas être vide." if n == 1 else f"Doit contenir au moins {n} caractères."
    if kind == "string_too_long":
        received = f" (reçu : {len(given)})" if isinstance(given, str) else ""
        return f"Ne doit pas dépasser {ctx['max_length']} caractères{received}."
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(str(ctx.get("pattern")), "Format invalide.")
    if kind in ("literal_error", "enum"):
        values = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return "Valeurs acceptées : " + ", ".join(values) + "."
    bounds = {
        "greater_than_equal": ("ge", "Doit être supérieur ou égal à {}."),
        "greater_than": ("gt", "Doit être strictement supérieur à {}."),
        "less_than_equal": ("le", "Doit être inférieur ou égal à {}."),
        "less_than": ("lt", "Doit être strictement inférieur à {}."),
        "too_short": ("min_length", "Doit contenir au moins {} élément(s)."),
        "too_long": ("max_length", "Doit contenir au plus {} éléments."),
    }
    if kind in bounds:
        key, text = bounds[kind]
        return text.format(ctx[key])
    if "message" in ctx:
        return str(ctx["message"])
    if kind.startswith("smsgw_"):
        return str(error["msg"])
    return "Format invalide."


# -- JSON Schema for the OpenAPI document ----------------------------------------------


class _DocumentSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, as the document shows it: no generated titles, no
    defaults (an absent field is described in words), every `$ref` inlined."""

    def generate(self, schema: Any, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode=mode)
        defs = out.pop("$defs", {})
        return _tidy(out, defs)  # type: ignore[no-any-return]

    def model_schema(self, schema: Any) -> JsonSchemaValue:
        return _without_docstring(super().model_schema(schema), schema["cls"])

    def typed_dict_schema(self, schema: Any) -> JsonSchemaValue:
        return _without_docstring(super().typed_dict_schema(schema), schema["cls"])


def _without_docstring(out: JsonSchemaValue, cls: type) -> JsonSchemaValue:
    """The class's docstring is for the code (in English); the document speaks French
    through `description` fields and `json_schema_extra`."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    if doc and out.get("description") == doc:
        out = {k: v for k, v in out.items() if k != "description"}
    return out


def _tidy(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_tidy(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _tidy(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        return {**target, **{k: _tidy(v, defs) for k, v in node.items() if k != "$ref"}}
    out = {}
    for key, value in node.items():
        if key in ("title", "default"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: _tidy(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _tidy(value, defs)
    return out


_CACHE: dict[tuple[int, str], Schema] = {}
_KEEP: list[Any] = []


def json_schema(source: Any, mode: JsonSchemaMode = "validation") -> Schema:
    """The JSON Schema of a definition (a model, a TypedDict, an annotated type) as the
    document shows it: `validation` for what a request carries, `serialization` for
    an answer. A plain dict is taken as already written."""
    if isinstance(source, dict):
        return source
    key = (id(source), mode)
    if key not in _CACHE:
        adapter = source if isinstance(source, TypeAdapter) else TypeAdapter(source)
        _CACHE[key] = adapter.json_schema(mode=mode, schema_generator=_DocumentSchema)
        _KEEP.append(source)
    return _CACHE[key]


SchemaSource = Any
"""A definition, or a function of the settings giving one (a body whose limit is set)."""


def resolve(source: SchemaSource, settings: Any) -> Any:
    """The definition of `source` under `settings` (None stays None)."""
    if source is None or isinstance(source, dict | TypeAdapter) or _is_definition(source):
        return source
    if callable(source):
        return source(settings)
    return source


def _is_definition(source: Any) -> bool:
    return isinstance(source, type) or hasattr(source, "__metadata__") or hasattr(source, "__origin__")


Factory = Callable[[Any], Any]
