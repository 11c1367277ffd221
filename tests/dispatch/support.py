"""What the dispatch tests share: numbers, sends and reading every recipient back
through the API, as a client would."""

from __future__ import annotations

from typing import Any

from tests.harness import Stack, eventually

BODY = "Votre code de confirmation est 4242."


def numbers(prefix: str, count: int, start: int = 0) -> list[str]:
    """`count` distinct Gabonese mobile numbers, e.g. prefix "+24106"."""
    return [f"{prefix}{start + i:06d}" for i in range(count)]


async def muldes(stack: Stack, key: str, numeros: list[str], corps: str = BODY) -> dict[str, Any]:
    return await _accepted(stack, key, "muldes", {"numeros": numeros, "corps": corps})


async def unides(stack: Stack, key: str, numero: str, corps: str = BODY) -> dict[str, Any]:
    return await _accepted(stack, key, "unides", {"destinataire": numero, "corps": corps})


async def _accepted(stack: Stack, key: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await stack.client.post(
        f"/api/V1/sms/{route}",
        json={"emetteur": "ION-Networking", **body},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


async def send_status(stack: Stack, key: str, ref: str) -> dict[str, Any]:
    r = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def until_ended(stack: Stack, key: str, ref: str, within_s: float) -> dict[str, Any]:
    """The send once no recipient is EN_ATTENTE any more."""
    return await eventually(
        lambda: send_status(stack, key, ref),
        lambda s: s["compteurs"]["EN_ATTENTE"] == 0,
        within_s=within_s,
    )


async def recipients(stack: Stack, key: str, ref: str) -> list[dict[str, Any]]:
    """Every recipient of a send, in list order, walking the cursor."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limite": 1000}
        if cursor:
            params["curseur"] = cursor
        r = await stack.client.get(
            f"/api/V1/sms/{ref}/messages", params=params, headers={"X-API-Key": key}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["messages"])
        cursor = page["curseurSuivant"]
        if not cursor:
            return out


async def account(stack: Stack, key: str) -> dict[str, Any]:
    r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]
