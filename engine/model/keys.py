"""API keys: their form and their digest.

A key is a UUID4 (122 random bits), shown once; only its SHA-256 is stored, and
the digest is what names a key everywhere else (the store, the per-key rate
limit). The key's entropy makes a fast hash sufficient; comparisons use
`hmac.compare_digest`. Passwords and the admin token are `engine.keys`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid


def new_api_key() -> str:
    return str(uuid.uuid4())


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
