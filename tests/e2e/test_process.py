"""run.py as an operator starts it: a real process, its output, its exit."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.stores import BACKEND, ON_POSTGRES, data_url

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, **env: str) -> subprocess.Popen[str]:
    full = {
        **os.environ,
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_DATA_URL": data_url(data_dir),
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_SIMULATOR_SMPP_PORT": "0",
        "SMSGW_SIMULATOR_CONTROL_PORT": "0",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "run.py"],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    """Lines printed by `proc` up to the one containing `marker` (a reader thread
    feeds a queue, so buffered output is never missed)."""
    assert proc.stdout is not None
    lines_q: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines_q.put(line.rstrip("\n"))
            if marker in line:
                return
        lines_q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    lines: list[str] = []
    while True:
        try:
            line = lines_q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed in {timeout_s}s; got {lines}")


def _value_after(lines: list[str], prefix: str) -> str:
    for line in lines:
        if prefix in line:
            return line.split(prefix, 1)[1].strip()
    raise AssertionError(f"no line with {prefix!r} in {lines}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_start_prints_what_an_operator_needs_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    proc = _start(tmp_path / "data")
    try:
        lines = _read_until(proc, "API key:", 45)
        url = _value_after(lines, "SMS Gateway API on ").split(" ")[0]
        key = _value_after(lines, "API key: ")
        token = _value_after(lines, "): ")
        assert "SMSC simulator: SMPP on 127.0.0.1:" in "\n".join(lines)
        assert (tmp_path / "data" / "admin_token").read_text().strip() == token
        with httpx.Client(base_url=url.removesuffix("/api/V1"), timeout=10) as client:
            r = client.post(
                "/api/V1/sms/unides",
                json={"emetteur": "ION-Networking", "destinataire": "+24106123456",
                      "corps": "Bienvenue sur SMS Gateway !"},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 202, r.text
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
        rest = proc.stdout.read() if proc.stdout else ""
        assert "Stopped cleanly." in rest
        assert "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_process_sets_its_cycle_collector_for_a_server(tmp_path: Path) -> None:
    """The threshold comes from the settings and the start-up heap is frozen out of
    the collector's reach; operators read both in GET /api/V1/admin/acteurs."""
    proc = _start(tmp_path / "data", SMSGW_ENGINE_GC_THRESHOLD="12345")
    try:
        lines = _read_until(proc, "API key:", 45)
        url = _value_after(lines, "SMS Gateway API on ").split(" ")[0]
        token = _value_after(lines, "): ")
        r = httpx.get(url + "/admin/acteurs", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
        assert r.status_code == 200, r.text
        collector = r.json()["processus"]["collecteur"]
        assert collector["seuils"][0] == 12345
        assert collector["geles"] > 10_000  # modules, settings, number metadata...
        assert len(collector["passages"]) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_store_and_its_sync_mode_are_printed_and_shown_to_operators(tmp_path: Path) -> None:
    proc = _start(tmp_path / "data", SMSGW_DATA_SYNC="normal")
    try:
        lines = _read_until(proc, "API key:", 45)
        store_line = _value_after(lines, "Store: ")
        assert store_line.startswith(f"{BACKEND} at ") and store_line.endswith(", sync NORMAL")
        if ON_POSTGRES:
            assert re.fullmatch(r"postgresql at 127\.0\.0\.1:\d+/postgres, sync NORMAL", store_line)
        else:
            assert str(tmp_path / "data" / "smsgw.sqlite3") in store_line
        url = _value_after(lines, "SMS Gateway API on ").split(" ")[0]
        token = _value_after(lines, "): ")
        r = httpx.get(url + "/admin/acteurs", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
        assert r.status_code == 200, r.text
        stockage = r.json()["stockage"]
        assert (stockage["backend"], stockage["sync"]) == (BACKEND, "normal")
        assert stockage["last_commit_ms"] >= 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    proc = _start(tmp_path / "data", SMSGW_SMSC_WINDOW="beaucoup")
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 2
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "smsc.window" in lines[0] and "SMSGW_SMSC_WINDOW" in lines[0]


def test_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(tmp_path / "data", SMSGW_HTTP_PORT=str(port))
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "start-up failed" in out and "Address already in use" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://gw:secret@127.0.0.1/sms", "must be empty (SQLite in the data folder) or postgresql://"),
        ("postgresql://gw:secret@127.0.0.1:99999/sms", "invalid port"),
        ("postgresql://gw:secret@127.0.0.1:5432/", "names no database"),
        ("postgresql://gw:secret@127.0.0.1:5432/sms?colour=blue", "not a valid PostgreSQL URL"),
    ],
)
def test_a_malformed_data_url_stops_start_up_with_one_line(
    tmp_path: Path, url: str, expected: str
) -> None:
    proc = _start(tmp_path / "data", SMSGW_DATA_URL=url)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("start-up failed: ") and expected in lines[0], lines[0]
    assert "secret" not in out


def test_an_unreachable_database_stops_start_up_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proc = _start(tmp_path / "data", SMSGW_DATA_URL=f"postgresql://gw:secret@127.0.0.1:{port}/sms")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith(f"start-up failed: cannot reach PostgreSQL at 127.0.0.1:{port}/sms")
    assert "secret" not in out
