"""Our extension of fakepve keeps the state Proxmox VE keeps for disk resize, vzdump backups,
restores from an archive and clones' cloud-init drives (fakepve 0.5.0 accepts the first two and
changes nothing, refuses the third, and shares the template's cloud-init volume)."""

import pytest
from proxmoxer import ProxmoxAPI, ResourceException

from tests.pve.served import BACKUP_STORAGE, DISK_STORAGE, NODE, TEMPLATES, Served

GIB = 1024**3


def _wait_ok(api: ProxmoxAPI, upid: str) -> dict[str, str]:
    status = api.nodes(NODE).tasks(upid).status.get()
    assert status["status"] == "stopped"
    return dict(status)


def _clone(api: ProxmoxAPI, vmid: int = 101) -> None:
    upid = (
        api.nodes(NODE)
        .qemu(TEMPLATES["debian-12"])
        .clone.post(newid=vmid, name=f"vm-{vmid}", full=1)
    )
    assert _wait_ok(api, upid)["exitstatus"] == "OK"


def _disk_size(pve: Served, vmid: int) -> tuple[str, int]:
    config = pve.pve.vm(vmid).config
    volume = config["scsi0"].split(",")[0]
    return config["scsi0"], pve.pve.storages[DISK_STORAGE]["volumes"][volume.split(":")[1]]["size"]


def test_a_disk_grows_by_resize_in_config_and_on_storage(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    vm = pve_api.nodes(NODE).qemu(101)
    assert _wait_ok(pve_api, vm.resize.put(disk="scsi0", size="+8G"))["exitstatus"] == "OK"
    assert vm.config.get()["scsi0"].endswith("size=10G")
    assert _disk_size(pve, 101)[1] == 10 * GIB
    assert _wait_ok(pve_api, vm.resize.put(disk="scsi0", size="20G"))["exitstatus"] == "OK"
    assert _disk_size(pve, 101)[1] == 20 * GIB


def test_a_disk_never_shrinks_and_a_missing_disk_is_refused(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    _clone(pve_api)
    vm = pve_api.nodes(NODE).qemu(101)
    with pytest.raises(ResourceException, match="shrinking disks is not supported"):
        vm.resize.put(disk="scsi0", size="1G")
    with pytest.raises(ResourceException, match="disk 'scsi5' does not exist"):
        vm.resize.put(disk="scsi5", size="+1G")
    assert _disk_size(pve, 101)[1] == 2 * GIB


def test_vzdump_makes_a_backup_volume_holding_the_config(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    upid = node.vzdump.post(
        vmid=101,
        storage=BACKUP_STORAGE,
        mode="snapshot",
        compress="zstd",
        **{"notes-template": "{{guestname}} by nuage"},
    )
    assert _wait_ok(pve_api, upid)["exitstatus"] == "OK"
    backups = node.storage(BACKUP_STORAGE).content.get(content="backup", vmid=101)
    assert len(backups) == 1
    volid = backups[0]["volid"]
    assert volid.startswith(f"{BACKUP_STORAGE}:backup/vzdump-qemu-101-") and volid.endswith(
        ".vma.zst"
    )
    assert backups[0]["notes"] == "vm-101 by nuage" and backups[0]["size"] == 2 * GIB
    log = [line["t"] for line in node.tasks(upid).log.get()]
    assert any("creating vzdump archive" in line and volid.split("/")[-1] in line for line in log)
    assert log[-1] == "TASK OK"
    assert "name: vm-101\n" in node.vzdump.extractconfig.get(volume=volid)


def test_two_backups_in_one_second_are_two_volumes(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    for _ in range(2):
        node.vzdump.post(vmid=101, storage=BACKUP_STORAGE, compress="zstd")
    assert len(node.storage(BACKUP_STORAGE).content.get(content="backup", vmid=101)) == 2


def test_restore_over_a_stopped_vm_brings_back_its_config_and_disks(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    node.vzdump.post(vmid=101, storage=BACKUP_STORAGE, compress="zstd")
    volid = node.storage(BACKUP_STORAGE).content.get(content="backup")[0]["volid"]
    node.qemu(101).config.put(cores=4, name="changed")
    with pytest.raises(ResourceException, match="already exists"):
        node.qemu.post(vmid=101, archive=volid, storage=DISK_STORAGE)

    upid = node.qemu.post(vmid=101, archive=volid, storage=DISK_STORAGE, force=1)
    assert _wait_ok(pve_api, upid)["exitstatus"] == "OK"
    config = node.qemu(101).config.get()
    assert config["name"] == "vm-101" and str(config["cores"]) == "1"
    assert (
        config["scsi0"].startswith(f"{DISK_STORAGE}:vm-101-disk-") and "size=2G" in config["scsi0"]
    )
    images = {v["volid"] for v in node.storage(DISK_STORAGE).content.get(vmid=101)}
    assert config["scsi0"].split(",")[0] in images
    assert len([v for v in images if "-disk-" in v]) == 1  # the old disk was freed


def test_restore_to_a_new_vmid_and_refusals(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    node.vzdump.post(vmid=101, storage=BACKUP_STORAGE)
    volid = node.storage(BACKUP_STORAGE).content.get(content="backup")[0]["volid"]
    assert (
        _wait_ok(pve_api, node.qemu.post(vmid=150, archive=volid, unique=1))["exitstatus"] == "OK"
    )
    assert node.qemu(150).config.get()["net0"] != node.qemu(101).config.get()["net0"]

    pve.pve.vm(101).status = "running"
    with pytest.raises(ResourceException, match="VM is running"):
        node.qemu.post(vmid=101, archive=volid, force=1)
    with pytest.raises(ResourceException, match="does not exist"):
        node.qemu.post(
            vmid=151, archive=f"{BACKUP_STORAGE}:backup/vzdump-qemu-1-2020_01_01-00_00_00.vma"
        )


def test_a_clone_owns_its_cloud_init_drive(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    assert (
        pve_api.nodes(NODE)
        .qemu(101)
        .config.get()["ide2"]
        .startswith(f"{DISK_STORAGE}:vm-101-cloudinit")
    )
    pve_api.nodes(NODE).qemu(101).delete(purge=1)
    volumes = pve.pve.storages[DISK_STORAGE]["volumes"]
    assert "vm-101-cloudinit" not in volumes
    assert f"vm-{TEMPLATES['debian-12']}-cloudinit" in volumes


def test_destroying_a_vm_keeps_the_volumes_it_does_not_own(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    data = node.storage(DISK_STORAGE).content.post(
        vmid=999999999, filename="vm-999999999-nuage-vol-1", size="1G"
    )
    node.qemu(101).config.put(scsi1=data)
    assert _wait_ok(pve_api, node.qemu(101).delete(purge=1))["exitstatus"] == "OK"
    left = {v["volid"] for v in node.storage(DISK_STORAGE).content.get()}
    assert data in left
    assert not [v for v in left if v.startswith(f"{DISK_STORAGE}:vm-101-")]


def test_restore_keeps_a_data_volume_left_out_of_the_backup(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    _clone(pve_api)
    node = pve_api.nodes(NODE)
    data = node.storage(DISK_STORAGE).content.post(
        vmid=999999999, filename="vm-999999999-nuage-vol-2", size="1G"
    )
    node.qemu(101).config.put(scsi1=f"{data},backup=0")
    node.vzdump.post(vmid=101, storage=BACKUP_STORAGE)
    volid = node.storage(BACKUP_STORAGE).content.get(content="backup")[0]["volid"]
    assert _wait_ok(pve_api, node.qemu.post(vmid=101, archive=volid, force=1))["exitstatus"] == "OK"
    config = node.qemu(101).config.get()
    assert config["scsi1"] == f"{data},backup=0"
    assert data in {v["volid"] for v in node.storage(DISK_STORAGE).content.get()}


def test_config_answers_pending_values_unless_current(pve: Served, pve_api: ProxmoxAPI) -> None:
    _clone(pve_api)
    vm = pve_api.nodes(NODE).qemu(101)
    vm.status.start.post()
    vm.config.put(cores=4, delete="agent")
    assert str(vm.config.get()["cores"]) == "4" and "agent" not in vm.config.get()
    running = vm.config.get(current=1)
    assert str(running["cores"]) == "1" and running["agent"] == "1"
    vm.status.reboot.post()
    assert str(vm.config.get(current=1)["cores"]) == "4"
