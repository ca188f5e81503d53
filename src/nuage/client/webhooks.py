"""Checking that a webhook delivery comes from nuage: its `Nuage-Signature` header is
`t=<unix time>,v1=<hex HMAC-SHA256 of f"{t}.{body}" under the webhook's secret>` (docs/api.md,
Webhooks). The server signs with the same rule (nuage.domain.webhook_signatures; a test holds
the two together); the SDK keeps its own copy so a receiver needs nothing of the server.

    from nuage.client.webhooks import SIGNATURE_HEADER, verify_signature

    verify_signature(secret, request.body, request.headers[SIGNATURE_HEADER])  # raises if forged
"""

import hashlib
import hmac
import time
from collections.abc import Iterable

from nuage.client.errors import NuageClientError

SIGNATURE_HEADER = "Nuage-Signature"
EVENT_ID_HEADER = "Nuage-Event-Id"
DELIVERY_ID_HEADER = "Nuage-Delivery-Id"
EVENT_TYPE_HEADER = "Nuage-Event-Type"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(NuageClientError, ValueError):
    """The header is missing or malformed, too old (a replay?), or matches none of the secrets."""


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature(f"expected {SIGNATURE_HEADER}: t=<unix time>,v1=<hex>")
    return timestamp, signatures


def verify_signature(
    secrets: str | Iterable[str],
    body: bytes,
    header: str | None,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """The delivery's timestamp if `header` signs `body` (the raw bytes received, not JSON
    re-encoded) with one of `secrets` (several during a rotation); else `InvalidSignature`."""
    if not header:
        raise InvalidSignature(f"no {SIGNATURE_HEADER} header")
    timestamp, given = _parse(header)
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise InvalidSignature("the signature's time is outside the tolerance: a replay?")
    message = str(timestamp).encode() + b"." + body
    for secret in [secrets] if isinstance(secrets, str) else secrets:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return timestamp
    raise InvalidSignature("no signature matches the secret")
