"""Webhook rules without I/O: which addresses are public, and how deliveries are retried."""

import pytest

from nuage.domain.errors import WebhookUrlRefused
from nuage.domain.retry import BackoffPolicy
from nuage.domain.webhooks import DeliveryPolicy, check_addresses, is_public, parse_url


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("169.254.169.254", False),
        ("fe80::1%eth0", False),
        ("100.64.0.1", False),
        ("192.0.2.1", False),
        ("239.1.1.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(WebhookUrlRefused, match=r"10\.0\.0\.1"):
        check_addresses("h.example", ["93.184.215.14", "10.0.0.1"], allow_private=False)
    allowed = check_addresses("h.example", ["10.0.0.1", "10.0.0.1"], allow_private=True)
    assert allowed == ["10.0.0.1"]
    with pytest.raises(WebhookUrlRefused):
        check_addresses("h.example", [], allow_private=True)


def test_a_url_names_its_default_port() -> None:
    assert parse_url("https://Example.com/x").port == 443
    assert parse_url("http://example.com:8080").port == 8080


def test_retries_back_off_exponentially_up_to_the_cap_then_stop() -> None:
    policy = DeliveryPolicy(BackoffPolicy(10.0, 60.0), max_attempts=5)
    longest = [policy.retry_delay(attempt, 0.999999) for attempt in range(1, 5)]
    shortest = [policy.retry_delay(attempt, 0.0) for attempt in range(1, 5)]
    assert [round(d or 0) for d in longest] == [10, 20, 40, 60]
    assert shortest == [5.0, 10.0, 20.0, 30.0]
    assert policy.retry_delay(5, 0.5) is None
