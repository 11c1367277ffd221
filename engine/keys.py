"""API keys and passwords: generation, hashing, checking.

A key is a UUID4 (122 random bits), shown once; only its SHA-256 is stored. Its
form and its digest (`new_api_key`, `hash_api_key`, `same_hash`) are the domain
model's (`engine.model.keys`), named here too. Passwords (client space) use scrypt
with a per-password salt; the admin token is 32 random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from engine.model.keys import hash_api_key as hash_api_key
from engine.model.keys import new_api_key as new_api_key
from engine.model.keys import same_hash as same_hash


def new_admin_token() -> str:
    return secrets.token_urlsafe(32)


_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_b64, digest_b64 = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
