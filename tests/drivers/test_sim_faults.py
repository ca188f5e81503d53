"""What only the simulated driver does: persistence, fault injection, the operation log, latency."""

import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.errors import NuageError, PermanentError, TransientError
from nuage.drivers.base import Driver, MachineSpec
from nuage.drivers.sim import SimDriver, SimSettings

pytestmark = pytest.mark.anyio

SpecFactory = Callable[..., MachineSpec]  # the `new_spec` fixture


def sim(state_dir: Path, **settings: float) -> SimDriver:
    return SimDriver(SimSettings(state_dir=state_dir, **settings))  # type: ignore[arg-type]


async def snapshot(driver: SimDriver, machine_id: str) -> tuple[object, str]:
    return await driver.inspect(machine_id), await driver.console(machine_id)


def test_sim_driver_implements_the_protocol(state_dir: Path) -> None:
    assert isinstance(sim(state_dir), Driver)
    assert sim(state_dir).name == "sim"


def test_settings_refuse_impossible_rates(state_dir: Path) -> None:
    with pytest.raises(ValueError):
        SimSettings(state_dir=state_dir, transient_failure_rate=1.5)
    with pytest.raises(ValueError):
        SimSettings(state_dir=state_dir, latency_ms=-1)


# persistence and layout


async def test_state_survives_a_new_driver_over_the_same_dir(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    first = sim(state_dir)
    await first.create(spec)
    await first.stop(spec.machine_id)
    await first.set_hostname(spec.machine_id, "renamed")
    before = await snapshot(first, spec.machine_id)

    second = sim(state_dir)

    assert await snapshot(second, spec.machine_id) == before
    assert (await second.start(spec.machine_id)).hostname == "renamed"
    assert (await first.inspect(spec.machine_id)) == (await second.inspect(spec.machine_id))


async def test_one_atomic_file_per_machine(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    await driver.stop(spec.machine_id)

    machine_file = state_dir / "machines" / f"{spec.machine_id}.json"
    assert json.loads(machine_file.read_text())["power"] == "off"
    assert [p.name for p in (state_dir / "machines").iterdir()] == [machine_file.name]

    driver.inject_fault(spec.machine_id, operation="reboot", kind="transient")
    assert (state_dir / "faults" / f"{spec.machine_id}.json").exists()
    await driver.delete(spec.machine_id)
    assert not machine_file.exists()
    assert not (state_dir / "faults" / f"{spec.machine_id}.json").exists()


async def test_a_machine_saved_with_invented_addresses_loads_without_them(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    """Before nuage handed out addresses the simulator made up its own; such state still loads
    (and drops them: the database's addresses are the ones that count)."""
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    machine_file = state_dir / "machines" / f"{spec.machine_id}.json"
    saved = json.loads(machine_file.read_text())
    del saved["addresses"]
    machine_file.write_text(json.dumps({**saved, "ipv4": "192.0.2.7", "ipv6": "2001:db8::7"}))

    info = await driver.inspect(spec.machine_id)

    assert info is not None and (info.ipv4, info.ipv6, info.addresses) == ((), (), ())


@pytest.mark.parametrize("operation", ["stop", "shutdown"])
async def test_power_off_is_written_to_the_console(
    state_dir: Path, new_spec: SpecFactory, operation: str
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)

    await getattr(driver, operation)(spec.machine_id)

    assert (await driver.console(spec.machine_id)).splitlines()[-1] == "NUAGE-POWEROFF"


async def test_invalid_input_is_refused(state_dir: Path, new_spec: SpecFactory) -> None:
    driver = sim(state_dir)
    with pytest.raises(PermanentError) as caught:
        await driver.start("../escape")
    assert caught.value.code == "invalid_machine_id"
    with pytest.raises(PermanentError) as caught:
        await driver.create(new_spec(vcpu=0))
    assert caught.value.code == "invalid_spec"
    with pytest.raises(PermanentError) as caught:
        await driver.create(new_spec(hostname="two words"))
    assert caught.value.code == "invalid_spec"


# injected faults


async def expect_fault(kind: type[NuageError], code: str, call: Awaitable[object]) -> None:
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code


async def test_injected_transient_fault_fires_the_given_times_then_clears(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    await driver.stop(spec.machine_id)
    before = await snapshot(driver, spec.machine_id)

    driver.inject_fault(spec.machine_id, operation="start", kind="transient", times=2)

    for _ in range(2):
        await expect_fault(TransientError, "sim_transient_fault", driver.start(spec.machine_id))
        assert await snapshot(driver, spec.machine_id) == before
    assert (await driver.start(spec.machine_id)).power is PowerState.ON


async def test_injected_permanent_fault(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    driver.inject_fault(spec.machine_id, operation="reboot", kind="permanent")

    with pytest.raises(PermanentError) as caught:
        await driver.reboot(spec.machine_id)

    assert caught.value.code == "sim_permanent_fault"
    assert "injected" in caught.value.message.lower()
    assert not isinstance(caught.value, TransientError)
    await driver.reboot(spec.machine_id)


async def test_fault_injected_before_create_makes_create_fail(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    driver.inject_fault(spec.machine_id, operation="create", kind="permanent")

    await expect_fault(PermanentError, "sim_permanent_fault", driver.create(spec))

    assert await driver.inspect(spec.machine_id) is None
    assert not (state_dir / "machines" / f"{spec.machine_id}.json").exists()
    assert (await driver.create(spec)).power is PowerState.ON


async def test_a_fault_fires_only_on_its_operation(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    driver.inject_fault(spec.machine_id, operation="stop", kind="transient")

    await driver.reboot(spec.machine_id)
    await expect_fault(TransientError, "sim_transient_fault", driver.stop(spec.machine_id))
    assert (await driver.stop(spec.machine_id)).power is PowerState.OFF


async def test_a_wildcard_fault_fires_on_any_operation_but_not_on_reads(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    driver.inject_fault(spec.machine_id, kind="transient", times=2)

    assert await driver.inspect(spec.machine_id) is not None
    await driver.console(spec.machine_id)
    await expect_fault(TransientError, "sim_transient_fault", driver.start(spec.machine_id))
    await expect_fault(TransientError, "sim_transient_fault", driver.stop(spec.machine_id))
    assert (await driver.stop(spec.machine_id)).power is PowerState.OFF


async def test_injected_faults_reach_another_driver(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    await sim(state_dir).create(spec)
    sim(state_dir).inject_fault(spec.machine_id, operation="stop", kind="permanent")

    await expect_fault(PermanentError, "sim_permanent_fault", sim(state_dir).stop(spec.machine_id))
    assert (await sim(state_dir).stop(spec.machine_id)).power is PowerState.OFF


def test_inject_fault_refuses_what_it_cannot_do(state_dir: Path) -> None:
    driver = sim(state_dir)
    with pytest.raises(ValueError):
        driver.inject_fault("m1", operation="explode", kind="transient")
    with pytest.raises(ValueError):
        driver.inject_fault("m1", kind="fatal")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        driver.inject_fault("m1", kind="transient", times=0)


# faults declared by tags


async def test_create_tag_fault_fires_then_create_succeeds_and_converges(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec(tags=("env:test", "sim:fail=create:transient:2"))
    driver = sim(state_dir)

    for _ in range(2):
        await expect_fault(TransientError, "sim_transient_fault", driver.create(spec))
        assert await driver.inspect(spec.machine_id) is None
    created = await driver.create(spec)

    assert created.power is PowerState.ON
    assert await driver.create(spec) == created  # tags are not registered again
    outcomes = [entry["outcome"] for entry in driver.operations(spec.machine_id)]
    assert outcomes == ["sim_transient_fault", "sim_transient_fault", "ok", "ok"]


async def test_tag_fault_for_a_later_operation_fires_once_by_default(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec(tags=("sim:fail=stop:permanent",))
    driver = sim(state_dir)
    await driver.create(spec)

    await expect_fault(PermanentError, "sim_permanent_fault", driver.stop(spec.machine_id))
    assert (await driver.stop(spec.machine_id)).power is PowerState.OFF


@pytest.mark.parametrize(
    "tag",
    [
        "sim:fail=create",
        "sim:fail=create:boom",
        "sim:fail=nope:transient",
        "sim:fail=*:transient:x",
        "sim:fail=*:transient:0",
        "sim:fail=*:transient:1:2",
    ],
)
async def test_malformed_fault_tag_is_an_invalid_spec(
    state_dir: Path, new_spec: SpecFactory, tag: str
) -> None:
    spec = new_spec(tags=(tag,))

    await expect_fault(PermanentError, "invalid_spec", sim(state_dir).create(spec))
    assert await sim(state_dir).inspect(spec.machine_id) is None


# random faults


@pytest.mark.parametrize(
    ("rate", "kind", "code"),
    [
        ("transient_failure_rate", TransientError, "sim_transient_fault"),
        ("permanent_failure_rate", PermanentError, "sim_permanent_fault"),
    ],
)
async def test_rate_one_always_fails_and_changes_nothing(
    state_dir: Path, new_spec: SpecFactory, rate: str, kind: type[NuageError], code: str
) -> None:
    spec = new_spec()
    await sim(state_dir).create(spec)
    failing = sim(state_dir, seed=1, **{rate: 1.0})
    before = await snapshot(failing, spec.machine_id)

    await expect_fault(kind, code, failing.stop(spec.machine_id))
    await expect_fault(kind, code, failing.reboot(spec.machine_id))
    await expect_fault(kind, code, failing.set_hostname(spec.machine_id, "renamed"))
    await expect_fault(kind, code, failing.reinstall(spec.machine_id, image="x", hostname="y"))
    await expect_fault(kind, code, failing.delete(spec.machine_id))
    await expect_fault(kind, code, failing.create(new_spec()))

    assert await snapshot(failing, spec.machine_id) == before
    assert await failing.inspect(new_spec().machine_id) is None


async def test_rate_zero_never_fails(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    driver = sim(state_dir, seed=7, transient_failure_rate=0.0, permanent_failure_rate=0.0)
    await driver.create(spec)

    for _ in range(50):
        await driver.stop(spec.machine_id)
        await driver.start(spec.machine_id)

    assert {entry["outcome"] for entry in driver.operations(spec.machine_id)} == {"ok"}
    assert len(driver.operations(spec.machine_id)) == 101
    info = await driver.inspect(spec.machine_id)
    assert info is not None and info.power is PowerState.ON


async def test_seeded_random_faults_repeat(tmp_path: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()

    async def outcomes(state_dir: Path) -> list[str]:
        driver = sim(state_dir, seed=42, transient_failure_rate=0.5)
        for _ in range(40):
            with contextlib.suppress(TransientError):
                await driver.create(spec)
        return [entry["outcome"] for entry in driver.operations(spec.machine_id)]

    first, second = await outcomes(tmp_path / "a"), await outcomes(tmp_path / "b")

    assert first == second
    assert {"ok", "sim_transient_fault"} == set(first)


# operation log and latency


async def test_the_operation_log_records_each_operation_in_order(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    await driver.stop(spec.machine_id)
    driver.inject_fault(spec.machine_id, operation="start", kind="transient")
    with pytest.raises(TransientError):
        await driver.start(spec.machine_id)
    await driver.start(spec.machine_id)
    with pytest.raises(PermanentError):
        await driver.resize(spec.machine_id, vcpu=2, ram_mb=1024, disk_gb=10)
    await driver.inspect(spec.machine_id)
    await driver.console(spec.machine_id)
    await driver.delete(spec.machine_id)

    log = sim(state_dir).operations(spec.machine_id)

    assert [(e["operation"], e["outcome"]) for e in log] == [
        ("create", "ok"),
        ("stop", "ok"),
        ("start", "sim_transient_fault"),
        ("start", "ok"),
        ("resize", "machine_running"),
        ("delete", "ok"),
    ]
    assert {e["machine_id"] for e in log} == {spec.machine_id}
    times = [
        (datetime.fromisoformat(e["started"]), datetime.fromisoformat(e["finished"])) for e in log
    ]
    assert all(s.utcoffset() == timedelta(0) and s <= f for s, f in times)
    assert all(f <= next_s for (_, f), (next_s, _) in itertools.pairwise(times))
    assert all(len(e["started"].split(".")[1]) == len("123456+00:00") for e in log)


async def test_latency_delays_every_operation(state_dir: Path, new_spec: SpecFactory) -> None:
    spec = new_spec()
    driver = sim(state_dir, latency_ms=100)

    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: driver.create(spec),
        lambda: driver.stop(spec.machine_id),
        lambda: driver.inspect(spec.machine_id),
    ]
    for call in calls:
        began = time.monotonic()
        await call()
        assert time.monotonic() - began >= 0.099  # asyncio may wake a clock tick early


# I/O errors are translated at the driver's boundary


async def test_state_dir_io_errors_are_the_drivers_own(
    tmp_path: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    unreadable, unloggable = tmp_path / "a", tmp_path / "b"
    for state_dir, broken in ((unreadable, "machines"), (unloggable, "ops")):
        state_dir.mkdir()
        (state_dir / broken).write_text("not a directory")  # its files cannot be reached
    reads, logs = sim(unreadable), sim(unloggable)

    await expect_fault(TransientError, "sim_io_error", reads.inspect(spec.machine_id))
    await expect_fault(TransientError, "sim_io_error", reads.console(spec.machine_id))
    await expect_fault(TransientError, "sim_io_error", reads.create(spec))
    await expect_fault(TransientError, "sim_io_error", logs.create(spec))


@pytest.mark.parametrize("kind", ["transient", "permanent"])
async def test_volume_operations_take_injected_faults_before_any_change(
    state_dir: Path, new_spec: SpecFactory, kind: str
) -> None:
    """Faults on a volume's operations are injected under the volume's id."""
    driver = sim(state_dir)
    spec = new_spec()
    await driver.create(spec)
    volume_id = "vol-faulty"
    made = await driver.create_volume(volume_id, size_gb=1)
    driver.inject_fault(volume_id, operation="attach_volume", kind=kind)  # type: ignore[arg-type]
    console = await driver.console(spec.machine_id)

    with pytest.raises(TransientError if kind == "transient" else PermanentError):
        await driver.attach_volume(volume_id, machine_id=spec.machine_id)

    assert await driver.inspect_volume(volume_id) == made
    assert await driver.console(spec.machine_id) == console
    attached = await driver.attach_volume(volume_id, machine_id=spec.machine_id)
    assert attached.device == "vdc"
    outcomes = [(op["operation"], op["outcome"]) for op in driver.operations(volume_id)]
    fault = f"sim_{kind}_fault"
    assert outcomes == [("create_volume", "ok"), ("attach_volume", fault), ("attach_volume", "ok")]


async def test_snapshot_and_image_operations_take_faults_before_any_change(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    driver = sim(state_dir)
    await driver.create(spec)
    await driver.stop(spec.machine_id)
    for operation in ("create_snapshot", "restore_snapshot", "create_image"):
        driver.inject_fault(spec.machine_id, operation=operation, kind="transient")

    fault = (TransientError, "sim_transient_fault")
    await expect_fault(*fault, driver.create_snapshot(spec.machine_id, "s1"))
    assert not (state_dir / "snapshots" / spec.machine_id / "s1.json").exists()
    await driver.create_snapshot(spec.machine_id, "s1")
    await expect_fault(*fault, driver.restore_snapshot(spec.machine_id, "s1"))
    await expect_fault(*fault, driver.create_image(spec.machine_id, "s1", "custom-i1"))
    assert not (state_dir / "images" / "custom-i1.json").exists()
    driver.inject_fault("custom-i1", operation="delete_image", kind="permanent")
    await driver.create_image(spec.machine_id, "s1", "custom-i1")
    await expect_fault(PermanentError, "sim_permanent_fault", driver.delete_image("custom-i1"))
    assert (state_dir / "images" / "custom-i1.json").exists()
    logged = [entry["operation"] for entry in driver.operations(spec.machine_id)]
    assert logged.count("create_snapshot") == 2 and logged.count("create_image") == 2
