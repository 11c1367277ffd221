"""`python -m smsc_sim`: run the SMSC simulator alone.

Settings come from the defaults, then `--config FILE.toml`, then the flags. SIGINT or
SIGTERM stops it (exit 0) within a second.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

import trio

from engine.process import freeze_start_up_heap, tune_collector

from .config import SimulatorSettings
from .knobs import KnobError, settings_from_mapping
from .server import Simulator

_DISTRIBUTION_HELP = "fixed:MS, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA (milliseconds)"


def build_parser() -> argparse.ArgumentParser:
    defaults = SimulatorSettings()
    knobs = defaults.behaviour
    parser = argparse.ArgumentParser(
        prog="python -m smsc_sim",
        description="SMPP 3.4 SMSC simulator with a JSON control API (see docs/simulator.md).",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    where = parser.add_argument_group("listening and binding")
    where.add_argument(
        "--host", metavar="HOST", help=f"address to listen on (default {defaults.host})"
    )
    where.add_argument(
        "--smpp-port",
        metavar="PORT",
        type=int,
        help=f"SMPP port, 0 = any free port (default {defaults.smpp_port})",
    )
    where.add_argument(
        "--control-port",
        metavar="PORT",
        type=int,
        help=f"control HTTP port, 0 = any free port (default {defaults.control_port})",
    )
    where.add_argument(
        "--system-id",
        metavar="ID",
        help=f"system_id a bind must give (default {defaults.system_id})",
    )
    where.add_argument(
        "--password",
        metavar="TEXT",
        help=f"password a bind must give (default {defaults.password})",
    )
    where.add_argument(
        "--max-connections",
        metavar="N",
        type=int,
        help=f"TCP connections beyond this are closed at once (default {defaults.max_connections})",
    )
    where.add_argument(
        "--submitted-max",
        metavar="N",
        type=int,
        help="accepted submits kept for GET /submitted and duplicate detection "
        f"(default {defaults.submitted_max:,})",
    )
    where.add_argument(
        "--first-message-id",
        metavar="N",
        type=int,
        help="first message id issued (decimal); default: Unix time in ms x 1000",
    )
    where.add_argument(
        "--held-receipts-max",
        metavar="N",
        type=int,
        help=f"receipts kept while no receiver is bound (default {defaults.held_receipts_max:,})",
    )
    behave = parser.add_argument_group("behaviour (also live through PATCH /config)")
    behave.add_argument(
        "--latency",
        metavar="DIST",
        help=f"delay before each submit_sm_resp: {_DISTRIBUTION_HELP} "
        f"(default {knobs.latency.describe()})",
    )
    behave.add_argument(
        "--throughput-cap",
        metavar="PER_S",
        dest="throughput_cap_per_s",
        help="accepted submit_sm per second per bind, beyond it ESME_RTHROTTLED; 0 = no cap "
        "(default 0)",
    )
    behave.add_argument(
        "--window",
        metavar="N",
        dest="window_size",
        help="responses pending (waiting for their latency) per bind, beyond it "
        "ESME_RMSGQFUL; 0 = no limit (default 0)",
    )
    behave.add_argument(
        "--error-rate", metavar="P", help="probability 0..1 of answering --error-status (default 0)"
    )
    behave.add_argument(
        "--error-status",
        metavar="STATUS",
        help="command_status for --error-rate: name or number (default ESME_RSYSERR)",
    )
    behave.add_argument(
        "--rule",
        dest="rules",
        action="append",
        metavar="PREFIX=ITEM[;ITEM]",
        help="for destinations starting with PREFIX: a command_status (e.g. "
        "33999=ESME_RINVDSTADR) and/or a latency (e.g. 44=uniform:500,900); repeatable, "
        "first match wins",
    )
    behave.add_argument(
        "--receipts",
        action=argparse.BooleanOptionalAction,
        help="send delivery receipts when registered_delivery asks (default on)",
    )
    behave.add_argument(
        "--receipt-delay",
        metavar="DIST",
        help=f"from submit_sm_resp to the receipt: {_DISTRIBUTION_HELP} (default fixed:0)",
    )
    behave.add_argument(
        "--receipt-mix",
        metavar="MIX",
        help="receipt outcome weights, e.g. DELIVRD=0.9,UNDELIV=0.05,EXPIRED=0.03,REJECTD=0.02 "
        "(default DELIVRD=1)",
    )
    behave.add_argument(
        "--seed", metavar="N", help="random seed for repeatable runs (default: unseeded)"
    )
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        default="WARNING",
        help="logging level: DEBUG, INFO, WARNING (default)",
    )
    return parser


_SETTING_FLAGS = (
    "host", "smpp_port", "control_port", "system_id", "password", "max_connections",
    "submitted_max", "first_message_id", "held_receipts_max",
)  # fmt: skip
_BEHAVIOUR_FLAGS = (
    "latency", "throughput_cap_per_s", "window_size", "error_rate", "error_status", "rules",
    "receipts", "receipt_delay", "receipt_mix", "seed",
)  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> SimulatorSettings:
    """Defaults, then the TOML file, then the flags. Raises KnobError or OSError."""
    settings = SimulatorSettings()
    config_file = getattr(args, "config", None)
    if config_file is not None:
        with open(config_file, "rb") as handle:
            try:
                data = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise KnobError("--config", f"{config_file} is not valid TOML: {error}") from None
        settings = settings_from_mapping(data, settings)
    flags: dict[str, Any] = {name: getattr(args, name) for name in _SETTING_FLAGS if name in args}
    behaviour = {name: getattr(args, name) for name in _BEHAVIOUR_FLAGS if name in args}
    if behaviour:
        flags["behaviour"] = behaviour
    return settings_from_mapping(flags, settings)


async def run(settings: SimulatorSettings) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            simulator: Simulator = await nursery.start(Simulator(settings).serve)
            freeze_start_up_heap()
            print(
                f"smsc_sim: SMPP on {settings.host}:{simulator.smpp_port} "
                f"(system_id {settings.system_id!r}), "
                f"control API on http://{settings.host}:{simulator.control_port}",
                flush=True,
            )
            async for signum in signals:
                print(f"smsc_sim: {signal.Signals(signum).name}, stopping", flush=True)
                nursery.cancel_scope.cancel()
                break


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        settings = settings_from_args(args)
    except KnobError as error:
        parser.error(str(error))
    except OSError as error:
        parser.error(f"--config: {error}")
    tune_collector()
    try:
        trio.run(run, settings)
    except (OSError, BaseExceptionGroup) as error:
        failure = _first_os_error(error)
        if failure is None:
            raise
        print(f"smsc_sim: cannot listen: {failure}", file=sys.stderr)
        return 1
    return 0


def _first_os_error(error: BaseException) -> OSError | None:
    if isinstance(error, OSError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_os_error(inner)
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    sys.exit(main())
