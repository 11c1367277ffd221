"""The callback signature.

The secret of an account is the SHA-256 of its current API key, in lowercase hex:
the gateway stores exactly that digest (it never keeps the key), and the client
can compute it from the key it holds, so no second secret has to be generated,
shown or rotated; regenerating the key rotates the secret. The header is
`X-SMSGW-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-SMSGW-Signature"
TIMESTAMP_HEADER = "X-SMSGW-Horodatage"


def secret_for_key(api_key: str) -> str:
    """What a client computes from its API key to check signatures."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body` under `secret` (a key digest)."""
    return "sha256=" + hmac.new(secret.encode("ascii"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header)
