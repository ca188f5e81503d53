"""Instance rules: hostnames, default hostnames from names, names, and resizes."""

import pytest

from nuage.domain.errors import ValidationFailed
from nuage.domain.instances import (
    NAME_MAX,
    check_resize,
    hostname_from_name,
    validate_hostname,
    validate_name,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("web", "web"),
        ("web-1", "web-1"),
        ("a", "a"),
        ("0", "0"),
        ("Web-1.Example.COM", "web-1.example.com"),
        ("  db.internal ", "db.internal"),
        ("x" * 63, "x" * 63),
        ("1-2-3.4-5", "1-2-3.4-5"),
        (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
    ],
)
def test_valid_hostnames(given: str, expected: str) -> None:
    assert validate_hostname(given) == expected


@pytest.mark.parametrize(
    "hostname",
    [
        "",
        "   ",
        "-web",
        "web-",
        "web_1",
        "web 1",
        "web..example",
        ".web",
        "web.",
        "x" * 64,
        "café",
        "a.-b",
        ".".join(["a" * 63] * 4),  # 255 characters
    ],
)
def test_invalid_hostnames(hostname: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_hostname(hostname)
    assert caught.value.code == "invalid"
    assert list(caught.value.fields) == ["hostname"]
    assert "valid hostname" in caught.value.fields["hostname"][0]


def test_invalid_hostname_reported_under_the_given_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_hostname("no_underscores", field="parameters.hostname")
    assert list(caught.value.fields) == ["parameters.hostname"]


@pytest.mark.parametrize(
    ("name", "hostname"),
    [
        ("My Web 1", "my-web-1"),
        ("web", "web"),
        ("  Spaces  around ", "spaces-around"),
        ("under_score & co.", "under-score-co"),
        ("---", "instance"),
        ("日本", "instance"),
        ("x" * 100, "x" * 63),
        ("a" * 62 + " b", "a" * 62),  # cut at 63 must not leave a trailing hyphen
    ],
)
def test_hostname_from_name(name: str, hostname: str) -> None:
    derived = hostname_from_name(name)
    assert derived == hostname
    assert validate_hostname(derived) == derived


def test_names() -> None:
    assert validate_name("  vm 1 ") == "vm 1"
    assert validate_name("x" * NAME_MAX) == "x" * NAME_MAX
    for bad in ("", "   ", "x" * (NAME_MAX + 1)):
        with pytest.raises(ValidationFailed) as caught:
            validate_name(bad)
        assert list(caught.value.fields) == ["name"]


def test_resize_may_keep_or_grow_the_disk() -> None:
    check_resize(current_disk_gb=50, target_disk_gb=50)
    check_resize(current_disk_gb=50, target_disk_gb=80)


def test_resize_refuses_to_shrink_the_disk() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_resize(current_disk_gb=80, target_disk_gb=50)
    message = caught.value.fields["size_id"][0]
    assert "50 GB" in message and "80 GB" in message and "cannot shrink" in message
