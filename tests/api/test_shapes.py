"""The actors snapshot is documented from its typed record, and its answer fits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import trio

from api.shapes import record_schema
from tests.harness import open_stack


class Colour(StrEnum):
    RED = "ROUGE"
    BLUE = "BLEU"


@dataclass(frozen=True, slots=True)
class Inner:
    count: int
    ratio: float


@dataclass(frozen=True, slots=True)
class Outer:
    name: str
    colour: Colour
    limit: float | None
    inners: tuple[Inner, ...]
    pair: tuple[int, str]
    tags: list[str]
    by_name: dict[str, int]
    flag: bool


def test_a_record_schema_names_every_field_with_its_type() -> None:
    schema = record_schema(Outer)
    assert schema["required"] == ["name", "colour", "limit", "inners", "pair", "tags", "by_name", "flag"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["name"] == {"type": "string"}
    assert props["colour"] == {"type": "string", "enum": ["ROUGE", "BLEU"]}
    assert props["limit"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    assert props["inners"]["items"]["required"] == ["count", "ratio"]
    assert props["pair"] == {
        "type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "minItems": 2, "maxItems": 2,
    }
    assert props["by_name"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["flag"] == {"type": "boolean"}


def test_a_record_schema_accepts_its_own_asdict_and_refuses_a_missing_field() -> None:
    from dataclasses import asdict

    value = Outer("a", Colour.BLUE, None, (Inner(1, 0.5),), (1, "x"), ["t"], {"k": 2}, True)
    schema = record_schema(Outer)
    jsonschema_rs.validate(schema, _json(asdict(value)))
    broken = _json(asdict(value))
    del broken["inners"][0]["ratio"]
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(schema, broken)


def test_a_type_without_a_json_schema_is_refused_when_the_document_is_built() -> None:
    @dataclass
    class Odd:
        when: complex

    with pytest.raises(TypeError, match="Odd.when"):
        record_schema(Odd)


def _json(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


async def test_the_actors_snapshot_answer_matches_the_published_document(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            headers = {"X-API-Key": stack.running.demo_key or ""}
            sent = await stack.client.post(
                "/api/V1/sms/unides",
                json={"emetteur": "ION", "destinataire": "+24106123456", "corps": "Bonjour"},
                headers=headers,
            )
            assert sent.status_code == 202, sent.text
            answer = await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)
            assert answer.status_code == 200
            document = (await stack.client.get("/api/V1/openapi.json")).json()
    operation = document["paths"]["/api/V1/admin/acteurs"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {
        "comptes", "registre", "repartiteur", "connexions", "liaisons", "stockage", "accuses", "rappels",
        "campagnes", "processus", "taches",
    }
    body = answer.json()
    assert body["comptes"], "the demo account's actor is live after a send"
    assert body["liaisons"][0]["state"] in {"LIE", "CONNEXION", "DECONNECTE"}
    assert [c["nom"] for c in body["connexions"]] == ["defaut"]
    jsonschema_rs.validate(schema, body)
