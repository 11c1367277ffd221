"""The installed `smsgw` command run as a user runs it: a child process of this
Python's environment, configured by environment variables, its output and exit
status read back. Every run is bounded by an absolute deadline."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def smsgw(url: str, *args: str, key: str | None = None, token: str | None = None,
                within_s: float = 30.0) -> Ran:
    """Run `smsgw ARGS` against the gateway at `url`, with the API key and admin
    token given as SMSGW_API_KEY and SMSGW_ADMIN_TOKEN (none from this process)."""
    script = BIN / "smsgw"
    assert script.exists(), f"{script} is missing: install the project (make install)"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SMSGW_")}
    env.update(SMSGW_URL=url, COLUMNS="200")
    if key is not None:
        env["SMSGW_API_KEY"] = key
    if token is not None:
        env["SMSGW_ADMIN_TOKEN"] = token
    with trio.fail_after(within_s):
        done = await trio.run_process(
            [str(script), *args], capture_stdout=True, capture_stderr=True, check=False, env=env)
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode())
