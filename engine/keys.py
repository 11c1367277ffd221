"""API keys and passwords: generation, hashing, checking.

A key is a UUID4 (122 random bits), shown once; only its SHA-256 is stored. The
key's entropy makes a fast hash sufficient; comparisons use `hmac.compare_digest`.
Passwords (client space) use scrypt with a per-password salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid


def new_api_key() -> str:
    return str(uuid.uuid4())


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


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
