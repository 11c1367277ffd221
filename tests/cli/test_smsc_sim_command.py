"""The installed `smsc-sim` command starts the simulator, says where it listens,
and stops cleanly on SIGINT."""

from __future__ import annotations

import re
import signal
import subprocess

import httpx
import trio

from tests.cli.runner import BIN


async def test_smsc_sim_listens_where_it_says_and_stops_on_sigint() -> None:
    script = BIN / "smsc-sim"
    assert script.exists(), f"{script} is missing: install the project (make install)"
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [str(script), "--smpp-port", "0", "--control-port", "0"], stdout=subprocess.PIPE)
        assert process.stdout is not None
        printed = b""
        while b"\n" not in printed:
            chunk = await process.stdout.receive_some()
            assert chunk, "smsc-sim exited before saying where it listens"
            printed += chunk
        found = re.search(rb"control API on (http://\S+)", printed)
        assert found, printed
        async with httpx.AsyncClient(base_url=found.group(1).decode()) as control:
            assert (await control.get("/stats")).status_code == 200
        process.send_signal(signal.SIGINT)
        assert await process.wait() == 0
