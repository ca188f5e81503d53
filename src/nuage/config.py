"""Settings, read once from the environment (NUAGE_*). Every process reads the same names."""

import os
import secrets
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args, get_origin

from nuage.domain.console import DEFAULT_PUBLIC_URL, ConsoleOptions
from nuage.domain.retry import BackoffPolicy
from nuage.domain.webhooks import DeliveryPolicy

# Where `nuage serve` and `nuage demo` (what `make run` runs) listen, and the data directory,
# unless told otherwise. Every other default is a field default of Settings below.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = "./var"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    # Earlier signing keys, still accepted until their tokens expire (key rotation without
    # downtime: docs/operations.md); comma-separated.
    accepted_secret_keys: tuple[str, ...] = ()
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    max_body_bytes: int = 1_048_576
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout: float = 10.0
    worker_concurrency: int = 4
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0
    drift_sweep_seconds: float = 0.0  # how often workers look for drift (engine.drift); 0: never
    sim_latency_ms: float = 300.0
    sim_transient_failure_rate: float = 0.0
    sim_permanent_failure_rate: float = 0.0
    sim_seed: int | None = None
    libvirt_images_dir: Path | None = None  # None: <data_dir>/images
    libvirt_backups_dir: Path | None = None  # None: <data_dir>/backups; a directory per host
    backup_retention: int = 7  # backups kept per instance: older ones are deleted
    libvirt_kernel: Path | None = None
    libvirt_initrd: Path | None = None
    libvirt_domain_type: str = "qemu"
    libvirt_boot_marker: str | None = None
    cors_allowed_origins: tuple[str, ...] = ()  # from a comma-separated list
    # Rate limits per credential (anonymous requests: per source address); 0: no limit.
    rate_limit_per_minute: int = 1000
    rate_limit_burst: int = 100  # requests within one second
    # Login and token refresh attempts (brute force), per account and per source address.
    auth_attempts_per_account: int = 10
    auth_attempts_per_address: int = 50
    auth_attempts_window_seconds: float = 600.0  # the buckets refill over this window
    hsts_seconds: int = 31_536_000  # Strict-Transport-Security, on https requests only; 0: off
    log_format: str = "json"  # "json": one JSON object a line; "text": for a terminal
    volume_quota_count: int = 20  # volumes per project
    volume_quota_gb: int = 2_000  # their total size per project, GiB
    ip_quarantine_seconds: float = 3600.0  # a released address is handed out again after this
    events_retention_seconds: float = 7 * 86400.0  # events older than this are pruned
    audit_retention_days: int = 365  # audit log rows older than this are pruned (services/audit)
    events_heartbeat_seconds: float = 15.0  # an idle event stream sends `: ping` this often
    # On SIGTERM, a worker waits this long for its tasks to finish or reach a safe step, where
    # they go back to the queue; those still running then are cancelled and go back too.
    stop_grace_seconds: float = 10.0
    # GET /metrics (docs/operations.md): clients on this machine, or with this bearer token.
    metrics_loopback: bool = True
    metrics_token: str = ""
    # Finished tasks (with their step logs) older than this are deleted; 0 keeps them forever.
    tasks_retention_seconds: float = 0.0

    @property
    def ip_quarantine(self) -> timedelta:
        return timedelta(seconds=self.ip_quarantine_seconds)

    # Where clients reach the API (console sessions' WebSocket URLs point there); None: where
    # `nuage serve` listens, or http://127.0.0.1:8000 for a worker on its own.
    public_url: str | None = None
    console_ttl_seconds: float = 60.0  # how long a console session's one-time token is valid

    @property
    def console(self) -> ConsoleOptions:
        """The console settings checked (ValueError names a bad TTL or public URL)."""
        return ConsoleOptions(
            ttl_seconds=self.console_ttl_seconds,
            public_url=self.public_url or DEFAULT_PUBLIC_URL,
        )

    snapshot_limit: int = 10  # snapshots per instance; the next is a 400 snapshot_limit_reached
    # A list's `count` is exact up to this many rows; past it, this number and `count_capped`
    # (counting every match reads each one: services/pagination.py).
    list_count_limit: int = 10_000
    # Webhooks (domain/webhooks.py): may endpoints be private addresses; how deliveries retry.
    webhooks_allow_private: bool = False
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_concurrency: int = 8  # deliveries one worker sends at once (one per endpoint)
    webhook_log_retention_seconds: float = 7 * 86400.0  # ended deliveries are kept this long

    @property
    def webhook_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            backoff=BackoffPolicy(self.webhook_retry_base_seconds, self.webhook_retry_cap_seconds),
            max_attempts=self.webhook_max_attempts,
            timeout_seconds=self.webhook_timeout_seconds,
        )

    @property
    def sim_state_dir(self) -> Path:
        return self.data_dir / "sim"

    @property
    def libvirt_state_dir(self) -> Path:
        return self.data_dir / "libvirt"

    @property
    def libvirt_images(self) -> Path:
        return self.libvirt_images_dir or self.data_dir / "images"

    @property
    def libvirt_backups(self) -> Path:
        return self.libvirt_backups_dir or self.data_dir / "backups"


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse(kind: Any, raw: str) -> Any:
    """`raw` as the field's type (the non-None member of an optional type); paths resolved;
    a tuple of strings from a comma-separated list."""
    if get_origin(kind) is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is bool:
        if raw.lower() not in _BOOLEANS:
            raise ValueError(f"expected true or false, not {raw!r}")
        return _BOOLEANS[raw.lower()]
    for member in get_args(kind) or (kind,):
        if member is Path:
            return Path(raw).resolve()
        if member in (int, float, str):
            return member(raw)
    raise TypeError(f"no parser for {kind}")


def _secret_key(data_dir: Path) -> str:
    """NUAGE_SECRET_KEY, or the key kept in the data directory ("" if there is none yet: reading
    settings writes nothing; `with_secret_key` makes one where the API needs it)."""
    if key := os.environ.get("NUAGE_SECRET_KEY"):
        return key
    path = data_dir / "secret.key"
    return path.read_text().strip() if path.exists() else ""


def with_secret_key(settings: Settings) -> Settings:
    """The settings with a signing key: a random one is made and kept in the data directory
    (mode 0600) on first use, so restarts keep sessions."""
    if settings.secret_key:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "secret.key"
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return replace(settings, secret_key=key)


def load_settings() -> Settings:
    """Settings from NUAGE_<FIELD> environment variables; unset or empty: the field's default."""
    data_dir = Path(os.environ.get("NUAGE_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": os.environ.get("NUAGE_DATABASE_URL")
        or f"sqlite+aiosqlite:///{data_dir / 'nuage.db'}",
        "secret_key": _secret_key(data_dir),
    }
    for field in fields(Settings):
        raw = os.environ.get(f"NUAGE_{field.name.upper()}")
        if field.name not in values and raw not in (None, ""):
            values[field.name] = _parse(field.type, raw)
    return Settings(**values)
