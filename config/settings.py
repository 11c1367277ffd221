"""The gateway's settings: frozen records, one per section of `default.toml`.

The loader (`config.loader`) builds them from the defaults, an optional TOML file
and `SMSGW_<SECTION>_<KEY>` environment variables; nothing else reads the
environment. Field types drive parsing and validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class SyncMode(StrEnum):
    """How hard a commit waits for the disk (`data.sync`).

    FULL: a committed transaction survives a power cut (SQLite `synchronous=FULL`
    in WAL mode: the log is synced at every commit). NORMAL: it survives a crash
    of the process, but a power cut may lose the last commits (the log is synced
    at checkpoints only), for less time per commit."""

    FULL = "full"
    NORMAL = "normal"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 16 * 1024 * 1024
    rate_limit_per_s: float = 200.0
    rate_limit_burst: int = 400
    body_timeout_s: float = 30.0  # why: api/bodies.py
    max_header_bytes: int = 16 * 1024
    max_connections: int = 1000  # why: api/serving.py


@dataclass(frozen=True, slots=True)
class DataSettings:
    """Where the store lives: `url` empty keeps SQLite in `dir`; a
    `postgresql://user:password@host:port/database` URL puts it in PostgreSQL.
    `dir` also keeps the generated admin token."""

    dir: Path = Path("./data")
    url: str = ""
    sync: SyncMode = SyncMode.FULL


@dataclass(frozen=True, slots=True)
class AdminSettings:
    token: str = ""


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    timezone: str = "Africa/Libreville"
    default_region: str = "GA"
    max_recipients: int = 100_000
    key_validity_days: int = 365
    backlog_max: int = 1_000_000
    idempotency_ttl_s: int = 86_400
    senders_required: bool = False
    """True: an account with no sender names (`emetteursAutorises`) may send under none."""


@dataclass(frozen=True, slots=True)
class BillingSettings:
    invoice_day: int = 1
    """Day of the month (1-28) at whose 00:00, gateway time zone, every postpaid
    account's period closes into an invoice."""


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    window_start: str = "08:00"
    window_end: str = "20:00"


@dataclass(frozen=True, slots=True)
class SmscSettings:
    host: str = ""
    port: int = 0
    system_id: str = "smsgw"
    password: str = "secret"
    binds: int = 2
    window: int = 200  # chosen by measurement: config/default.toml
    probe_submits: int = 500  # why: engine/dispatch/policy/pacing.py, "Probe"
    enquire_link_s: float = 30.0
    response_timeout_s: float = 10.0
    max_retries: int = 5
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    registered_delivery: bool = True
    connections: tuple[ConnectionSettings, ...] = ()
    """The named connections (`[smsc.connections.NAME]`); empty: the single
    connection of this section, named `defaut` (`Settings.connections`)."""


DEFAULT_CONNECTION = "defaut"
"""The name of the single `[smsc]` connection when no named one is configured."""


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """One SMSC connection (`[smsc.connections.NAME]`): where it is, its own pool of
    `binds` sessions, its cap and the E.164 prefixes (digits, no `+`) it serves.
    `host` empty: an embedded simulator of its own serves it (when
    `simulator.enabled`), on `port` (0: any free port). The session knobs
    (timeouts, retries, probe, receipts) are `[smsc]`'s."""

    name: str
    host: str = ""
    port: int = 0
    system_id: str = "smsgw"
    password: str = "secret"
    binds: int = 2
    window: int = 200
    max_rate: int = 0
    """submit_sm per second for the whole connection, across its binds; 0: none."""
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """`[routing]`: the connection of numbers no prefix matches, and whether a
    connection with no bound bind sends through another."""

    default: str = ""
    failover: bool = False


@dataclass(frozen=True, slots=True)
class EngineSettings:
    inbox_size: int = 1024
    dispatch_queue: int = 256  # chosen by measurement: config/default.toml
    account_idle_s: float = 300.0
    gc_threshold: int = 50_000  # why: engine/process.py


@dataclass(frozen=True, slots=True)
class SimulatorSection:
    enabled: bool = True
    host: str = "127.0.0.1"
    smpp_port: int = 2775
    control_port: int = 8775
    system_id: str = "smsgw"
    password: str = "secret"


class LogFormat(StrEnum):
    """How a log record is written (`log.format`): TEXT, one readable line; JSON, one
    JSON object a line (config/logs.py), with the request id, account and ref."""

    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """Status callbacks (contract section 11): how long an event is retried, whether
    a callback URL may point at a private address, and the HTTP client's limits."""

    max_age_s: int = 86_400
    allow_private: bool = False
    timeout_s: float = 10.0
    concurrency: int = 16


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """`[cluster]` (contract section 14): several gateway processes on one
    PostgreSQL database. `node` names this process (default: host name and HTTP
    port); `url` is where the other nodes reach its HTTP API (default: the address
    it listens on); `secret` (the same on every node) authenticates node-to-node
    calls and is required as soon as the store is PostgreSQL and another node
    registers; `lease_s` is how long a node holds its accounts without renewing;
    `shards` is how many groups the accounts fall into (fixed for a database)."""

    node: str = ""
    url: str = ""
    secret: str = ""
    lease_s: float = 10.0
    shards: int = 64


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    format: LogFormat = LogFormat.TEXT
    requests: bool = False  # why: config/logs.py (one record per HTTP request)


@dataclass(frozen=True, slots=True)
class Settings:
    http: HttpSettings = field(default_factory=HttpSettings)
    data: DataSettings = field(default_factory=DataSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    campaigns: CampaignSettings = field(default_factory=CampaignSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    smsc: SmscSettings = field(default_factory=SmscSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    simulator: SimulatorSection = field(default_factory=SimulatorSection)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def connections(self) -> tuple[ConnectionSettings, ...]:
        """The SMSC connections in force: the named ones, else `[smsc]` as `defaut`."""
        if self.smsc.connections:
            return self.smsc.connections
        s = self.smsc
        return (
            ConnectionSettings(
                DEFAULT_CONNECTION, s.host, s.port, s.system_id, s.password, s.binds, s.window
            ),
        )

    def default_connection(self) -> str:
        """The connection of numbers that no prefix matches."""
        return self.routing.default or self.connections()[0].name
