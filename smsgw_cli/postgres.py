"""A throwaway PostgreSQL server (the tests, the benchmarks, `make cluster`): `initdb`
and `pg_ctl` into a temporary folder, listening on 127.0.0.1 on a free port, removed
when its `with` block ends.

`running_postgres()` owns the server for the length of its `with` block and yields a
DSN (`postgresql://postgres@127.0.0.1:PORT/postgres`, trust authentication, local
only). Starting blocks until the server accepts connections (`pg_ctl -w`, at most
`START_TIMEOUT_S`); leaving the block stops it (`pg_ctl -m fast -w`) and deletes its
folder.

`create_database(dsn, name)` adds an empty database beside `postgres` and answers its
URL (a gateway's `SMSGW_DATA_URL`).

PostgreSQL refuses to run as root: when the caller runs as root (CI does), the server
runs as the `postgres` user (`runuser -u postgres --`) in a folder that user owns.
The binaries are taken from PATH, else from Debian's `/usr/lib/postgresql/N/bin`
(the newest N); none of 15 or newer raises `PostgresUnavailable` naming what to
install. A test that needs the server fails when it cannot start, never skips.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

MIN_MAJOR = 15
START_TIMEOUT_S = 60
SERVER_USER = "postgres"
INSTALL_HINT = (
    "install PostgreSQL 15 or newer's server binaries (initdb, pg_ctl): on Debian or "
    "Ubuntu `apt-get install postgresql` (.ci/run does it when initdb is missing)"
)


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says why and what to
    install or fix."""


def find_bin_dir(path: str | None = None, debian: Path = Path("/usr/lib/postgresql")) -> Path:
    """The folder holding `initdb` and `pg_ctl` of PostgreSQL 15 or newer, searched
    on `path` (default: PATH), then in Debian's `debian/N/bin`, newest N first."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb", path=path)
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    if debian.is_dir():
        versions = [d for d in debian.iterdir() if d.name.isdigit()]
        candidates += [d / "bin" for d in sorted(versions, key=lambda d: -int(d.name))]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            major = _major(folder)
            if major is not None and major >= MIN_MAJOR:
                return folder
    raise PostgresUnavailable(f"no PostgreSQL {MIN_MAJOR}+ found: {INSTALL_HINT}")


def _major(folder: Path) -> int | None:
    out = subprocess.run(  # noqa: S603 - the initdb found above, no outside input
        [str(folder / "initdb"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_postgres(*, fsync: bool = True) -> Iterator[str]:
    """Start a fresh server, yield its DSN, stop it and delete its folder.

    `fsync=False` starts it without flushing to disk (`fsync=off`,
    `full_page_writes=off`): for the test suite, whose server is thrown away and
    never survives a power cut anyway; commits still wait for the WAL write
    (`synchronous_commit` stays on). Benchmarks keep the default."""
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="smsgw-pg-"))
    try:
        if as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root and there is no {SERVER_USER!r} user to run the "
                    f"server as: {INSTALL_HINT} (it creates the user)"
                ) from None
            os.chown(folder, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", SERVER_USER, "--"]
        data, log = folder / "data", folder / "server.log"
        _run(prefix + [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], folder)
        port = free_port()
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder}"
        if not fsync:
            options += " -c fsync=off -c full_page_writes=off"
        _run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                       "-t", str(START_TIMEOUT_S), "-w", "start"], folder, log)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                 folder, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def create_database(dsn: str, name: str) -> str:
    """Create the empty database `name` (letters, digits, `_`) on the server of `dsn`
    and answer its URL: `dsn` with that database in place of its own."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return database_url(dsn, name)


def database_url(dsn: str, name: str) -> str:
    """`dsn` (postgresql://user@host:port/database[?params]) naming database `name`."""
    base, _, query = dsn.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")


def _run(command: list[str], cwd: Path, log: Path | None = None) -> None:
    # noqa below: initdb, pg_ctl and runuser with arguments built here, no outside input
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise PostgresUnavailable(
            f"`{' '.join(command)}` failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-2000:]} {server_log}".strip()
        )
