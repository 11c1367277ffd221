"""The gateway as the command line sees it: a base URL, credentials, JSON in and out.

`Gateway` wraps one synchronous `httpx.Client` (the commands are sequential); every
non-2xx answer becomes an `ApiFailure` carrying the contract's error envelope
`{"erreur": {"code", "message", "details"}}`, and a gateway that cannot be reached
becomes an `ApiFailure` with status 0 and code `PASSERELLE_INJOIGNABLE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/V1"
UNREACHABLE = "PASSERELLE_INJOIGNABLE"
NOT_JSON = "REPONSE_INATTENDUE"


class ApiFailure(Exception):
    """A refusal from the gateway (its status and error envelope), or no answer at all
    (status 0). `body` is the answer's JSON when there was one."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.body = body

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """`Erreur 401 CLE_API_INVALIDE : <message> (champ : message ; ...)`."""
        where = f" {self.status}" if self.status else ""
        text = f"Erreur{where} {self.code} : {self.message}"
        notes = [_detail(d) for d in self.details]
        if notes:
            text += " (" + " ; ".join(n for n in notes if n) + ")"
        return text


def _detail(detail: Any) -> str:
    if isinstance(detail, Mapping):
        champ, message = detail.get("champ"), detail.get("message")
        if champ and message:
            return f"{champ} : {message}"
        return str(message or champ or "")
    return str(detail)


def failure_of(response: httpx.Response) -> ApiFailure:
    """The `ApiFailure` a non-2xx answer stands for (tolerating a body that is not
    the contract's envelope, e.g. from a proxy in front of the gateway)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("erreur") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("details")
        return ApiFailure(
            response.status_code,
            str(error.get("code") or "ERREUR"),
            str(error.get("message") or response.reason_phrase),
            list(details) if isinstance(details, list) else [],
            body,
        )
    excerpt = " ".join(response.text.split())[:120] or response.reason_phrase
    return ApiFailure(response.status_code, NOT_JSON, f"réponse inattendue : {excerpt}", [], body)


def unreachable(url: str, error: httpx.TransportError) -> ApiFailure:
    reason = str(error) or type(error).__name__
    return ApiFailure(0, UNREACHABLE, f"passerelle injoignable à {url} ({reason})")


class Gateway:
    """One gateway at `url`: client calls carry `X-API-Key: key`, admin calls carry
    `Authorization: Bearer token`. Use as a context manager (it owns a connection pool)."""

    def __init__(
        self, url: str, *, key: str | None = None, token: str | None = None, timeout_s: float = 30.0
    ) -> None:
        self.url = url.rstrip("/")
        self._key = key
        self._token = token
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def client(self, method: str, path: str, **kwargs: Any) -> Any:
        """A client call (`X-API-Key`) under /api/V1; the answer's JSON."""
        headers = {"X-API-Key": self._key} if self._key else {}
        return self._call(method, path, headers, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """An admin call (bearer token) under /api/V1/admin; the answer's JSON."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return self._call(method, "/admin" + path, headers, **kwargs)

    def _call(self, method: str, path: str, auth: dict[str, str], **kwargs: Any) -> Any:
        headers = {**auth, **(kwargs.pop("headers", None) or {})}
        try:
            response = self._http.request(method, API_PREFIX + path, headers=headers, **kwargs)
        except httpx.TransportError as error:
            raise unreachable(self.url, error) from None
        if not response.is_success:
            raise failure_of(response)
        try:
            return response.json()
        except ValueError:
            raise ApiFailure(response.status_code, NOT_JSON, "la réponse n'est pas du JSON") from None
