"""The callback signature (contract section 11).

`X-SMSGW-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed
with the account's callback secret as given (its UTF-8 text). The secret is random,
generated with the account and replaced on demand (`new_secret`); it has nothing to
do with the API key, so nothing the gateway stores about keys can forge a callback.
The time is signed with the body: a receiver that refuses an old `t` refuses a
replayed callback.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-SMSGW-Signature"


def new_secret() -> str:
    """A new callback secret: 256 random bits as 64 hex digits."""
    return secrets.token_hex(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` under `secret`."""
    mac = hmac.new(secret.encode("utf-8"), b"%d." % timestamp + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver checks: the header's `v1` is the body's signature at its `t`
    under `secret`, and `t` is at most `tolerance_s` old."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    fresh = abs(now - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, fields.get("v1", ""))
