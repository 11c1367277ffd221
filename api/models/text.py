"""Strings no database can store: a NUL, or a UTF-16 surrogate standing alone
(JSON lets `"\\ud800"` through; UTF-8 cannot encode it). No pattern can name the
second, so every JSON body (api/http.py `decode_json`) and every form of the pages
(api/routes/espace.py) is walked for both before any definition reads it."""

from __future__ import annotations

import re
from typing import Any

UNSTORABLE_MESSAGE = (
    "Contient un caractère qui ne peut pas être enregistré (caractère nul U+0000 ou "
    "demi-caractère UTF-16 isolé, U+D800 à U+DFFF)."
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unsafe(text: str) -> bool:
    """Whether `text` holds a NUL or a lone surrogate, which no request may carry."""
    return _UNSTORABLE.search(text) is not None


def unstorable(value: Any, path: str = "") -> list[dict[str, str]]:
    """One detail per string of `value` (a member name or a value, at any depth)
    that no database can store. The details name the field, never echo its text;
    at most 20."""
    details: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack and len(details) < 20:
        where, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                details.append({"champ": where or "corps de la requête", "message": UNSTORABLE_MESSAGE})
        elif isinstance(item, dict):
            for name, sub in reversed(item.items()):
                if _UNSTORABLE.search(name):
                    details.append({"champ": where or "corps de la requête",
                                    "message": "Un nom de champ " + UNSTORABLE_MESSAGE[0].lower()
                                    + UNSTORABLE_MESSAGE[1:]})
                else:
                    stack.append((f"{where}.{name}" if where else name, sub))
        elif isinstance(item, list):
            stack.extend((f"{where or 'corps de la requête'}[{i}]", sub)
                         for i, sub in reversed(list(enumerate(item))))
    return details
