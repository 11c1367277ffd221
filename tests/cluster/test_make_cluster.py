"""`make cluster` as a newcomer runs it: PostgreSQL, the simulator and two nodes
started, their URLs printed, everything gone after Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from smsgw_cli.cluster import ROOT


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    out: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line.rstrip("\n"))
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _read_until(out: queue.Queue[str | None], marker: str, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    lines: list[str] = []
    while True:
        try:
            line = out.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed within {timeout_s} s: {lines}")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_cluster_prints_two_nodes_and_stops_everything_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "smsgw_cli.cluster", "--lease-s", "1"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        out = _lines(proc)
        text = "\n".join(_read_until(out, "Ctrl-C stops", 90))
        nodes = re.findall(r"^(node-\d): (http://\S+)/api/V1 \(pid (\d+), log ", text, re.M)
        assert [name for name, _, _ in nodes] == ["node-1", "node-2"], text
        token = re.search(r"^Admin token: (\S+)$", text, re.M)
        pg_port = re.search(r"^PostgreSQL: postgresql://postgres@127\.0\.0\.1:(\d+)/smsgw$", text, re.M)
        control = re.search(r"control API on (http://\S+)", text)
        assert token and pg_port and control, text
        assert f"Bearer {token.group(1)}" in text and "kill -9 " in text  # what to try
        for name, url, _ in nodes:
            health = httpx.get(url + "/api/V1/sante", timeout=10).json()
            assert (health["statut"], health["noeud"]) == ("OK", name), health
            r = httpx.get(url + "/api/V1/admin/comptes", timeout=10,
                          headers={"Authorization": f"Bearer {token.group(1)}"})
            assert r.status_code == 200, r.text
        binds = httpx.get(control.group(1) + "/stats", timeout=10).json()["binds_current"]
        assert sum(binds.values()) == 4, binds  # two per node

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        rest = []
        while (line := out.get(timeout=10)) is not None:
            rest.append(line)
        assert rest[-1] == "Stopped.", rest
        assert all(_gone(int(pid)) for _, _, pid in nodes), nodes
        with socket.socket() as probe:  # the server is stopped
            assert probe.connect_ex(("127.0.0.1", int(pg_port.group(1)))) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
