"""What a client gets wrong gets a clear answer in the contract's error format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from tests.harness import open_stack
from tests.stores import audit_connection

BODY = {"emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": "Bonjour"}


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["erreur"]
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], list)
    return err


async def test_keys_missing_unknown_and_expired_answer_401(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            url = "/api/V1/sms/unides"
            _error(await stack.client.post(url, json=BODY), 401, "CLE_API_MANQUANTE")
            _error(
                await stack.client.post(
                    url, json=BODY, headers={"X-API-Key": "5ac1a3d4-92b8-4f5e-993c-19b41c2f8e31"}
                ),
                401,
                "CLE_API_INVALIDE",
            )
            account_id, key = await stack.new_account(solde=5)
            with audit_connection(stack.settings.data.dir) as conn:
                conn.execute(
                    "UPDATE api_keys SET expire_le = '2020-01-01T00:00:00.000Z' WHERE account_id = ?",
                    (account_id,),
                )
            err = _error(
                await stack.client.post(url, json=BODY, headers={"X-API-Key": key}), 401, "CLE_API_EXPIREE"
            )
            assert "2020-01-01" in err["message"]
            account = await stack.client.get(f"/api/V1/admin/comptes/{account_id}", headers=stack.admin)
            assert account.json()["reserve"] == 0 and account.json()["solde"] == 5


async def test_another_accounts_ref_is_404_not_403(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key_a = await stack.new_account(solde=5)
            _, key_b = await stack.new_account(solde=5)
            r = await stack.client.post("/api/V1/sms/unides", json=BODY, headers={"X-API-Key": key_a})
            ref = r.json()["ref"]
            _error(
                await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key_b}),
                404, "REF_INCONNUE",
            )
            _error(
                await stack.client.get("/api/V1/sms/999999", headers={"X-API-Key": key_a}),
                404, "REF_INCONNUE",
            )
            ok = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key_a})
            assert ok.status_code == 200


async def test_malformed_json_and_long_body_leave_nothing_behind(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=5)
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            _error(
                await stack.client.post(
                    "/api/V1/sms/unides", content=b'{"emetteur": "ION",', headers=headers
                ),
                400,
                "JSON_INVALIDE",
            )
            err = _error(
                await stack.client.post(
                    "/api/V1/sms/unides", json={**BODY, "corps": "x" * 161}, headers={"X-API-Key": key}
                ),
                422,
                "VALIDATION",
            )
            assert [d["champ"] for d in err["details"]] == ["corps"]
            assert "160" in err["details"][0]["message"]
            account = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert (account["solde"], account["reserve"]) == (5, 0)
            with audit_connection(stack.settings.data.dir) as conn:
                assert conn.execute("SELECT COUNT(*) FROM sends").fetchone()[0] == 0
                assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


async def test_admin_side_needs_its_own_token(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account()
            body = {"nom": "X", "type": "PREPAYE"}
            _error(await stack.client.post("/api/V1/admin/comptes", json=body), 401, "JETON_ADMIN_MANQUANT")
            _error(
                await stack.client.post(
                    "/api/V1/admin/comptes", json=body, headers={"Authorization": f"Bearer {key}"}
                ),
                403,
                "JETON_ADMIN_INVALIDE",
            )
