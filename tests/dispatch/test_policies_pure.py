"""The sender's policies and the bind's pure pieces import neither trio nor
socket: they are decided from tables, with time passed in."""

from __future__ import annotations

import subprocess
import sys

PURE = (
    "engine.dispatch.policy.outcomes",
    "engine.dispatch.policy.pacing",
    "engine.dispatch.policy.receipts",
    "engine.dispatch.states",
    "engine.dispatch.parts",
    "engine.dispatch.message",
    "engine.dispatch.throttle",
)


def test_the_policy_modules_import_neither_trio_nor_socket() -> None:
    # a fresh interpreter: what importing them pulls in, however indirectly
    probe = (
        "import importlib, sys\n"
        f"for name in {PURE!r}:\n"
        "    importlib.import_module(name)\n"
        "print(' '.join(sorted({'trio', 'socket'} & set(sys.modules))))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == []


def test_the_check_sees_an_indirect_import_of_trio() -> None:
    probe = "import sys, engine.dispatch.book\nprint('trio' in sys.modules)\n"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "True"
