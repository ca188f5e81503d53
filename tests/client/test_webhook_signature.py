"""The SDK's webhook signature check: a genuine delivery passes (with any secret of a
rotation), a changed body, another secret, an old timestamp or a bad header fail. Once the
server's signer (nuage.domain.webhook_signatures, on the webhooks branch) is merged, the last
test checks that what it signs, the SDK accepts."""

import hashlib
import hmac

import pytest

from nuage.client.webhooks import InvalidSignature, verify_signature

BODY = b'{"id": 1, "type": "task.completed"}'
NOW = 1_764_690_000


def signed(secret: str, body: bytes = BODY, at: int = NOW) -> str:
    """The header, made by hand from the documented rule."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def test_a_genuine_delivery_passes_with_any_secret_of_a_rotation() -> None:
    assert verify_signature("whsec-new", BODY, signed("whsec-new"), now=NOW + 10) == NOW
    rotation = ["whsec-new", "whsec-old"]
    assert verify_signature(rotation, BODY, signed("whsec-old"), now=NOW) == NOW


@pytest.mark.parametrize(
    ("body", "header", "now"),
    [
        (BODY + b" ", signed("whsec"), NOW),  # the body changed
        (BODY, signed("another"), NOW),  # another secret
        (BODY, signed("whsec"), NOW + 301),  # too old: a replay
        (BODY, "v1=abc", NOW),  # no timestamp
        (BODY, "", NOW),  # no header
    ],
)
def test_a_forged_or_replayed_delivery_fails(body: bytes, header: str, now: int) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature("whsec", body, header, now=now)


def test_what_the_server_signs_the_sdk_accepts() -> None:
    server = pytest.importorskip("nuage.domain.webhook_signatures")
    header = server.sign("whsec", BODY, timestamp=NOW)
    assert verify_signature("whsec", BODY, header, now=NOW) == NOW
    assert server.SIGNATURE_HEADER == "Nuage-Signature"
