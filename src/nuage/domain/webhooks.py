"""Webhooks: which events an endpoint may ask for, which URLs it may have, and how deliveries
are retried. Pure rules; resolving a host name is the caller's I/O.

A URL is refused unless it is http(s) with a host, and every address its host resolves to is
global (not loopback, link-local, private, shared, reserved, multicast or unspecified), unless
the operator allows private addresses (`NUAGE_WEBHOOKS_ALLOW_PRIVATE=true`). Senders check the
addresses again at each delivery and connect to the address they checked (DNS rebinding).
"""

import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from nuage.domain.errors import WebhookUrlRefused
from nuage.domain.retry import BackoffPolicy, backoff_delay

PING = "ping"  # the type of a delivery asked for with POST …/webhooks/{id}/ping


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # every attempt failed


SECRET_PREFIX = "whsec_"
URL_MAX_LENGTH = 2048


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points: its scheme, host and port (the default one if the URL has none)."""

    scheme: str
    host: str
    port: int


def parse_url(url: str) -> Target:
    """The URL's target; WebhookUrlRefused if it is not an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused(f"Not a URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("A webhook URL must start with http:// or https://.")
    if not parts.hostname:
        raise WebhookUrlRefused("A webhook URL needs a host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("A webhook URL must not carry credentials; sign with the secret.")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: str) -> bool:
    """Whether an address is one a webhook may reach without the operator's leave."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_addresses(host: str, addresses: Iterable[str], *, allow_private: bool) -> list[str]:
    """The addresses `host` resolved to, if a webhook may reach them all; else WebhookUrlRefused
    (also when there are none)."""
    found = list(dict.fromkeys(addresses))
    if not found:
        raise WebhookUrlRefused(f"The host {host} does not resolve to any address.")
    if not allow_private:
        refused = [address for address in found if not is_public(address)]
        if refused:
            raise WebhookUrlRefused(
                f"The host {host} resolves to {refused[0]}, a loopback, link-local, private or "
                "otherwise non-public address; webhooks reach public addresses only."
            )
    return found


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How a delivery is retried: exponential backoff with jitter (`domain.retry`), capped,
    up to `max_attempts` attempts in all; each attempt waits at most `timeout_seconds`."""

    backoff: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(10.0, 3600.0))
    max_attempts: int = 8
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.timeout_seconds <= 0:
            raise ValueError(f"a delivery needs an attempt and a timeout: {self}")

    def retry_delay(self, attempt: int, unit: float) -> float | None:
        """Seconds before the attempt after `attempt` (1-based), or None: no attempt is left."""
        if attempt >= self.max_attempts:
            return None
        return backoff_delay(self.backoff, attempt - 1, unit)


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300
