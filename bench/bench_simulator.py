"""Throughput of the SMSC simulator under a pipelined load client.

    .venv/bin/python bench/bench_simulator.py [--seconds N] [--window W]

The simulator runs as `python -m smsc_sim` in its own process; the load client (one
trio process, one connection per bind, `--window` submit_sm outstanding per bind,
answering every deliver_sm) runs in another. Four runs: 1 and 4 binds, without and
with delivery receipts (registered_delivery=1, receipts sent in the same writes as
the responses). Figures are measured by the client after a one-second warm-up:
submit_sm_resp per second, deliver_sm per second, and submit latency from the write
of a submit_sm to the read of its response. The table is printed and appended to
bench/RESULTS.md. The same run then measures the SMPP codec both ends use beside
smpplib's (bench/bench_codec.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import re
import shlex
import struct
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from engine.smpp.codec import encode  # noqa: E402
from engine.smpp.pdu import BindTransceiver, SubmitSm  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
WARM_UP_S = 1.0
_HEADER = struct.Struct(">IIII")
_SUBMIT_SM_RESP = 0x80000004
_DELIVER_SM = 0x00000005
_DELIVER_SM_RESP_HEAD = struct.Struct(">IIII")


@dataclass(frozen=True, slots=True)
class RunResult:
    binds: int
    receipts: bool
    submits_per_s: float
    receipts_per_s: float
    p50_ms: float
    p99_ms: float
    server_p99_ms: float


def _templates(count: int, registered_delivery: int) -> list[tuple[bytes, bytes]]:
    """(header without sequence, body) of `count` distinct submit_sm."""
    out = []
    for index in range(count):
        frame = encode(
            SubmitSm(
                source_addr="BENCH",
                destination_addr=f"3361{index:07d}",
                short_message=b"Benchmark message number %05d for the simulator" % index,
                registered_delivery=registered_delivery,
            )
        )
        out.append((frame[:12], frame[16:]))
    return out


async def _one_bind(
    port: int, window: int, registered_delivery: int, stop_at: float, measure_from: float,
    totals: dict[str, float], latencies: list[float],
) -> None:  # fmt: skip
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(encode(BindTransceiver(system_id="smsgw", password="secret", sequence=1)))  # noqa: S106
    pending = b""
    while len(pending) < 16 or len(pending) < _HEADER.unpack_from(pending)[0]:
        pending += await stream.receive_some(65536)
    pending = pending[_HEADER.unpack_from(pending)[0] :]
    templates = _templates(1024, registered_delivery)
    mask = 1 << 20
    sent_at = [0.0] * mask
    sequence = 1
    in_flight = 0
    submits = receipts = 0
    pack_seq = struct.Struct(">I").pack
    clock = time.perf_counter
    buffer = bytearray(pending)
    replies: list[bytes] = []
    while True:
        now = clock()
        if now >= stop_at:
            break
        parts: list[bytes] = replies
        replies = []
        while in_flight < window:
            sequence = sequence % 0x7FFFFFFF + 1
            head, body = templates[sequence & 1023]
            parts += (head, pack_seq(sequence), body)
            sent_at[sequence % mask] = now
            in_flight += 1
        if parts:
            await stream.send_all(b"".join(parts))
        data = await stream.receive_some(262144)
        if not data:
            raise RuntimeError("the simulator closed the connection")
        buffer += data
        now = clock()
        measuring = now >= measure_from
        pos = 0
        end = len(buffer)
        while end - pos >= 16:
            length, command_id, _status, seq = _HEADER.unpack_from(buffer, pos)
            if end - pos < length:
                break
            pos += length
            if command_id == _SUBMIT_SM_RESP:
                in_flight -= 1
                if measuring:
                    submits += 1
                    latencies.append(now - sent_at[seq % mask])
            elif command_id == _DELIVER_SM:
                replies.append(_DELIVER_SM_RESP_HEAD.pack(17, 0x80000005, 0, seq) + b"\x00")
                if measuring:
                    receipts += 1
        del buffer[:pos]
    totals["submits"] += submits
    totals["receipts"] += receipts
    await stream.aclose()


async def _client(
    port: int, binds: int, window: int, receipts: bool, seconds: float
) -> dict[str, float]:
    start = time.perf_counter()
    measure_from = start + WARM_UP_S
    stop_at = measure_from + seconds
    totals = {"submits": 0.0, "receipts": 0.0}
    latencies: list[float] = []
    async with trio.open_nursery() as nursery:
        for _ in range(binds):
            nursery.start_soon(
                _one_bind, port, window, 1 if receipts else 0, stop_at, measure_from, totals,
                latencies,
            )  # fmt: skip
    latencies.sort()

    def pick(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "submits_per_s": totals["submits"] / seconds,
        "receipts_per_s": totals["receipts"] / seconds,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
    }


def _client_process(
    port: int,
    binds: int,
    window: int,
    receipts: bool,
    seconds: float,
    queue: multiprocessing.Queue[dict[str, float]],
) -> None:
    queue.put(trio.run(_client, port, binds, window, receipts, seconds))


def _http(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
        result: dict[str, Any] = json.loads(reply.read())
        return result


def _start_simulator() -> tuple[subprocess.Popen[str], int, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "smsc_sim", "--smpp-port", "0", "--control-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r":(\d+) .*http://[^:]+:(\d+)", line)
    if not found:
        process.kill()
        raise RuntimeError(f"the simulator did not start: {line!r}")
    return process, int(found.group(1)), int(found.group(2))


def run_all(seconds: float, window: int) -> list[RunResult]:
    process, smpp_port, control_port = _start_simulator()
    results = []
    try:
        for receipts in (False, True):
            for binds in (1, 4):
                _http(control_port, "POST", "/reset")
                queue: multiprocessing.Queue[dict[str, float]] = multiprocessing.Queue()
                client = multiprocessing.Process(
                    target=_client_process,
                    args=(smpp_port, binds, window, receipts, seconds, queue),
                )
                client.start()
                figures = queue.get(timeout=seconds + 60)
                client.join()
                stats = _http(control_port, "GET", "/stats")
                results.append(
                    RunResult(
                        binds=binds,
                        receipts=receipts,
                        server_p99_ms=stats["submit_latency_p99_ms"],
                        **figures,
                    )
                )
                print(_row(results[-1]), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return results


_TABLE_HEAD = (
    "| binds | receipts | submit_sm/s | receipts/s | p50 ms | p99 ms | server p99 ms |\n"
    "|---:|:---:|---:|---:|---:|---:|---:|"
)


def _row(result: RunResult) -> str:
    return (
        f"| {result.binds} | {'on' if result.receipts else 'off'} | "
        f"{result.submits_per_s:,.0f} | {result.receipts_per_s:,.0f} | "
        f"{result.p50_ms:.2f} | {result.p99_ms:.2f} | {result.server_p99_ms:.2f} |"
    )


def append_results(results: list[RunResult], command: str, seconds: float, window: int) -> None:
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    lines = [
        "",
        f"## SMSC simulator throughput ({date})",
        "",
        f"Command: `{command}`",
        "",
        f"Simulator (`python -m smsc_sim`, no latency) and load client in separate processes on "
        f"{os.cpu_count()} cores; window {window} per bind; {seconds:g} s measured after a "
        f"{WARM_UP_S:g} s warm-up. Latency is client-side (write of submit_sm to read of "
        "its response); server p99 is read-to-write inside the simulator.",
        "",
        _TABLE_HEAD,
        *(_row(result) for result in results),
        "",
    ]
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    with RESULTS.open("a") as handle:
        handle.write("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--window", type=int, default=200, help="outstanding submit_sm per bind")
    parser.add_argument(
        "--no-record", action="store_true", help="print only, do not append to RESULTS.md"
    )
    args = parser.parse_args()
    command = " ".join(["bench/bench_simulator.py", *map(shlex.quote, sys.argv[1:])])
    command = f".venv/bin/python {command}"
    print(_TABLE_HEAD, flush=True)
    results = run_all(args.seconds, args.window)
    if not args.no_record:
        append_results(results, command, args.seconds, args.window)
    # the codec that both ends use, beside smpplib's, in the same run
    codec = [sys.executable, str(ROOT / "bench" / "bench_codec.py"), "--rounds", "3"]
    # the interpreter running this script and a fixed script path: no untrusted input
    subprocess.run([*codec, *(["--no-record"] if args.no_record else [])], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
