"""The gateway engine behind its facade, `Gateway`: the one object `api/` talks to.

The package is split by what each part does (see `facade.py`); callers import
from here.
"""

from engine.errors import GatewayError
from engine.gateway.access import NewKey
from engine.gateway.administration import AccountView
from engine.gateway.facade import Gateway
from engine.gateway.oversight import DailyConsumption
from engine.gateway.snapshot import OperatorSnapshot
from engine.model import EntryKind

__all__ = [
    "AccountView",
    "DailyConsumption",
    "EntryKind",
    "Gateway",
    "GatewayError",
    "NewKey",
    "OperatorSnapshot",
]
