"""Console sessions: one-time, expiring tickets to a guest's VNC display through nuage's bridge.

`get_vnc_url` finds where the running guest's display listens on its host and records a session:
its id, the display's address, a hash of a random token and an expiry. The token itself is shown
once, in the task's result, to the task's creator only. Whoever presents it at the session's
WebSocket URL (`ws(s)://<api>/v1/console/<session_id>?token=<token>`) before `expires_at`, and
first, gets a byte bridge to the display; every later, wrong or late attempt is refused alike.

A session is `active` until it is used or expires; a bridge opened in time is not cut when the
session expires (the TTL bounds how long a ticket is valid, not how long a console stays open).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from nuage.domain.enums import TaskType

# Task types that never touch the machine. Any other may restart the guest's QEMU, whose display
# may then listen elsewhere and another guest's take its port: when such a task starts, the
# instance's unused sessions end, so that no token reaches a display that is not the one it
# was made for.
KEEPS_DISPLAY = frozenset({TaskType.GET_VNC_URL, TaskType.SYNC_VPS_STATE})
DEFAULT_TTL_SECONDS = 60
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
WEBSOCKET_PATH = "/v1/console/{session_id}"


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    """What a worker needs to open sessions: how long a ticket is valid, and the API's public
    address (sessions' URLs point at its WebSocket endpoint)."""

    ttl_seconds: float = DEFAULT_TTL_SECONDS
    public_url: str = DEFAULT_PUBLIC_URL

    def __post_init__(self) -> None:
        if not 1 <= self.ttl_seconds <= 3600:
            raise ValueError(f"the console TTL must be within [1, 3600] s: {self.ttl_seconds}")
        websocket_base(self.public_url)  # refuses what is not an http(s) URL

    def expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.ttl_seconds)

    def url(self, session_id: UUID) -> str:
        return websocket_base(self.public_url) + WEBSOCKET_PATH.format(session_id=session_id)


class ConsoleSessionStatus(StrEnum):
    ACTIVE = "active"  # its token may still open the bridge
    USED = "used"  # its token opened the bridge once; it never will again
    EXPIRED = "expired"  # never used, and now too late


def websocket_base(public_url: str) -> str:
    """`http(s)://host[:port][/prefix]` as `ws(s)://…`, without a trailing slash; ValueError for
    anything else (the setting is checked when it is read)."""
    parts = urlsplit(public_url)
    schemes = {"http": "ws", "https": "wss"}
    if parts.scheme not in schemes or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"the public URL must be http(s)://host[:port][/path]: {public_url!r}")
    return urlunsplit((schemes[parts.scheme], parts.netloc, parts.path.rstrip("/"), "", ""))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a token (its SHA-256, hex): the database never holds a usable one."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def session_status(
    *, expires_at: datetime, used_at: datetime | None, now: datetime
) -> ConsoleSessionStatus:
    if used_at is not None:
        return ConsoleSessionStatus.USED
    return ConsoleSessionStatus.ACTIVE if now < expires_at else ConsoleSessionStatus.EXPIRED
