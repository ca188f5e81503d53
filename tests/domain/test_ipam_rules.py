"""The pure IPAM rules: pool ranges, the next free address, when an address is free again, and
PTR names."""

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from nuage.domain.errors import ValidationFailed
from nuage.domain.ipam import (
    AddressState,
    default_ptr,
    first_free,
    is_free_again,
    parse_range,
    validate_ptr,
)

A = ipaddress.ip_address
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def test_a_range_defaults_to_the_hosts_after_the_gateway() -> None:
    v4 = parse_range("192.0.2.0/24")
    assert (v4.gateway, v4.first, v4.last, v4.size()) == (
        A("192.0.2.1"),
        A("192.0.2.2"),
        A("192.0.2.254"),
        253,
    )
    v6 = parse_range("2001:db8:0:1::/64")
    assert (v6.version, v6.gateway, v6.first) == (6, A("2001:db8:0:1::1"), A("2001:db8:0:1::2"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cidr": "192.0.2.1/24"}, "cidr"),  # host bits set
        ({"cidr": "not-a-network"}, "cidr"),
        ({"cidr": "192.0.2.0/31"}, "cidr"),  # too small
        ({"cidr": "192.0.2.0/24", "first": "198.51.100.2"}, "first"),
        ({"cidr": "192.0.2.0/24", "first": "192.0.2.9", "last": "192.0.2.3"}, "last"),
        ({"cidr": "192.0.2.0/24", "last": "192.0.2.255"}, "first"),  # broadcast
        ({"cidr": "192.0.2.0/24", "gateway": "banana"}, "gateway"),
    ],
)
def test_bad_ranges_name_the_field(kwargs: dict[str, str], field: str) -> None:
    cidr = kwargs.pop("cidr")
    with pytest.raises(ValidationFailed) as caught:
        parse_range(cidr, **kwargs)
    assert field in caught.value.fields


def test_ranges_overlap_only_within_one_version() -> None:
    whole = parse_range("192.0.2.0/24")
    assert whole.overlaps(parse_range("192.0.2.0/28"))
    assert not whole.overlaps(parse_range("198.51.100.0/24"))
    assert not whole.overlaps(parse_range("2001:db8::/64"))
    low = parse_range("192.0.2.0/24", last="192.0.2.100")
    assert not low.overlaps(parse_range("192.0.2.0/24", first="192.0.2.101"))


def test_first_free_skips_the_taken_and_the_gateway_and_ends_exhausted() -> None:
    span = parse_range("192.0.2.0/29")  # hands out .2 to .6
    assert first_free(span, []) == A("192.0.2.2")
    assert first_free(span, [A("192.0.2.2"), A("192.0.2.4")]) == A("192.0.2.3")
    assert first_free(span, [A(f"192.0.2.{n}") for n in range(2, 7)]) is None
    inside = parse_range("192.0.2.0/29", gateway="192.0.2.3")
    assert first_free(inside, [A("192.0.2.2")]) == A("192.0.2.4")


def test_first_free_in_an_ipv6_prefix_does_not_walk_the_prefix() -> None:
    span = parse_range("2001:db8::/64")
    taken = [span.first + n for n in range(1000)]
    assert first_free(span, taken) == span.first + 1000


@pytest.mark.parametrize(
    ("state", "released", "task", "free"),
    [
        (AddressState.ASSIGNED, None, None, False),
        (AddressState.RELEASED, NOW - timedelta(minutes=59), None, False),
        (AddressState.RELEASED, NOW - timedelta(hours=1), None, True),
        (AddressState.ASSIGNING, None, "running", False),
        (AddressState.ASSIGNING, None, "pending", False),
        (AddressState.ASSIGNING, None, "failed", True),
        (AddressState.ASSIGNING, None, "cancelled", True),
    ],
)
def test_when_an_address_is_free_again(
    state: AddressState, released: datetime | None, task: str | None, free: bool
) -> None:
    again = is_free_again(
        state, released_at=released, task_status=task, now=NOW, quarantine=timedelta(hours=1)
    )
    assert again is free


def test_default_ptr_names() -> None:
    assert default_ptr(A("192.0.2.10"), "ip.example.net") == "192-0-2-10.ip.example.net"
    assert default_ptr(A("2001:db8::10"), "x.example") == "2001-db8-0-0-0-0-0-10.x.example"


def test_ptr_names_are_fully_qualified_hostnames() -> None:
    assert validate_ptr("Mail.Example.COM.") == "mail.example.com"
    for bad in ("localhost", "a..b", "-x.example.com", "x" * 64 + ".example.com", "a b.com"):
        with pytest.raises(ValidationFailed) as caught:
            validate_ptr(bad)
        assert "ptr" in caught.value.fields
