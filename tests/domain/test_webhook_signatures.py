"""Webhook signatures: what a receiver checks, with the function the SDK exposes."""

import hashlib
import hmac

import pytest

from nuage.domain.webhook_signatures import SignatureError, sign, verify

BODY = b'{"id": 7, "type": "task.completed"}'


def test_the_header_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign("whsec_abc", BODY, timestamp=1_700_000_000)
    expected = hmac.new(b"whsec_abc", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_signature_verifies_with_its_secret_or_any_of_several() -> None:
    header = sign("new", BODY, timestamp=1_000)
    assert verify("new", BODY, header, now=1_010) == 1_000
    assert verify(["old", "new"], BODY, header, now=1_010) == 1_000


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [("other", BODY, 1_010), ("s", BODY + b" ", 1_010), ("s", BODY, 1_000 + 301)],
    ids=["wrong secret", "body changed", "too old"],
)
def test_a_wrong_secret_a_changed_body_or_an_old_timestamp_fail(
    secret: str, body: bytes, now: float
) -> None:
    header = sign("s", BODY, timestamp=1_000)
    with pytest.raises(SignatureError):
        verify(secret, body, header, now=now)


@pytest.mark.parametrize("header", ["", "t=1", "v1=ab", "t=x,v1=ab", "garbage"])
def test_a_malformed_header_fails(header: str) -> None:
    with pytest.raises(SignatureError):
        verify("s", BODY, header, now=1)
