"""Cost of delivery receipts that match no message: what an SMSC replaying old or
foreign receipts makes the gateway pay.

    .venv/bin/python bench/bench_receipts.py [--receipts N]

One in-process gateway (run.serve, no simulator, empty data folder, one bind)
against a scripted SMSC on 127.0.0.1 that, once bound, sends `--receipts`
deliver_sm receipts (receipted_message_id and message_state TLVs) whose ids name
no message, 500 per write. The process's CPU time (`time.process_time`, every
thread: the engine, the store's writer, the scripted SMSC) is measured from the
first receipt until every one was given up (the router's patience, 60 s), with
the store lookups the router made. The figures are printed and appended to
bench/RESULTS.md with the date and command.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

import run  # noqa: E402
from config import load_settings  # noqa: E402
from engine.smpp.codec import decode, encode  # noqa: E402
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Tag  # noqa: E402
from engine.smpp.framing import PduReader  # noqa: E402
from engine.smpp.pdu import (  # noqa: E402
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    Tlv,
)


class ScriptedSmsc:
    """Accepts one bind, then sends the receipts when `go` is set."""

    def __init__(self, receipts: int) -> None:
        self.receipts = receipts
        self.bound = trio.Event()
        self.go = trio.Event()
        self.answered = 0

    async def serve(self, stream: trio.SocketStream) -> None:
        reader = PduReader()
        async with stream, trio.open_nursery() as nursery:
            while data := await stream.receive_some(65536):
                for frame in reader.feed_frames(data):
                    pdu = decode(frame)
                    if isinstance(pdu, BindTransceiver):
                        await stream.send_all(encode(BindTransceiverResp("bench", sequence=pdu.sequence)))
                        self.bound.set()
                        nursery.start_soon(self._send_receipts, stream)
                    elif isinstance(pdu, EnquireLink):
                        await stream.send_all(encode(EnquireLinkResp(sequence=pdu.sequence)))
                    else:
                        self.answered += 1
            nursery.cancel_scope.cancel()

    async def _send_receipts(self, stream: trio.SocketStream) -> None:
        await self.go.wait()
        state = Tlv(Tag.MESSAGE_STATE, bytes((MessageState.DELIVERED,)))
        for start in range(0, self.receipts, 500):
            chunk = [
                encode(DeliverSm(
                    esm_class=ESM_DELIVERY_RECEIPT,
                    tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, f"{5_000_000_000 + i}".encode() + b"\0"), state),
                    sequence=i + 1,
                ))
                for i in range(start, min(start + 500, self.receipts))
            ]
            await stream.send_all(b"".join(chunk))


async def bench(receipts: int) -> dict[str, Any]:
    smsc = ScriptedSmsc(receipts)
    with tempfile.TemporaryDirectory() as data:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, smsc.serve, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            settings = load_settings(
                environ={
                    "SMSGW_DATA_DIR": data,
                    "SMSGW_HTTP_PORT": "0",
                    "SMSGW_ADMIN_TOKEN": "bench",
                    "SMSGW_SIMULATOR_ENABLED": "false",
                    "SMSGW_SMSC_HOST": "127.0.0.1",
                    "SMSGW_SMSC_PORT": str(port),
                    "SMSGW_SMSC_BINDS": "1",
                    "SMSGW_LOG_LEVEL": "WARNING",
                }
            )
            stop = trio.Event()
            running: run.Running = await nursery.start(run.serve, settings, stop)
            router = running.gateway.runtime.router
            await smsc.bound.wait()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            smsc.go.set()
            with trio.fail_after(300):
                while router.receipts_unmatched < receipts:  # noqa: ASYNC110 - an observer polls
                    await trio.sleep(0.5)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            result = {
                "cpu_s": cpu,
                "wall_s": wall,
                "lookups": router.store_lookups,
                "answered": smsc.answered,
                "unmatched": router.receipts_unmatched,
            }
            stop.set()
            nursery.cancel_scope.cancel()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=20_000)
    args = parser.parse_args()
    r = trio.run(bench, args.receipts)
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    command = ".venv/bin/python bench/bench_receipts.py " + shlex.join(sys.argv[1:])
    text = "\n".join(
        [
            f"## Unmatched delivery receipts ({date})",
            "",
            f"Command: `{command.strip()}`",
            "",
            "One in-process gateway (one bind) against a scripted SMSC sending receipts whose "
            "ids match no message; CPU of the whole process from the first receipt until every "
            "one was given up after the router's 60 s of patience.",
            "",
            "| receipts | answered | unmatched | store lookups | CPU s | wall s |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {args.receipts:,} | {r['answered']:,} | {r['unmatched']:,} | {r['lookups']} "
            f"| {r['cpu_s']:.2f} | {r['wall_s']:.1f} |",
            "",
        ]
    )
    print(text)
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write("\n" + text)


if __name__ == "__main__":
    main()
