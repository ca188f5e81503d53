"""Placement rules: room for the size, enabled hosts only, spread by free capacity."""

from uuid import uuid4

from nuage.domain.enums import HostState
from nuage.domain.placement import HostLoad, Resources, choose_host


def load(
    name: str, *, free_ram: int, state: HostState = HostState.ENABLED, vcpu: int = 8
) -> HostLoad:
    capacity = Resources(vcpu, 16_384, 500)
    return HostLoad(uuid4(), name, state, capacity, Resources(0, 16_384 - free_ram, 0))


NEED = Resources(1, 1024, 25)


def test_the_host_with_most_free_memory_wins() -> None:
    hosts = [load("a", free_ram=2048), load("b", free_ram=8192), load("c", free_ram=4096)]
    assert choose_host(hosts, NEED) is hosts[1]


def test_hosts_without_room_or_not_enabled_are_skipped() -> None:
    hosts = [
        load("full", free_ram=512),
        load("off", free_ram=16_000, state=HostState.DISABLED),
        load("drain", free_ram=16_000, state=HostState.DRAINING),
        load("ok", free_ram=2048),
    ]
    assert choose_host(hosts, NEED) is hosts[3]


def test_every_dimension_must_fit() -> None:
    assert choose_host([load("one-cpu", free_ram=8192, vcpu=1)], Resources(2, 512, 1)) is None
    big_disk = Resources(1, 512, 501)
    assert choose_host([load("a", free_ram=8192)], big_disk) is None


def test_no_host_means_no_placement() -> None:
    assert choose_host([], NEED) is None


def test_ties_are_broken_deterministically() -> None:
    hosts = [load("a", free_ram=4096), load("b", free_ram=4096)]
    assert choose_host(hosts, NEED) is choose_host(list(reversed(hosts)), NEED)
