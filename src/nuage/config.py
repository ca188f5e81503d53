"""Settings, read once from the environment (NUAGE_*). Every process reads the same names."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
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
    sim_latency_ms: float = 300.0
    sim_transient_failure_rate: float = 0.0
    sim_permanent_failure_rate: float = 0.0
    sim_seed: int | None = None
    libvirt_images_dir: Path | None = None
    libvirt_kernel: Path | None = None
    libvirt_initrd: Path | None = None
    libvirt_domain_type: str = "qemu"
    libvirt_boot_marker: str | None = None

    @property
    def sim_state_dir(self) -> Path:
        return self.data_dir / "sim"

    @property
    def libvirt_state_dir(self) -> Path:
        return self.data_dir / "libvirt"


def _path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).resolve() if raw else None


def _secret_key(data_dir: Path) -> str:
    """NUAGE_SECRET_KEY, or a random key kept in the data directory so restarts keep sessions."""
    if key := os.environ.get("NUAGE_SECRET_KEY"):
        return key
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("NUAGE_DATA_DIR") or "./var").resolve()
    default_db = f"sqlite+aiosqlite:///{data_dir / 'nuage.db'}"
    seed = os.environ.get("NUAGE_SIM_SEED")
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("NUAGE_DATABASE_URL") or default_db,
        secret_key=_secret_key(data_dir),
        access_token_minutes=_int("NUAGE_ACCESS_TOKEN_MINUTES", 15),
        refresh_token_days=_int("NUAGE_REFRESH_TOKEN_DAYS", 7),
        max_body_bytes=_int("NUAGE_MAX_BODY_BYTES", 1_048_576),
        db_pool_size=_int("NUAGE_DB_POOL_SIZE", 10),
        db_max_overflow=_int("NUAGE_DB_MAX_OVERFLOW", 10),
        db_pool_timeout=_float("NUAGE_DB_POOL_TIMEOUT", 10.0),
        worker_concurrency=_int("NUAGE_WORKER_CONCURRENCY", 4),
        lease_seconds=_float("NUAGE_LEASE_SECONDS", 30.0),
        poll_seconds=_float("NUAGE_POLL_SECONDS", 1.0),
        retry_base_seconds=_float("NUAGE_RETRY_BASE_SECONDS", 2.0),
        retry_cap_seconds=_float("NUAGE_RETRY_CAP_SECONDS", 300.0),
        sim_latency_ms=_float("NUAGE_SIM_LATENCY_MS", 300.0),
        sim_transient_failure_rate=_float("NUAGE_SIM_TRANSIENT_FAILURE_RATE", 0.0),
        sim_permanent_failure_rate=_float("NUAGE_SIM_PERMANENT_FAILURE_RATE", 0.0),
        sim_seed=int(seed) if seed else None,
        libvirt_images_dir=_path("NUAGE_LIBVIRT_IMAGES_DIR") or data_dir / "images",
        libvirt_kernel=_path("NUAGE_LIBVIRT_KERNEL"),
        libvirt_initrd=_path("NUAGE_LIBVIRT_INITRD"),
        libvirt_domain_type=os.environ.get("NUAGE_LIBVIRT_DOMAIN_TYPE") or "qemu",
        libvirt_boot_marker=os.environ.get("NUAGE_LIBVIRT_BOOT_MARKER") or None,
    )
