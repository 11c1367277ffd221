"""A configuration of connections that cannot route stops start-up with one line
naming what is wrong (run.py as an operator starts it: a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TWO = """
[smsc.connections.airtel]
prefixes = ["24107"]
[smsc.connections.moov]
prefixes = ["24106"]
"""


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        (TWO + '[routing]\ndefault = "orange"\n', "routing.default names no connection: 'orange'"),
        (TWO.replace('["24106"]', '["24106", "24107"]') + '[routing]\ndefault = "airtel"\n',
         "prefix '24107' is on two connections"),
        ("[smsc.connections]\n", "[smsc.connections] names no connection"),
        ('[routing]\ndefault = "airtel"\n', "no [smsc.connections.NAME] is configured"),
        (TWO, "routing.default must name the connection of unmatched numbers"),
        (TWO.replace('["24107"]', '["+24107"]') + '[routing]\ndefault = "airtel"\n',
         "smsc.connections.airtel.prefixes"),
    ],
    ids=["unknown-default", "prefix-on-two", "no-connection", "default-without-connections",
         "no-default", "prefix-not-digits"],
)
def test_bad_connections_stop_start_up_with_one_line(tmp_path: Path, toml: str, named: str) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(toml)
    env = {**os.environ, "SMSGW_DATA_DIR": str(tmp_path / "data"), "SMSGW_HTTP_PORT": "0"}
    proc = subprocess.run(  # noqa: S603 - our own run.py with a test configuration
        [sys.executable, "run.py", "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("configuration error: ") and named in lines[0], lines[0]
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


def test_the_gabon_example_loads_two_connections() -> None:
    from config import load_settings

    settings = load_settings(ROOT / "config" / "examples" / "gabon.toml", environ={})
    assert [c.name for c in settings.connections()] == ["airtel", "moov"]
    assert settings.default_connection() == "airtel" and settings.routing.failover
