"""The options every command shares, and the session a command runs in.

`--url` (env `SMSGW_URL`) names the gateway; client commands add `--cle`
(`SMSGW_API_KEY`), admin commands `--jeton` (`SMSGW_ADMIN_TOKEN`); every command
has `--json`. `session(...)` opens the HTTP client and turns a refusal of the
gateway into one error line and exit status 1.

Exit statuses: 0 done; 1 the gateway refused or could not be reached; 2 a usage
error (click's); 3 `suivre` or `charge` ran out of time before every recipient ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from smsgw_cli.client import DEFAULT_URL, ApiFailure, Gateway
from smsgw_cli.output import Output

EXIT_REFUSED = 1
EXIT_TIMEOUT = 3

F = TypeVar("F", bound=Callable[..., Any])

url_option = click.option(
    "--url", envvar="SMSGW_URL", default=DEFAULT_URL, show_default=True, metavar="URL",
    help="Adresse de la passerelle (variable SMSGW_URL).",
)
key_option = click.option(
    "--cle", envvar="SMSGW_API_KEY", metavar="CLE", help="Clé API du compte (variable SMSGW_API_KEY).",
)
token_option = click.option(
    "--jeton", envvar="SMSGW_ADMIN_TOKEN", metavar="JETON",
    help="Jeton d'administration (variable SMSGW_ADMIN_TOKEN).",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Écrire la réponse en JSON (pour les scripts).",
)


def client_options(command: F) -> F:
    """`--url`, `--cle`, `--json`."""
    return url_option(key_option(json_option(command)))


def admin_options(command: F) -> F:
    """`--url`, `--jeton`, `--json`."""
    return url_option(token_option(json_option(command)))


@dataclass(frozen=True, slots=True)
class Session:
    gateway: Gateway
    output: Output


def require(value: str | None, missing: str) -> str:
    if not value:
        raise click.UsageError(missing)
    return value


@contextmanager
def session(url: str, *, key: str | None = None, token: str | None = None,
            as_json: bool = False) -> Iterator[Session]:
    """A gateway client for one command; an `ApiFailure` ends the command with its
    one-line message and exit status 1."""
    output = Output(as_json)
    try:
        with Gateway(url, key=key, token=token) as gateway:
            yield Session(gateway, output)
    except ApiFailure as failure:
        output.failure(failure)
        raise click.exceptions.Exit(EXIT_REFUSED) from None


@contextmanager
def client_session(url: str, cle: str | None, as_json: bool) -> Iterator[Session]:
    key = require(cle, "Clé API manquante : indiquez --cle ou la variable SMSGW_API_KEY.")
    with session(url, key=key, as_json=as_json) as opened:
        yield opened


@contextmanager
def admin_session(url: str, jeton: str | None, as_json: bool) -> Iterator[Session]:
    token = require(
        jeton, "Jeton d'administration manquant : indiquez --jeton ou la variable SMSGW_ADMIN_TOKEN.")
    with session(url, token=token, as_json=as_json) as opened:
        yield opened
