"""A new bind's probe, seen from the SMSC: one submit at a time, then the window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from tests.dispatch.support import muldes, numbers, until_ended
from tests.harness import Stack, eventually, open_stack


async def _bind(stack: Stack) -> dict[str, Any]:
    await trio.lowlevel.checkpoint()
    return stack.gateway.actors()["liaisons"][0]  # type: ignore[no-any-return]


async def test_a_new_bind_sends_one_submit_at_a_time_then_opens_its_window(
    tmp_path: Path,
) -> None:
    # the SMSC answers each submit after 5 ms and refuses (ESME_RMSGQFUL, transient)
    # a second submit waiting on the same bind: during the probe the bind never has
    # two outstanding; once the probe's submits are accepted, its window opens and
    # several wait at once
    env = {"SMSGW_SMSC_BINDS": "1", "SMSGW_SMSC_PROBE_SUBMITS": "40"}
    with trio.fail_after(30):
        async with open_stack(tmp_path, **env) as stack:
            bind = await eventually(lambda: _bind(stack), lambda b: b["state"] == "LIE")
            assert (bind["mode"], bind["window_size"]) == ("SONDE", 1)
            stack.simulator.configure(latency="fixed:5", window_size=1)
            _, key = await stack.new_account(solde=1_000, debitMax=100_000)

            probe = await muldes(stack, key, numbers("+24106", 40))
            final = await until_ended(stack, key, probe["ref"], within_s=10)
            assert final["compteurs"]["ENVOYE"] == 40
            assert stack.simulator.statistics().submit_rejected.get("ESME_RMSGQFUL", 0) == 0
            bind = await _bind(stack)
            assert (bind["mode"], bind["window_size"]) == ("FENETRE", 200)

            # the window open, submits overlap: the SMSC refuses those beyond its one
            after = await muldes(stack, key, numbers("+24106", 40, start=40))
            await until_ended(stack, key, after["ref"], within_s=20)
            assert stack.simulator.statistics().submit_rejected["ESME_RMSGQFUL"] > 0
