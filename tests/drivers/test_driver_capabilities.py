"""Drivers by capability: each driver class declares exactly the capabilities whose protocols it
implements (names, async, signatures), and a host's configuration narrows what a driver does."""

import inspect
from pathlib import Path

import pytest

from nuage.domain.capabilities import Capability
from nuage.domain.catalogue import CATALOGUE
from nuage.domain.errors import PermanentError
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import BINDINGS, POWER, RESIZE, capable
from nuage.drivers.registry import DRIVER_CLASSES
from nuage.drivers.sim import SimDriver, SimSettings

pytestmark = pytest.mark.anyio


def operations(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if inspect.iscoroutinefunction(member)
    }


def mismatches(cls: type, protocol: type) -> list[str]:
    """How `cls` falls short of `protocol`: missing, not async, or another signature."""
    found = []
    for name, expected in operations(protocol).items():
        member = getattr(cls, name, None)
        if member is None:
            found.append(f"{name}: missing")
        elif not inspect.iscoroutinefunction(member):
            found.append(f"{name}: not async")
        elif inspect.signature(member) != expected:
            found.append(f"{name}: {inspect.signature(member)} is not {expected}")
    return found


def implemented(cls: type) -> frozenset[Capability]:
    return frozenset(c for c, b in BINDINGS.items() if not mismatches(cls, b.protocol))


def test_every_capability_protocol_has_operations() -> None:
    assert all(operations(binding.protocol) for binding in BINDINGS.values())
    assert all(capability == b.capability for capability, b in BINDINGS.items())


def test_every_supported_task_types_capability_has_operations_to_call() -> None:
    needed = {s.capability for s in CATALOGUE.values() if s.supported and s.capability}
    assert needed <= BINDINGS.keys()


@pytest.mark.parametrize("cls", DRIVER_CLASSES, ids=lambda cls: cls.description.name)
def test_a_driver_implements_each_capability_it_declares(cls: type[Driver]) -> None:
    declared = cls.description.capabilities
    assert declared <= BINDINGS.keys(), "a capability without a protocol means nothing yet"
    for capability in sorted(declared):
        assert mismatches(cls, BINDINGS[capability].protocol) == [], capability


@pytest.mark.parametrize("cls", DRIVER_CLASSES, ids=lambda cls: cls.description.name)
def test_a_driver_declares_each_capability_it_implements(cls: type[Driver]) -> None:
    assert implemented(cls) == cls.description.capabilities


def test_the_check_sees_a_wrong_signature_and_an_undeclared_implementation() -> None:
    class Sloppy:
        async def resize(self, machine_id: str, vcpu: int) -> None: ...

        async def set_hostname(self, machine_id: str, hostname: str) -> object: ...

    assert mismatches(Sloppy, RESIZE.protocol) != []
    assert Capability.RESIZE not in implemented(Sloppy)
    assert mismatches(Sloppy, POWER.protocol) == [
        f"{op}: missing" for op in operations(POWER.protocol)
    ]


async def test_a_simulated_host_without_a_capability_refuses_its_operations(
    tmp_path: Path,
) -> None:
    limited = SimDriver(
        SimSettings(state_dir=tmp_path, capabilities=frozenset({Capability.RESIZE}))
    )
    assert isinstance(limited, Driver)
    with pytest.raises(PermanentError) as caught:
        capable(limited, POWER)
    assert caught.value.code == "capability_not_supported"
    with pytest.raises(PermanentError) as caught:
        await limited.start("a-machine")
    assert caught.value.code == "capability_not_supported"
    assert capable(limited, RESIZE) is limited
