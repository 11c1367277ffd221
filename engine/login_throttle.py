"""Failed client-space logins, counted per login and per source address."""

from __future__ import annotations

import trio

from engine.errors import TooManyAttempts

LOGIN_WINDOW_S = 300.0


class LoginThrottle:
    """Failed client-space logins over the last `LOGIN_WINDOW_S`, per login and per
    source address. Owned by the gateway; touched only from the trio thread (it
    reads trio's clock), never blocks. `check` raises `TooManyAttempts` once a
    login has `PER_LOGIN` recent failures or a source `PER_SOURCE`, with the
    seconds until its oldest recent failure leaves the window."""

    PER_LOGIN = 5
    PER_SOURCE = 20

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str) -> list[float]:
        horizon = trio.current_time() - LOGIN_WINDOW_S
        kept = [t for t in self._failures.get(key, ()) if t > horizon]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def check(self, login: str, source: str) -> None:
        for key, limit in (("login:" + login, self.PER_LOGIN), ("source:" + source, self.PER_SOURCE)):
            recent = self._recent(key)
            if len(recent) >= limit:
                raise TooManyAttempts(int(recent[0] + LOGIN_WINDOW_S - trio.current_time()) + 1)

    def failed(self, login: str, source: str) -> None:
        now = trio.current_time()
        for key in ("login:" + login, "source:" + source):
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, login: str) -> None:
        self._failures.pop("login:" + login, None)
