"""`SMSGW_LOG_FORMAT=json`: a whole run of run.py writes one JSON object a line,
each record of a request carrying its id (and the account and ref once known),
and no key, password, admin token, session or CSRF token appears anywhere in it."""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.harness import csrf_of
from tests.stores import data_url

ROOT = Path(__file__).resolve().parents[2]
UNIDES = {"emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": "Bonjour"}


class Output:
    """Every line the process writes (stdout and stderr), read by a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._seen: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._seen.put(line)
        self._seen.put(None)

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._seen.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if text in line:
                return line
        raise AssertionError(f"{text!r} not written in {timeout_s}s:\n" + "\n".join(self.lines))


def test_a_whole_run_logs_json_with_request_context_and_no_secret(tmp_path: Path) -> None:
    admin_token = secrets.token_urlsafe(24)
    proc = subprocess.Popen(
        [sys.executable, "run.py"], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "SMSGW_DATA_DIR": str(tmp_path / "data"),
             "SMSGW_DATA_URL": data_url(tmp_path / "data"), "SMSGW_HTTP_PORT": "0",
             "SMSGW_SIMULATOR_SMPP_PORT": "0", "SMSGW_SIMULATOR_CONTROL_PORT": "0",
             "SMSGW_ADMIN_TOKEN": admin_token, "SMSGW_LOG_FORMAT": "json",
             "SMSGW_LOG_REQUESTS": "true", "SMSGW_LOG_LEVEL": "DEBUG"},
    )
    out = Output(proc)
    secrets_used = [admin_token]
    try:
        started = json.loads(out.wait_for("SMS Gateway API on", 45))
        base = re.search(r"(http://\S+)/api/V1", started["message"]).group(1)  # type: ignore[union-attr]
        admin = {"Authorization": f"Bearer {admin_token}"}
        with httpx.Client(base_url=base, timeout=15) as api:
            password, new_password, reset_password = (secrets.token_urlsafe(12) for _ in range(3))
            secrets_used += [password, new_password, reset_password]
            created = api.post("/api/V1/admin/comptes", headers=admin, json={
                "nom": "Banque", "type": "PREPAYE", "solde": 50, "email": "a@banque.ga",
                "motDePasse": password})
            assert created.status_code == 201, created.text
            account, key = created.json()["id"], created.json()["cleApi"]["cle"]
            secrets_used.append(key)
            sent = api.post("/api/V1/sms/unides", json=UNIDES, headers={"X-API-Key": key})
            assert sent.status_code == 202, sent.text
            ref = sent.json()["ref"]
            assert api.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key}).status_code == 200
            wrong_key, wrong_token = str(uuid.uuid4()), secrets.token_urlsafe(24)
            secrets_used += [wrong_key, wrong_token]
            assert api.get("/api/V1/compte", headers={"X-API-Key": wrong_key}).status_code == 401
            assert api.get("/api/V1/admin/comptes",
                           headers={"Authorization": f"Bearer {wrong_token}"}).status_code == 403

        with httpx.Client(base_url=base, timeout=15) as browser:
            page = browser.get("/espace/connexion")
            secrets_used.append(csrf_of(page.text))
            refused = browser.post("/espace/connexion", data={
                "csrf": csrf_of(page.text), "identifiant": "a@banque.ga",
                "motDePasse": "pas-le-bon-" + password})
            assert refused.status_code == 401
            logged_in = browser.post("/espace/connexion", data={
                "csrf": csrf_of(page.text), "identifiant": "a@banque.ga", "motDePasse": password})
            assert logged_in.status_code == 303, logged_in.text
            secrets_used += [v for v in browser.cookies.values()]
            csrf = csrf_of(browser.get("/espace").text)
            secrets_used.append(csrf)
            regenerated = browser.post("/espace/cle", headers={"X-CSRF-Token": csrf})
            assert regenerated.status_code == 201, regenerated.text
            new_key = regenerated.json()["cleApi"]["cle"]
            secrets_used.append(new_key)
            changed = browser.post("/espace/mot-de-passe", data={
                "csrf": csrf, "actuel": password, "nouveau": new_password})
            assert changed.status_code == 200, changed.text
            form_send = browser.post("/espace/envois", data={
                "csrf": csrf, "type": "UNIDES", "emetteur": "ION", "destinataire": "+24106123457",
                "corps": "Bonjour"})
            assert form_send.status_code == 202, form_send.text
            secrets_used += [v for v in browser.cookies.values()]

        with httpx.Client(base_url=base, timeout=15) as api:
            amended = api.patch(f"/api/V1/admin/comptes/{account}", headers=admin,
                                json={"motDePasse": reset_password})
            assert amended.status_code == 200, amended.text
            assert api.get("/api/V1/compte", headers={"X-API-Key": new_key}).status_code == 200
            assert api.get("/api/V1/compte", headers={"X-API-Key": key}).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    out.wait_for("Stopped cleanly", 10)

    records = [_record(line) for line in out.lines if line.strip()]
    assert proc.returncode == 0
    whole = "\n".join(out.lines)
    leaked = [s for s in secrets_used if s and s in whole]
    assert not leaked, f"{len(leaked)} secret(s) in the log:\n{whole}"

    requests = [r for r in records if r["logger"] == "smsgw.requests"]
    assert len(requests) >= 15
    assert all(r.get("request_id") for r in requests)
    assert len({r["request_id"] for r in requests}) == len(requests), "one id per request"
    unides = [r for r in requests if r["path"] == "/api/V1/sms/unides" and r["status"] == 202]
    assert [(r["account"], r["ref"]) for r in unides] == [(account, ref)]
    in_space = [r for r in requests if r["path"] == "/espace/cle"]
    assert [r["account"] for r in in_space] == [account]
    refusal = next(r for r in records if "unknown API key" in r["message"])
    assert refusal.get("request_id"), "an engine record of a request carries its id"


def _record(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise AssertionError(f"not a JSON object: {line!r}") from None
    assert isinstance(record, dict), line
    assert {"time", "level", "logger", "message"} <= set(record), record
    return record
