"""The checks every driver makes before acting on a machine, with the codes the contract names."""

import pytest

from nuage.domain.errors import PermanentError
from nuage.domain.machines import (
    check_disk_growth,
    check_hostname,
    check_machine_id,
    check_sizes,
    is_hostname,
)


@pytest.mark.parametrize("hostname", ["web", "Web-1.Example.COM", "0", "a" * 63, "1-2.x"])
def test_hostnames_a_guest_takes(hostname: str) -> None:
    assert is_hostname(hostname)
    check_hostname(hostname)


@pytest.mark.parametrize(
    "hostname", ["", "two words", "-web", "web-", "a..b", ".web", "a" * 64, "x_y", "é"]
)
def test_hostnames_a_guest_refuses_are_an_invalid_spec(hostname: str) -> None:
    assert not is_hostname(hostname)
    with pytest.raises(PermanentError) as caught:
        check_hostname(hostname)
    assert caught.value.code == "invalid_spec"


@pytest.mark.parametrize("sizes", [(0, 512, 5), (1, 0, 5), (1, 512, 0), (-1, 512, 5)])
def test_sizes_below_one_are_an_invalid_spec(sizes: tuple[int, int, int]) -> None:
    vcpu, ram_mb, disk_gb = sizes
    with pytest.raises(PermanentError) as caught:
        check_sizes(vcpu=vcpu, ram_mb=ram_mb, disk_gb=disk_gb)
    assert caught.value.code == "invalid_spec"


def test_disks_only_grow() -> None:
    check_disk_growth(current_gb=10, target_gb=10)
    check_disk_growth(current_gb=10, target_gb=20)
    with pytest.raises(PermanentError) as caught:
        check_disk_growth(current_gb=10, target_gb=5)
    assert caught.value.code == "disk_shrink_refused"


@pytest.mark.parametrize("machine_id", ["", ".hidden", "../escape", "a/b", "a b"])
def test_machine_ids_that_are_not_plain_names_are_refused(machine_id: str) -> None:
    with pytest.raises(PermanentError) as caught:
        check_machine_id(machine_id)
    assert caught.value.code == "invalid_machine_id"
