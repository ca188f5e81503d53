"""The Proxmox driver's own promises, against a served fake node (tests/pve): its faults mapped to
nuage's errors (a task's error, a held lock, an offline node, a dropped connection, a wrong
token), values sent as Proxmox wants them, and a host tried before it is registered. Every
request the driver sends is also checked against Proxmox's schema (tests/pve/recording.py)."""

import asyncio
import struct
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError, TransientError, ValidationFailed
from nuage.drivers.base import MachineSpec
from nuage.drivers.proxmox import ProxmoxDriver
from nuage.drivers.proxmox_console import websocket_url
from nuage.drivers.registry import check_host
from tests.pve import schema
from tests.pve.drivers import host_config, proxmox_driver
from tests.pve.served import Served, serve

pytestmark = pytest.mark.anyio
KEYS = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0 ops@example", "ssh-rsa AAAAB3Nza+/= two words")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def served() -> Iterator[Served]:
    fake = serve()
    yield fake
    fake.stop()


@pytest.fixture
async def driver(served: Served) -> AsyncIterator[ProxmoxDriver]:
    built = proxmox_driver(served, ssh_keys=list(KEYS))
    yield built
    await built.close()


def spec(machine_id: str = "m-1", **changes: object) -> MachineSpec:
    fields: dict[str, object] = {
        "machine_id": machine_id,
        "name": "web",
        "hostname": "web-1.example.net",
        "vcpu": 2,
        "ram_mb": 1024,
        "disk_gb": 2,
        "image": "debian-12",
    }
    return MachineSpec(**{**fields, **changes})  # type: ignore[arg-type]


async def test_the_vmid_comes_from_nextid_and_cloud_init_gets_the_values_pve_wants(
    driver: ProxmoxDriver, served: Served
) -> None:
    info = await driver.create(spec())

    vm = served.pve.vm(int(info.external_id))
    assert int(info.external_id) >= 100 and vm.status == "running"
    assert vm.name == "web-1.example.net"
    assert unquote(str(vm.config["sshkeys"])) == "\n".join(KEYS)  # sent percent-encoded
    assert str(vm.config["ciuser"]) == "nuage"
    assert "firewall=1" in str(vm.config["net0"]) and "bridge=vmbr0" in str(vm.config["net0"])
    assert (str(vm.config["cores"]), str(vm.config["memory"])) == ("2", "1024")


async def test_a_task_that_ends_in_error_fails_with_its_task_error_line(
    driver: ProxmoxDriver, served: Served
) -> None:
    info = await driver.stop((await driver.create(spec())).machine_id)
    served.pve.vm(int(info.external_id)).start_error = "kvm: failed to find romfile"

    with pytest.raises(PermanentError) as caught:
        await driver.start("m-1")

    assert caught.value.code == "proxmox_error"
    assert "TASK ERROR: kvm: failed to find romfile" in str(caught.value)
    assert (await driver.inspect("m-1")).power is PowerState.OFF  # type: ignore[union-attr]


async def test_a_held_config_lock_is_transient_host_busy(
    driver: ProxmoxDriver, served: Served
) -> None:
    vmid = (await driver.create(spec())).external_id
    path = f"/nodes/{served.node}/qemu/{vmid}/config"
    served.pve.fail("PUT", path, error="config_lock_timeout", times=1)

    with pytest.raises(TransientError) as caught:
        await driver.set_hostname("m-1", "other")

    assert caught.value.code == "host_busy" and "got timeout" in str(caught.value)
    assert (await driver.set_hostname("m-1", "other")).hostname == "other"  # the retry works


async def test_an_offline_node_is_transient_host_unreachable(
    driver: ProxmoxDriver, served: Served
) -> None:
    await driver.create(spec())
    served.pve.set_node_offline(served.node)

    with pytest.raises(TransientError) as caught:
        await driver.reboot("m-1")

    assert caught.value.code == "host_unreachable"
    served.pve.set_node_offline(served.node, offline=False)
    assert (await driver.reboot("m-1")).power is PowerState.ON


async def test_a_dropped_connection_is_transient_host_unreachable(
    driver: ProxmoxDriver, served: Served
) -> None:
    await driver.create(spec())
    served.pve.flaky_network(drop_rate=1.0)

    with pytest.raises(TransientError) as caught:
        await driver.inspect("m-1")

    assert caught.value.code == "host_unreachable"
    served.pve.flaky_network(drop_rate=0.0)
    assert await driver.inspect("m-1") is not None


async def test_a_wrong_token_is_permanent_and_never_shown(served: Served) -> None:
    served.pve.apitokens[served.token_id] = "another-secret"
    driver = proxmox_driver(served)
    try:
        with pytest.raises(PermanentError) as caught:
            await driver.create(spec())
    finally:
        await driver.close()

    assert caught.value.code == "host_auth_failed"
    assert served.token_secret not in str(caught.value)


async def test_a_refused_parameter_is_permanent_with_proxmox_words(
    driver: ProxmoxDriver, served: Served
) -> None:
    vmid = (await driver.create(spec())).external_id
    path = f"/nodes/{served.node}/qemu/{vmid}/config"
    served.pve.fail("PUT", path, 400, "parameter verification failed", times=1)

    with pytest.raises(PermanentError) as caught:
        await driver.set_hostname("m-1", "other")

    assert caught.value.code == "proxmox_refused"
    assert "parameter verification failed" in str(caught.value)


async def test_tasks_are_waited_for_when_proxmox_takes_time(
    driver: ProxmoxDriver, served: Served
) -> None:
    served.pve.time_scale = 0.002  # a PVE second is 2 ms: tasks run after their answer

    info = await driver.create(spec())
    stopped = await driver.shutdown("m-1")

    assert info.power is PowerState.ON and stopped.power is PowerState.OFF
    assert served.pve.vm(int(info.external_id)).status == "stopped"


async def test_a_host_is_tried_before_it_is_registered(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def check(**changes: object) -> None:
        fields: dict[str, object] = {
            "driver": "proxmox",
            "name": "pve-a",
            "uri": served.url,
            "config": host_config(served),
            "secret_ref": "env:NUAGE_TEST_PVE_SECRET",
        }
        await check_host(None, **{**fields, **changes})  # type: ignore[arg-type]

    monkeypatch.setenv("NUAGE_TEST_PVE_SECRET", served.token_secret)
    await check()  # the right token: no error
    served.pve.apitokens[served.token_id] = "another-secret"
    with pytest.raises(ValidationFailed) as wrong:
        await check()
    served.pve.set_node_offline(served.node)
    served.pve.apitokens[served.token_id] = served.token_secret
    with pytest.raises(ValidationFailed) as offline:
        await check()

    assert list(wrong.value.fields) == ["secret_ref"]
    assert "host_auth_failed" in wrong.value.fields["secret_ref"][0]
    assert served.token_secret not in str(wrong.value.fields)
    assert list(offline.value.fields) == ["uri"]


async def rfb_desktop(port: int) -> str:
    """Connect to a display as a VNC viewer offered no authentication, and read its name."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await reader.readexactly(12) == b"RFB 003.008\n"
        writer.write(b"RFB 003.008\n")
        assert await reader.readexactly(2) == bytes([1, 1])  # one security type: None
        writer.write(bytes([1]))
        assert await reader.readexactly(4) == bytes(4)  # SecurityResult OK
        writer.write(bytes([1]))  # ClientInit, shared
        head = await reader.readexactly(24)
        return (await reader.readexactly(struct.unpack(">I", head[20:])[0])).decode()
    finally:
        writer.close()


async def test_the_console_relay_authenticates_with_a_fresh_ticket_per_connection(
    driver: ProxmoxDriver, served: Served
) -> None:
    info = await driver.create(spec())
    address = await driver.vnc_address("m-1")
    assert address is not None and address == await driver.vnc_address("m-1")

    first = await rfb_desktop(address[1])
    second = await rfb_desktop(address[1])  # PVE tickets are single-use: a new one each time

    assert first == second == "web-1.example.net (nuage-m-1)"
    url = websocket_url(driver.settings, int(info.external_id), "PVEVNC:ab12", 5900)
    parts = urlsplit(url)
    assert schema.check("GET", parts.path.removeprefix("/api2/json"), parse_qsl(parts.query)) == []
    await driver.stop("m-1")
    with pytest.raises(OSError):
        await rfb_desktop(address[1])  # its display went with it
