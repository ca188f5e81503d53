"""Every task type through the HTTP API on a Proxmox host (a served fake node, tests/pve): the host
registered as an operator registers it (tried first with its token), a worker building its driver
from the registry, and after each task the fake's state read back (not only the task's status).
Every request the driver sends is checked against Proxmox's schema (tests/pve/recording.py)."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from nuage.config import Settings
from nuage.db.session import transaction
from nuage.domain.enums import HostState, TaskType
from nuage.drivers.registry import build_driver, check_host
from nuage.engine.hosts import Drivers
from nuage.engine.worker import Worker
from nuage.services import hosts
from tests.drivers.guest_lines import software as software_lines
from tests.pve.drivers import host_config
from tests.pve.served import Served, serve
from tests.support import (
    IMAGES,
    LOCATION,
    SIZES,
    SOFTWARE,
    Stack,
    Tenant,
    TenantFactory,
    make_staff,
    worker_settings,
)

pytestmark = [pytest.mark.anyio, pytest.mark.one_database]
SECRET_VAR = "NUAGE_TEST_PVE_TOKEN"


@pytest.fixture
async def pve_host(
    stack: Stack, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    """par1's only host: a Proxmox node (the fake), with a worker that reaches it."""
    served = serve()
    monkeypatch.setenv(SECRET_VAR, served.token_secret)
    spec = hosts.HostSpec(
        "pve-e2e", "par1", "proxmox", served.url, 16, 65536, 2000,
        config=host_config(served), secret_ref=f"env:{SECRET_VAR}",
    )  # fmt: skip
    async with transaction(stack.runtime.sessions) as session:
        sim = await hosts.host_by_name(session, "sim-par1")
        await hosts.change_host(session, sim.id, hosts.HostChanges(state=HostState.DISABLED))
        await hosts.add_host(session, spec, check=lambda **kw: check_host(settings, **kw))

    def factory(host: Any) -> Any:
        if host.driver != "proxmox":
            return stack.driver
        return build_driver(
            driver=host.driver, host=host.name, uri=host.uri, config=host.config,
            secret_ref=host.secret_ref, settings=settings,
        )  # fmt: skip

    worker = Worker(
        stack.runtime.sessions, Drivers(factory), stack.notifier, worker_settings(settings)
    )
    stack.start_worker(worker)
    yield served
    await stack.stop_workers()
    served.stop()


async def done(tenant: Tenant, response: httpx.Response, seen: set[str]) -> dict[str, Any]:
    assert response.status_code in (201, 202), response.text
    body = response.json()
    task_id = body["id"] if "task_type" in body else response.headers["Location"].rsplit("/", 1)[1]
    task = await tenant.wait(task_id, timeout=30)
    assert task["status"] == "completed", task
    seen.add(task["task_type"])
    return task


def vm_of(served: Served, instance: dict[str, Any]) -> Any:
    return next(vm for vm in served.pve.vms if not vm.template and vm.name == instance["hostname"])


async def test_every_task_type_runs_on_a_proxmox_host(
    tenants: TenantFactory, pve_host: Served, stack: Stack
) -> None:
    served, seen = pve_host, set[str]()
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)  # apply_config is for operators
    put = tenant.client.put
    delete = tenant.client.delete

    async def act(verb: str, body: Any = None) -> dict[str, Any]:
        task = await tenant.act(iid, verb, body)
        return await done(tenant, httpx.Response(202, json=task), seen)

    created = await tenant.post(
        "/instances", json={"name": "web", "hostname": "web-1", "size_id": SIZES["nano"],
                            "location_id": LOCATION, "image_id": IMAGES["debian"]},
    )  # fmt: skip
    iid = created.json()["id"]
    await done(tenant, created, seen)
    instance = (await tenant.get(f"/instances/{iid}")).json()
    vm = vm_of(served, instance)
    assert vm.status == "running"
    assert f"ip={instance['ipv4'][0]}/" in unquote(str(vm.config["ipconfig0"]))

    await act("stop")
    assert vm.status == "stopped"
    await act("resize", {"size_id": SIZES["small"]})
    assert str(vm.config["memory"]) == "1024"  # the small size
    await act("start")
    await act("reboot")
    await act("reset")
    await act("hostname", {"hostname": "web-2"})
    assert vm.name == "web-2"
    await act("sync")

    assigned = await done(
        tenant, await tenant.post(f"/instances/{iid}/ips", json={"version": 4}), seen
    )
    ip_path = f"{tenant.base}/instances/{iid}/ips/{assigned['parameters']['ip_id']}"
    await done(
        tenant,
        await put(
            f"{ip_path}/reverse-dns", json={"ptr": "mail.example.com"}, headers=tenant.headers
        ),
        seen,
    )
    await done(tenant, await delete(ip_path, headers=tenant.headers), seen)

    vpc = await tenant.post("/vpcs", json={"name": "private", "cidr_block": "10.0.0.0/24",
                                          "location_id": LOCATION})  # fmt: skip
    await done(
        tenant, await tenant.post(f"/instances/{iid}/vpc", json={"vpc_id": vpc.json()["id"]}), seen
    )
    assert "tag=" in str(vm_of(served, instance | {"hostname": "web-2"}).config["net1"])

    rules = [{"priority": 10, "direction": "INPUT", "action": "ACCEPT", "protocol": "TCP",
              "destination_ports": {"start": 22}}]  # fmt: skip
    fw = f"{tenant.base}/instances/{iid}/firewall"
    await done(tenant, await put(fw, json={"rules": rules}, headers=tenant.headers), seen)
    await done(
        tenant,
        await tenant.post(f"/instances/{iid}/config", json={"config": {"cpu_model": "host"}}),
        seen,
    )
    await act("console")

    await act("stop")
    snap = await done(
        tenant, await tenant.post(f"/instances/{iid}/snapshots", json={"name": "s1"}), seen
    )
    snap_path = f"/instances/{iid}/snapshots/{snap['parameters']['snapshot_id']}"
    await done(tenant, await tenant.post(f"{snap_path}/restore"), seen)
    image = await done(
        tenant, await tenant.post(f"{snap_path}/image", json={"name": "golden"}), seen
    )
    await done(tenant, await delete(tenant.base + snap_path, headers=tenant.headers), seen)
    await done(
        tenant,
        await delete(
            f"{tenant.base}/images/{image['parameters']['image_id']}", headers=tenant.headers
        ),
        seen,
    )

    backup = await done(
        tenant, await tenant.post(f"/instances/{iid}/backups", json={"name": "b1"}), seen
    )
    backup_path = f"/instances/{iid}/backups/{backup['parameters']['backup_id']}"
    await done(tenant, await tenant.post(f"{backup_path}/restore"), seen)
    await done(tenant, await delete(tenant.base + backup_path, headers=tenant.headers), seen)

    volume = await done(
        tenant,
        await tenant.post(f"/instances/{iid}/volumes", json={"name": "data", "size_gb": 1}),
        seen,
    )
    vpath = f"/volumes/{volume['parameters']['volume_id']}"
    await done(tenant, await tenant.post(f"{vpath}/resize", json={"size_gb": 2}), seen)
    await done(tenant, await tenant.post(f"{vpath}/detach"), seen)
    await done(tenant, await tenant.post(f"{vpath}/attach", json={"instance_id": iid}), seen)
    await done(tenant, await tenant.post(f"{vpath}/detach"), seen)
    await done(tenant, await delete(tenant.base + vpath, headers=tenant.headers), seen)

    # Software, through the guest agent: the VM is stopped, so it waits for the next start; the
    # reinstall's fresh disk gets it then, and the guest reports it.
    software = f"/instances/{iid}/software"
    await done(tenant, await tenant.post(software, json={"software_id": SOFTWARE["nginx"]}), seen)
    assert vm.status == "stopped" and served.pve.installed == {}
    await act("reinstall", {"image_id": IMAGES["ubuntu"]})
    assert vm_of(served, instance | {"hostname": "web-2"}).status == "stopped"  # kept off
    await act("start")
    vm = vm_of(served, instance | {"hostname": "web-2"})
    assert served.pve.installed[served.pve._main_disk(vm.config)] == {"nginx"}
    assert software_lines(served.pve.console(vm.vmid)) == ["nginx"]
    removal = await delete(f"{tenant.base}{software}/{SOFTWARE['nginx']}", headers=tenant.headers)
    await done(tenant, removal, seen)  # running: removed at once, then the guest restarts
    assert served.pve.installed[served.pve._main_disk(vm.config)] == set()
    assert software_lines(served.pve.console(vm.vmid)) == []
    await act("shutdown")
    await done(tenant, await delete(f"{tenant.base}/instances/{iid}", headers=tenant.headers), seen)
    assert [vm for vm in served.pve.vms if not vm.template] == []

    assert seen == {t.value for t in TaskType}, set(TaskType) - seen
