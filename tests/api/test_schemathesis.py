"""Schemathesis, run from outside as an integrator's tooling would, finds the
gateway and its OpenAPI document in agreement.

A real `run.py` process (embedded simulator, the run's store, every port 0) is started
with an admin token and seeded over HTTP: the demo prepaid account and its key,
a planned campaign, a second account whose key the key-regeneration operation
may revoke, and an invoice. The `schemathesis run` command then loads the
document from the running gateway and plays every phase (examples, coverage,
fuzzing, stateful) with every check against every operation of the API, the
browser pages (tag `Pages`, behind a session cookie and CSRF forms) excepted.

Any 5xx, any answer the document does not describe (status, content type,
headers, body), any valid request refused, any invalid request accepted, any
request left unanswered past the request timeout fails the run, and this test
with it, printing Schemathesis's report. Generation is derandomized (fixed seed,
deterministic mode): two runs send the same requests.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from tests.stores import data_url

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "jeton-admin-schemathesis"
START_TIMEOUT_S = 45.0
RUN_TIMEOUT_S = 900.0
REQUEST_TIMEOUT_S = 5.0
MAX_EXAMPLES = 50
"""Fuzzed cases per operation and generation mode; the coverage, examples and
stateful phases add theirs: a few hundred requests per operation in all."""
MIN_CASES_PER_OPERATION = 60
"""Requests Schemathesis must at least have generated, on average per operation,
for the run to count."""


@dataclass(frozen=True)
class Gateway:
    base_url: str
    demo_key: str
    lines: list[str]


def _pump(proc: subprocess.Popen[str], lines: list[str], seen: queue.Queue[str | None]) -> None:
    """Drain the process's output for its whole life (a full pipe would block it)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        seen.put(line)
    seen.put(None)


@contextmanager
def running_gateway(data_dir: Path) -> Iterator[Gateway]:
    env = {
        **os.environ,
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_DATA_URL": data_url(data_dir),  # the run's store backend
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_SIMULATOR_SMPP_PORT": "0",
        "SMSGW_SIMULATOR_CONTROL_PORT": "0",
        "SMSGW_ADMIN_TOKEN": ADMIN_TOKEN,
        "SMSGW_HTTP_RATE_LIMIT_PER_S": "100000",
        "SMSGW_HTTP_RATE_LIMIT_BURST": "100000",
        "SMSGW_DATA_SYNC": "normal",  # a throwaway store: no fsync at every commit
    }
    proc = subprocess.Popen(
        [sys.executable, "run.py"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    seen: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc, lines, seen), daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = key = None
        while key is None:
            line = seen.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"the gateway stopped while starting: {lines}"
            if "SMS Gateway API on " in line:
                url = line.split("SMS Gateway API on ", 1)[1].split(" ")[0].removesuffix("/api/V1")
            if "API key: " in line:
                key = line.rsplit("API key: ", 1)[1].strip()
        assert url is not None
        yield Gateway(url, key, lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Seeds:
    campaign_ref: str
    spare_key: str
    postpaid_id: int
    invoice_id: int
    keys_key: str
    key_id: int
    amended_id: int


def seed(gateway: Gateway) -> Seeds:
    """What the operations taking an id need to reach existing resources."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=gateway.base_url, timeout=REQUEST_TIMEOUT_S) as client:
        tomorrow = datetime.now(ZoneInfo("Africa/Libreville")).date() + timedelta(days=1)
        r = client.post("/api/V1/sms/muldesp", headers={"X-API-Key": gateway.demo_key}, json={
            "emetteur": "ION-Networking", "numeros": ["+24106123456", "+24107456789"],
            "corps": "Campagne d'essai", "dateDebut": tomorrow.isoformat(),
            "dateFin": (tomorrow + timedelta(days=5)).isoformat(),
            "nbParJour": 10, "intervalleMinutes": 60,
        })
        assert r.status_code == 202, r.text
        campaign_ref = r.json()["ref"]
        r = client.post("/api/V1/sms/unides", headers={"X-API-Key": gateway.demo_key}, json={
            "emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": "Bonjour"})
        assert r.status_code == 202, r.text
        r = client.post("/api/V1/admin/comptes", headers=admin,
                        json={"nom": "Compte de rechange", "type": "PREPAYE", "solde": 10})
        assert r.status_code == 201, r.text
        spare_key = r.json()["cleApi"]["cle"]
        r = client.post("/api/V1/admin/comptes", headers=admin,
                        json={"nom": "Compte postpayé", "type": "POSTPAYE"})
        assert r.status_code == 201, r.text
        postpaid = r.json()
        r = client.post(f"/api/V1/admin/comptes/{postpaid['id']}/factures", headers=admin)
        assert r.status_code == 201, r.text
        invoice_id = r.json()["id"]
        r = client.post("/api/V1/admin/comptes", headers=admin,
                        json={"nom": "Compte des clés", "type": "PREPAYE"})
        assert r.status_code == 201, r.text
        keys_key = r.json()["cleApi"]["cle"]
        r = client.post("/api/V1/compte/cles", headers={"X-API-Key": keys_key},
                        json={"nom": "Clé à révoquer"})
        assert r.status_code == 201, r.text
        key_id = r.json()["id"]
        r = client.post("/api/V1/admin/comptes", headers=admin,
                        json={"nom": "Compte modifié", "type": "PREPAYE"})
        assert r.status_code == 201, r.text
        return Seeds(campaign_ref, spare_key, postpaid["id"], invoice_id, keys_key, key_id,
                     r.json()["id"])


def config(gateway: Gateway, seeds: Seeds) -> str:
    """Schemathesis's configuration: every check, the credentials of each security
    scheme of the document, and values that name existing resources."""
    return f"""
seed = 20260101
request-timeout = {REQUEST_TIMEOUT_S}
max-stream-events = 2
suppress-health-check = ["too_slow", "filter_too_much", "data_too_large"]

[generation]
deterministic = true
max-examples = {MAX_EXAMPLES}
database = "none"

[checks]
enabled = true

[auth.openapi.cleApi]
api_key = "{gateway.demo_key}"

[auth.openapi.jetonAdmin]
bearer = "{ADMIN_TOKEN}"

[parameters]
"path.ref" = "{seeds.campaign_ref}"
"path.invoice_id" = {seeds.invoice_id}

# Regenerating a key revokes the one that asked: it gets its own account's key,
# so the rest of the run keeps the demo key.
[[operations]]
include-path = "/api/V1/compte/cle"
headers = {{ "X-API-Key" = "{seeds.spare_key}" }}

# Rules across fields or that depend on today's date (dateDebut not in the past,
# dateFin not before it, at most 366 days, a slot left) are in the operation's
# description; JSON Schema cannot state them, so a refusal for them is expected.
[[operations]]
include-operation-id = "campagnes_muldesp_route_post"
checks.positive_data_acceptance.expected-statuses = [202, 401, 409, 413, 422, 429, 503]

# `jusqua` after `depuis`: a rule across two parameters, in the description too.
[[operations]]
include-operation-id = "sms_list_sends_get"
checks.positive_data_acceptance.expected-statuses = [200, 401, 422, 429, 503]

# A callback URL whose host is or resolves to a private address is refused
# (URL_RAPPEL_INTERDITE) and a dateEnvoi must fall between now and 366 days ahead:
# rules on what a value names, in the descriptions; JSON Schema cannot state them.
[[operations]]
include-path-regex = "^/api/V1/sms/(unides|muldes)$"
checks.positive_data_acceptance.expected-statuses = [202, 401, 409, 413, 422, 429, 503]
[[operations]]
include-operation-id = "admin_amend_account_patch"
checks.positive_data_acceptance.expected-statuses = [200, 401, 404, 409, 422, 429, 503]
[[operations]]
include-path-regex = "factures"
parameters = {{ "path.account_id" = {seeds.postpaid_id} }}

# Creating and revoking keys happen on an account of their own (a revoked key is
# refused from then on, and an account holds at most 10 live keys: 409 beyond).
[[operations]]
include-operation-id = "compte_create_key_post"
headers = {{ "X-API-Key" = "{seeds.keys_key}" }}
checks.positive_data_acceptance.expected-statuses = [201, 401, 409, 429, 503]

[[operations]]
include-operation-id = "compte_revoke_key_delete"
headers = {{ "X-API-Key" = "{seeds.keys_key}" }}
parameters = {{ "path.key_id" = {seeds.key_id} }}
checks.positive_data_acceptance.expected-statuses = [204, 401, 404, 429, 503]

# A number is valid for the gateway's numbering plan, which JSON Schema cannot state;
# removing a number not on the list is 404.
[[operations]]
include-operation-id = "compte_add_opt_outs_post"
checks.positive_data_acceptance.expected-statuses = [200, 401, 422, 429, 503]

[[operations]]
include-operation-id = "compte_remove_opt_out_delete"
checks.positive_data_acceptance.expected-statuses = [204, 401, 404, 429, 503]

# Amending (suspending, restricting senders) goes to an account of its own, so the
# demo account keeps sending under any sender.
[[operations]]
include-operation-id = "admin_amend_account_patch"
parameters = {{ "path.account_id" = {seeds.amended_id} }}
checks.positive_data_acceptance.expected-statuses = [200, 401, 404, 409, 422, 429, 503]
"""


def test_schemathesis_finds_the_gateway_and_its_document_in_agreement(tmp_path: Path) -> None:
    with running_gateway(tmp_path / "data") as gateway:
        seeds = seed(gateway)
        document = httpx.get(f"{gateway.base_url}/api/V1/openapi.json", timeout=REQUEST_TIMEOUT_S)
        # Schemathesis leaves out the operation that serves the document it loaded
        api_operations = sum(
            1 for path, item in document.json()["paths"].items() for operation in item.values()
            if "Pages" not in operation["tags"] and path != "/api/V1/openapi.json"
        )
        config_file = tmp_path / "schemathesis.toml"
        config_file.write_text(config(gateway, seeds), encoding="utf-8")
        started = time.monotonic()
        try:
            run = subprocess.run(  # noqa: S603 - the schemathesis command of this environment
                [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "--config-file", str(config_file),
                    "run", f"{gateway.base_url}/api/V1/openapi.json",
                    "--checks", "all", "--exclude-tag", "Pages", "--workers", "1", "--no-color",
                ],
                cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"Schemathesis did not finish within {RUN_TIMEOUT_S:.0f}s:\n{exc.stdout!s}"
            ) from None
        elapsed_s = time.monotonic() - started
        crashes = [line for line in gateway.lines if "Traceback" in line]
    report = run.stdout + run.stderr
    tested = re.search(r"Tested: (\d+)", report)
    generated = re.search(r"(\d+) generated", report)
    assert tested and generated, report
    assert int(tested.group(1)) == api_operations, report
    assert int(generated.group(1)) >= MIN_CASES_PER_OPERATION * api_operations, report
    print(f"schemathesis: {generated.group(1)} requests over {api_operations} operations "
          f"in {elapsed_s:.0f} s")
    assert run.returncode == 0, f"after {elapsed_s:.0f}s:\n{report}"
    assert not crashes, "\n".join(gateway.lines)
