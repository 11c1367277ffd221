"""`python -m smsc_sim`: flags, TOML file, start-up line, clean stop on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from engine.smpp.constants import Status
from smsc_sim.__main__ import build_parser, main, settings_from_args
from smsc_sim.config import Distribution, DistributionKind, PrefixRule

from .esme import Esme

DEADLINE_S = 15


def test_flags_override_the_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text(
        '[simulator]\npassword = "fromfile"\nsmpp_port = 2999\n'
        '[simulator.behaviour]\nerror_rate = 0.3\nlatency = "fixed:9"\n'
    )
    args = build_parser().parse_args(
        ["--config", str(config), "--smpp-port", "0", "--latency", "uniform:1,2",
         "--rule", "99=ESME_RINVDSTADR", "--no-receipts", "--receipt-mix", "UNDELIV=1"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert (settings.password, settings.smpp_port) == ("fromfile", 0)
    behaviour = settings.behaviour
    assert behaviour.error_rate == 0.3
    assert behaviour.latency == Distribution(kind=DistributionKind.UNIFORM, min_ms=1, max_ms=2)
    assert behaviour.rules == (PrefixRule("99", status=Status.ESME_RINVDSTADR),)
    assert behaviour.receipts is False
    assert behaviour.receipt_mix.undeliv == 1 and behaviour.receipt_mix.delivrd == 0


def test_a_bad_value_stops_with_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--error-rate", "3"])
    assert stopped.value.code == 2
    assert "error_rate: must be between 0 and 1" in capsys.readouterr().err


async def test_runs_alone_and_stops_on_sigterm() -> None:
    with trio.fail_after(DEADLINE_S):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "smsc_sim", "--smpp-port", "0", "--control-port", "0"],
            stdout=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = b""
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some(4096)
                assert chunk, "the simulator exited before printing where it listens"
                line += chunk
            found = re.search(rb"SMPP on 127\.0\.0\.1:(\d+) .* http://127\.0\.0\.1:(\d+)", line)
            assert found is not None, line
            esme = await Esme.connect(int(found.group(1)))
            assert (await esme.bind()).status == Status.ESME_ROK
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(1):
                assert await process.wait() == 0
            await esme.expect_eof()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
