"""The guest model of the fake: what a VM's console says after each thing done to it, read as
the contract suite reads the test guest's console (tests/drivers/guest_lines.py)."""

from proxmoxer import ProxmoxAPI

from tests.drivers import guest_lines
from tests.pve.served import BACKUP_STORAGE, DISK_STORAGE, NODE, TEMPLATES, Served


def _new_vm(api: ProxmoxAPI, vmid: int = 101) -> object:
    node = api.nodes(NODE)
    node.qemu(TEMPLATES["debian-12"]).clone.post(newid=vmid, name="web-1", full=1)
    vm = node.qemu(vmid)
    vm.config.put(
        cores=2, memory=2048, ipconfig0="ip=192.0.2.10/24,gw=192.0.2.1,ip6=2001:db8::10/64"
    )
    return vm


def _last(console: str, prefix: str) -> str:
    return [line for line in console.splitlines() if line.startswith(prefix)][-1]


def test_a_boot_prints_what_cloud_init_applied(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _new_vm(pve_api)
    assert pve.pve.console(101) == ""
    vm.status.start.post()
    console = pve.pve.console(101)
    assert _last(console, "NUAGE-BOOTED") == (
        "NUAGE-BOOTED hostname=web-1 vcpus=2 mem_mb=2048 disk=fresh boots=1"
    )
    assert _last(console, "NUAGE-NET eth0") == "NUAGE-NET eth0 192.0.2.10/24 2001:db8::10/64"
    assert guest_lines.interfaces(console) == ["eth0"]
    assert guest_lines.disks(console) == {"vda": "2G"}


def test_power_cycles_count_boots_on_the_disk(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _new_vm(pve_api)
    vm.status.start.post()
    vm.status.reboot.post()
    vm.status.stop.post()
    assert pve.pve.console(101).splitlines()[-1] == "NUAGE-POWEROFF"
    vm.status.start.post()
    vm.status.reset.post()
    console = pve.pve.console(101)
    assert guest_lines.boots(console) == 4
    assert _last(console, "NUAGE-BOOTED").split()[4] == "disk=used"


def test_hotplugged_disks_and_nics_go_live_on_a_running_vm(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    vm = _new_vm(pve_api)
    vm.status.start.post()
    node = pve_api.nodes(NODE)
    data = node.storage(DISK_STORAGE).content.post(
        vmid=999999999, filename="vm-999999999-nuage-vol-1", size="5G"
    )
    vm.config.put(scsi1=data, net1="virtio,bridge=vmbr0,tag=42", ipconfig1="ip=10.0.0.2/24")
    config = vm.config.get()
    assert config["scsi1"] == data and config["net1"].endswith("bridge=vmbr0,tag=42")
    assert guest_lines.disks(pve.pve.console(101)) == {"vda": "2G", "vdc": "5G"}
    vm.resize.put(disk="scsi1", size="+2G")
    assert guest_lines.disks(pve.pve.console(101)) == {"vda": "2G", "vdc": "7G"}
    vm.config.put(delete="scsi1")
    assert guest_lines.disks(pve.pve.console(101)) == {"vda": "2G"}
    assert not [k for k in vm.config.get() if k.startswith("unused")]  # not the VM's volume
    vm.status.reboot.post()
    console = pve.pve.console(101)
    assert guest_lines.interfaces(console) == ["eth0", "eth1"]
    assert _last(console, "NUAGE-NET eth1") == "NUAGE-NET eth1 10.0.0.2/24"


def test_a_detached_disk_the_vm_owns_becomes_unused(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _new_vm(pve_api)
    owned = (
        pve_api.nodes(NODE)
        .storage(DISK_STORAGE)
        .content.post(vmid=101, filename="vm-101-disk-5", size="1G")
    )
    vm.config.put(scsi1=owned)
    vm.config.put(delete="scsi1")
    assert vm.config.get()["unused0"] == owned


def test_rollback_and_restore_bring_back_the_disk_contents(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    vm = _new_vm(pve_api)
    node = pve_api.nodes(NODE)
    vm.status.start.post()  # boots=1
    vm.snapshot.post(snapname="one")
    vm.status.stop.post()
    node.vzdump.post(vmid=101, storage=BACKUP_STORAGE)
    vm.status.start.post()
    vm.status.reboot.post()  # boots=3
    vm.snapshot("one").rollback.post(start=1)
    assert guest_lines.boots(pve.pve.console(101)) == 2
    vm.status.stop.post()
    volid = node.storage(BACKUP_STORAGE).content.get(content="backup")[0]["volid"]
    node.qemu.post(vmid=101, archive=volid, force=1)
    vm.status.start.post()
    assert guest_lines.boots(pve.pve.console(101)) == 2


def test_a_clone_starts_from_its_source_disk(pve: Served, pve_api: ProxmoxAPI) -> None:
    vm = _new_vm(pve_api)
    vm.status.start.post()
    vm.snapshot.post(snapname="base")
    vm.status.reboot.post()
    node = pve_api.nodes(NODE)
    node.qemu(101).clone.post(newid=102, name="copy", full=1, snapname="base")
    node.qemu(102).status.start.post()
    assert guest_lines.boots(pve.pve.console(102)) == 2
    assert _last(pve.pve.console(102), "NUAGE-BOOTED").split()[4] == "disk=used"
    node.qemu(102).status.stop.post()
    node.qemu(102).delete()
    assert pve.pve.console(102) == ""
