"""Request validation alone, on the send path's bodies: the gateway's pydantic
definitions (api/models) against the same definitions written for msgspec.

    .venv/bin/python bench/bench_validation.py [--no-record]

msgspec is not a dependency of the gateway: `pip install msgspec` first. Each
row is the median (and best) of 5 rounds of 0.4 s, in µs per body, on a UNIDES and
on a MULDES of 1,000 numbers, from the decoded dict (what the gateway validates,
after api/http.py `decode_json`) and from the raw bytes. The table is printed and
appended to bench/RESULTS.md with the date and command.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.models import Body, check  # noqa: E402
from api.models.base import TEXT  # noqa: E402
from api.models.requests import SENDER_PATTERN, Unides, muldes  # noqa: E402

Meta = msgspec.Meta


class UnidesStruct(msgspec.Struct, forbid_unknown_fields=True):
    emetteur: Annotated[str, Meta(min_length=1, max_length=20, pattern=SENDER_PATTERN)]
    destinataire: Annotated[str, Meta(min_length=1, max_length=32, pattern=TEXT)]
    corps: Annotated[str, Meta(min_length=1, max_length=160, pattern=TEXT)]


class MuldesStruct(msgspec.Struct, forbid_unknown_fields=True):
    emetteur: Annotated[str, Meta(min_length=1, max_length=20, pattern=SENDER_PATTERN)]
    numeros: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=32, pattern=TEXT)]],
        Meta(min_length=1, max_length=100_000),
    ]
    corps: Annotated[str, Meta(min_length=1, max_length=160, pattern=TEXT)]


UNIDES = {"emetteur": "ION-Networking", "destinataire": "+24106123456",
          "corps": "Bienvenue sur SMS Gateway !"}
MULDES = {"emetteur": "ION-Networking", "numeros": [f"+2410{n:07d}" for n in range(1000)],
          "corps": "Profitez de nos offres exclusives SMS Gateway !"}


def per_call_us(fn: Callable[[], Any], seconds: float = 0.4) -> tuple[float, float]:
    """Median and best of 5 rounds, in µs per call."""
    rounds = []
    for _ in range(5):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            n += 1
        rounds.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(rounds), min(rounds)


def _loads_then_check(model: type[Body], raw: bytes) -> Body:
    return check(model, json.loads(raw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    muldes_model = muldes(100_000)
    rows: list[tuple[str, str, float, float]] = []
    bodies: list[tuple[str, dict[str, Any], type[Body], type[msgspec.Struct]]] = [
        ("UNIDES", UNIDES, Unides, UnidesStruct), ("MULDES 1,000", MULDES, muldes_model, MuldesStruct)]
    for name, body, model, struct in bodies:
        raw = json.dumps(body).encode()
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("pydantic (api/models `check`), decoded dict", partial(check, model, body)),
            ("msgspec `convert`, decoded dict", partial(msgspec.convert, body, struct)),
            ("json.loads + pydantic", partial(_loads_then_check, model, raw)),
            ("msgspec.json.decode, bytes", partial(msgspec.json.decode, raw, type=struct)),
        ]
        rows += [(name, label, *per_call_us(fn)) for label, fn in cases]
    bad = {"emetteur": "", "destinataire": 7, "corps": "x" * 161, "dateEnvoie": "2030-01-01"}
    try:
        check(Unides, bad)
    except Exception as exc:  # noqa: BLE001 - the refusal is what is shown
        pydantic_faults = len(getattr(exc, "details", []))
    try:
        msgspec.convert(bad, UnidesStruct)
    except msgspec.ValidationError as exc:
        msgspec_fault = str(exc)
    lines = [
        "| body | validator | µs per body (median) | best |",
        "|---|---|---:|---:|",
        *(f"| {b} | {v} | {m:.1f} | {best:.1f} |" for b, v, m, best in rows),
        "",
        f"A UNIDES with 4 faults (empty `emetteur`, numeric `destinataire`, 161-character "
        f"`corps`, unknown `dateEnvoie`): pydantic reports {pydantic_faults} faults; msgspec "
        f"stops at the first: `{msgspec_fault}`.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.no_record:
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,  # noqa: S607
                            text=True, check=False).stdout.strip()
    stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    with (Path(__file__).parent / "RESULTS.md").open("a") as out:
        out.write(
            f"\n## Request validation: pydantic against msgspec ({stamp})\n\n"
            f"Command: `.venv/bin/python bench/bench_validation.py`\n\n"
            f"Python {platform.python_version()}, pydantic {pydantic.VERSION}, msgspec "
            f"{msgspec.__version__}, at {commit}; one process, 2 shared cores.\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
