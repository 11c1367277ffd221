from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from smsc_sim.config import Behaviour, SimulatorSettings
from smsc_sim.server import Simulator

StartSimulator = Callable[..., Awaitable[Simulator]]


@pytest.fixture
def start_simulator(nursery: trio.Nursery) -> StartSimulator:
    """Start a simulator on ephemeral ports in the test's nursery; keyword arguments
    are `Behaviour` fields, except `settings=` for other `SimulatorSettings` fields."""

    async def start(settings: dict[str, Any] | None = None, **behaviour: Any) -> Simulator:
        simulator = Simulator(
            SimulatorSettings(
                smpp_port=0,
                control_port=0,
                first_message_id=1,
                behaviour=Behaviour(**behaviour),
                **(settings or {}),
            )
        )
        started: Simulator = await nursery.start(simulator.serve)
        return started

    return start
