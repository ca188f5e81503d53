"""Signing and verifying webhook deliveries: pure functions that the sender and the SDK share.

A delivery's body is signed with its webhook's secret as HMAC-SHA256 over `f"{timestamp}.{body}"`
(the body as sent, bytes), and the header says both:

    Nuage-Signature: t=1764690000,v1=5257a869e7ec…(64 hex digits)

During a secret rotation a receiver may hold several secrets: `verify` accepts a signature made
with any of them. The timestamp bounds replays: a signature older than `tolerance_seconds` fails.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "Nuage-Signature"
EVENT_ID_HEADER = "Nuage-Event-Id"
DELIVERY_ID_HEADER = "Nuage-Delivery-Id"
EVENT_TYPE_HEADER = "Nuage-Event-Type"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, too old, or matches none of the secrets."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `f"{timestamp}.{body}"` under `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The value of the `Nuage-Signature` header for `body`, signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},{SCHEME}={signature(secret, at, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the `v1` signatures of a `Nuage-Signature` header; SignatureError if
    it is malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(f"Expected {SIGNATURE_HEADER}: t=<unix time>,{SCHEME}=<hex>.")
    return timestamp, signatures


def verify(
    secrets: str | Iterable[str],
    body: bytes,
    header: str,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a delivery: returns its timestamp, or raises SignatureError. `body` is the raw
    request body, exactly as received (not re-encoded JSON)."""
    timestamp, given = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureError("The signature's timestamp is outside the tolerance: a replay?")
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    for secret in keys:
        expected = signature(secret, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return timestamp
    raise SignatureError("No signature matches the secret.")
