"""The gateway engine behind its facade, `Gateway`: the one object `api/` talks to.

The package is split by what each part does (see `facade.py`); callers import
from here.
"""

from engine.errors import GatewayError
from engine.gateway.access import MAX_KEYS, CreatedKey, NewKey
from engine.gateway.administration import BY_API, BY_CONSOLE, AccountView
from engine.gateway.facade import Gateway
from engine.gateway.snapshot import OperatorSnapshot
from engine.model import EntryKind

__all__ = [
    "BY_API",
    "BY_CONSOLE",
    "MAX_KEYS",
    "AccountView",
    "CreatedKey",
    "EntryKind",
    "Gateway",
    "GatewayError",
    "NewKey",
    "OperatorSnapshot",
]
