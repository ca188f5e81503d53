"""The guest inside each fake VM: what the nuage test guest prints on its serial console.

Proxmox VE keeps no serial log a client can read, so the contract suite reads the guest's view
from this model instead (`NuagePve.console(vmid)`); it prints what the test guest and the
simulator print (scripts/README.md, `nuage.drivers.sim_guest`), computed from the VM's config as
cloud-init applies it at boot:

- a boot (a start from stopped, a reboot, a reset) appends `NUAGE-IFACES eth0[ eth1]` (net0,
  net1), `NUAGE-NET eth0 <ipconfig0's ip and ip6>`, `NUAGE-NET eth1 <ipconfig1's ip>` with net1,
  `NUAGE-DISKS vda=<scsi0> vdc=<scsi1> …` (GiB, from the storage's volumes) and
  `NUAGE-BOOTED hostname=<VM name> vcpus=<cores * sockets> mem_mb=<memory> disk=fresh|used
  boots=<n>`, n being the main disk's boot counter: part of the disk's contents, so a clone
  starts from its source's, and a snapshot rollback or a restore brings back the counter saved
  with it;
- a stop or a shutdown appends `NUAGE-POWEROFF`; a disk hotplugged, unplugged or grown while
  running appends a new `NUAGE-DISKS` line.

The QEMU guest agent runs in a running VM whose config enables it (`agent: 1`) when the image
has it (`agent_installed`, True unless a test takes it away); otherwise PVE's answer, HTTP 500
"QEMU guest agent is not running". Its `exec` runs the package commands of
`nuage.drivers.guest_software.package_command`: the packages installed on the VM's main disk
change (a package in `missing_packages` fails as apt does, exit code 100), and the guest prints
`NUAGE-SOFTWARE <installed>` after each such command as at each boot. `file-write` keeps the
file on the VM's main disk; `exec` of `proxmox_addresses.apply_command` puts the CIDRs of its
`EXTRA_FILE` on eth0 besides `ipconfig0`'s (until the next boot) and prints `NUAGE-NET eth0 …`
again. Any other command exits 0.

Disks and NICs change at once on a running VM, as Proxmox's default `hotplug`
(network,disk,usb) makes them; fakepve queued them as pending until the next boot.
"""

import dataclasses
import re
from contextvars import ContextVar
from typing import Any

from fakepve import FakePve
from fakepve.lxc import parse_size
from fakepve.qemu import is_cdrom, split_drive, volume_ref

from nuage.drivers.base import GuestAddress, PrivateNetwork
from nuage.drivers.guest_network import guest_lines, network_line
from nuage.drivers.guest_software import package_command, software_line
from nuage.drivers.proxmox_addresses import EXTRA_FILE, apply_command
from nuage.drivers.sim_guest import POWEROFF_LINE

GIB = 1024**3
MAIN_DISKS = ("scsi0", "virtio0", "sata0")
DATA_DISK = re.compile(r"scsi([1-9]|[12][0-9]|30)")
HOTPLUG = re.compile(r"(?:scsi|virtio|sata)\d+|net\d+")
PACKAGE_ACTIONS = ("install", "remove")
_clone_snapshot: ContextVar[str | None] = ContextVar("clone_snapshot", default=None)


def _ipconfig(text: str | None) -> dict[str, str]:
    return dict(part.split("=", 1) for part in str(text or "").split(",") if "=" in part)


def _addresses(ipconfig: dict[str, str]) -> list[GuestAddress]:
    found = []
    for key, gateway in (("ip", "gw"), ("ip6", "gw6")):
        value = ipconfig.get(key, "")
        if "/" in value:
            address, prefix = value.split("/")
            found.append(GuestAddress(address, int(prefix), ipconfig.get(gateway), "", not found))
    return found


class GuestModel(FakePve):  # type: ignore[misc]  # fakepve is untyped
    """Mixin of `NuagePve` (before FakePve in its bases)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consoles: dict[int, list[str]] = {}
        self.disk_boots: dict[str, int] = {}  # volume id → boot counter (the disk's contents)
        self.snapshot_boots: dict[tuple[int, str], dict[str, int]] = {}
        self.installed: dict[str, set[str]] = {}  # volume id → packages on it
        self.agent_installed = True
        self.missing_packages = {"nosuchpackage"}
        self.files: dict[tuple[str, str], str] = {}  # (volume id, path) → content

    def console(self, vmid: int) -> str:
        return "".join(f"{line}\n" for line in self.consoles.get(vmid, []))

    # ------------------------------------------------------------- lines

    def _say(self, vm: Any, *lines: str) -> None:
        self.consoles.setdefault(vm.vmid, []).extend(lines)

    def _main_disk(self, config: dict[str, Any]) -> str | None:
        key = next((k for k in MAIN_DISKS if k in config), None)
        return split_drive(config[key])[0] if key else None

    def _gib(self, value: str) -> int:
        volume, props = split_drive(value)
        stored = self._qm_volume(volume) or {}
        size = int(stored.get("size") or parse_size(props.get("size", "0")) or 0)
        return size // GIB

    def disks_line(self, config: dict[str, Any]) -> str:
        disks = {}
        main = next((k for k in MAIN_DISKS if k in config), None)
        if main:
            disks["vda"] = self._gib(config[main])
        for key, value in config.items():
            found = DATA_DISK.fullmatch(key)
            if found and not is_cdrom(*split_drive(value)):
                disks[f"vd{chr(ord('b') + int(found.group(1)))}"] = self._gib(value)
        return " ".join(["NUAGE-DISKS", *(f"{n}={gb}G" for n, gb in sorted(disks.items()))])

    def _report_disks(self, vm: Any) -> None:
        """A running guest prints its disks again when they differ from what it last printed."""
        shown = [line for line in self.consoles.get(vm.vmid, []) if line.startswith("NUAGE-DISKS")]
        line = self.disks_line(vm.config)
        if not shown or shown[-1] != line:
            self._say(vm, line)

    def _boot(self, vm: Any) -> None:
        config = vm.config
        disk = self._main_disk(config)
        boots = self.disk_boots.get(disk or "", 0)
        if disk:
            self.disk_boots[disk] = boots + 1
        private = None
        if "net1" in config:
            eth1 = _addresses(_ipconfig(config.get("ipconfig1")))
            if eth1:
                private = PrivateNetwork("vpc", eth1[0].address, eth1[0].prefix_length)
        vcpus = int(config.get("cores") or 1) * int(config.get("sockets") or 1)
        memory = re.sub(r"^current=", "", str(config.get("memory") or 512)).split(",")[0]
        self._say(
            vm,
            f"[    0.000000] Linux version 6.1.0-nuage-pve, VM {vm.vmid}",
            f"[    2.318842] systemd[1]: Hostname set to <{vm.name}>.",
            *guest_lines(_addresses(_ipconfig(config.get("ipconfig0"))), private),
            software_line(sorted(self.installed.get(disk or "", ()))),
            self.disks_line(config),
            f"NUAGE-BOOTED hostname={config.get('name', vm.name)} vcpus={vcpus} mem_mb={memory}"
            f" disk={'used' if boots else 'fresh'} boots={boots + 1}",
        )

    # ------------------------------------------------------------- agent

    async def _agent_call(self, match: Any, values: dict[str, Any]) -> Any:
        vm = self.find(values["node"], values["vmid"])
        enabled = str(vm.config.get("agent", "0")).split(",")[0].split("=")[-1] == "1"
        if not (enabled and self.agent_installed):
            vm.agent = None
        elif vm.agent is None:
            vm.agent = {}
        answer = await super()._agent_call(match, values)
        if match.template.endswith("/agent/exec"):
            self._exec(vm, list(values["command"]))
        elif match.template.endswith("/agent/file-write"):
            self.files[(self._main_disk(vm.config) or "", values["file"])] = values["content"]
        return answer

    def _exec(self, vm: Any, argv: list[str]) -> None:
        if argv[:4] == apply_command([]):
            content = self.files.get((self._main_disk(vm.config) or "", EXTRA_FILE), "")
            extra = [
                GuestAddress(c.split("/")[0], int(c.split("/")[1]), None, "", False)
                for c in content.splitlines()
                if not c.startswith("#")
            ]
            primary = [  # ipconfig0's: the primary address of each version
                dataclasses.replace(a, primary=True)
                for a in _addresses(_ipconfig(vm.config.get("ipconfig0")))
            ]
            self._say(vm, network_line([*primary, *extra]))
            return
        action = next((a for a in PACKAGE_ACTIONS if argv[:4] == package_command(a, [])), None)
        if action is None:
            return
        packages, disk = set(argv[4:]), self._main_disk(vm.config) or ""
        unknown = sorted(packages & self.missing_packages)
        if action == "install" and unknown:
            error = f"E: Unable to locate package {unknown[0]}\n"
            vm.agent["exec"] = {" ".join(argv): {"exitcode": 100, "err-data": error}}
            return
        installed = self.installed.setdefault(disk, set())
        if action == "install":
            installed.update(packages)
        else:
            installed.difference_update(packages)
        self._say(vm, software_line(sorted(installed)))

    # ------------------------------------------------------------- hooks

    async def task(
        self,
        node: str,
        ttype: str,
        tid: Any,
        user: str,
        body: Any,
        vm: Any = None,
        lock: bool = True,
        log: Any = (),
    ) -> Any:
        inner, guest = body, vm if vm is not None else self.vm(_int(tid))
        snapname = _clone_snapshot.get()

        async def body() -> Any:
            before = guest.status if guest is not None else None
            note = await inner()
            if guest is not None:
                self._after(ttype, guest, before, snapname, tid)
            return note

        return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)

    def _after(
        self, ttype: str, vm: Any, before: str | None, snapname: str | None, tid: Any
    ) -> None:
        now = vm.status
        if ttype == "qmstart" and before == "stopped" and now == "running":
            self._boot(vm)
        elif ttype in ("qmreboot", "qmreset"):
            self._say(vm, "reboot: Restarting system")
            self._boot(vm)
        elif ttype in ("qmstop", "qmshutdown") and before == "running" != now:
            if ttype == "qmshutdown":
                self._say(vm, "[  OK  ] Reached target System Power Off.")
            self._say(vm, POWEROFF_LINE)
        elif ttype == "qmsnapshot" and vm.config.get("parent"):
            self.snapshot_boots[(vm.vmid, vm.config["parent"])] = self._boots_of(vm.config)
        elif ttype == "qmrollback" and vm.config.get("parent"):
            # The disks go back to the snapshot's contents; a running guest is stopped first.
            if before == "running":
                self._say(vm, POWEROFF_LINE)
            self._set_boots(vm.config, self.snapshot_boots.get((vm.vmid, vm.config["parent"]), {}))
            if now == "running":
                self._boot(vm)
        elif ttype == "qmclone":
            source = self.vm(_int(tid))
            saved = (
                self.snapshot_boots.get((source.vmid, snapname), {})
                if source is not None and snapname
                else self._boots_of(source.config if source is not None else {})
            )
            self._set_boots(vm.config, saved)
        elif ttype == "qmdestroy":
            self.consoles.pop(vm.vmid, None)
        elif ttype == "resize" and now == "running":
            self._report_disks(vm)  # the guest sees its block device grow

    def _boots_of(self, config: dict[str, Any]) -> dict[str, int]:
        """The boot counters of a config's disks, by drive key."""
        return {
            key: self.disk_boots.get(split_drive(value)[0], 0)
            for key, value in config.items()
            if key in MAIN_DISKS or DATA_DISK.fullmatch(key)
        }

    def _set_boots(self, config: dict[str, Any], boots: dict[str, int]) -> None:
        for key, count in boots.items():
            if key in config:
                self.disk_boots[split_drive(config[key])[0]] = count

    async def _qm_clone(self, v: dict[str, Any], user: str) -> Any:
        token = _clone_snapshot.set(v.get("snapname"))
        try:
            return await super()._qm_clone(v, user)
        finally:
            _clone_snapshot.reset(token)

    def _qm_rename_volume(self, volid: str) -> str:
        new = str(super()._qm_rename_volume(volid))
        if volid in self.disk_boots:
            self.disk_boots[new] = self.disk_boots.pop(volid)
        if volid in self.installed:
            self.installed[new] = self.installed.pop(volid)
        return new

    # ----------------------------------------------------------- hotplug

    async def _apply_config(self, vm: Any, user: str, p: dict[str, Any]) -> None:
        if vm.status != "running":
            return await self._apply_and_unuse(vm, user, p)
        deletes = [k for k in str(p.get("delete") or "").split(",") if k]
        hot = {k: v for k, v in p.items() if HOTPLUG.fullmatch(k)}
        hot_deletes = [k for k in deletes if HOTPLUG.fullmatch(k)]
        cold = {k: v for k, v in p.items() if k not in hot and k != "delete"}
        cold_deletes = [k for k in deletes if k not in hot_deletes]
        if hot or hot_deletes:
            vm.status = "stopped"  # fakepve queues every change of a running VM; these go live
            try:
                await self._apply_and_unuse(
                    vm,
                    user,
                    {
                        **hot,
                        **({"delete": ",".join(hot_deletes)} if hot_deletes else {}),
                        **({"digest": p["digest"]} if "digest" in p else {}),
                    },
                )
            finally:
                vm.status = "running"
            cold.pop("digest", None)
            self._report_disks(vm)
        if cold or cold_deletes:
            await super()._apply_config(
                vm, user, {**cold, **({"delete": ",".join(cold_deletes)} if cold_deletes else {})}
            )
        return None

    async def _apply_and_unuse(self, vm: Any, user: str, p: dict[str, Any]) -> None:
        """qemu-server's vmconfig_register_unused_drive: a detached disk the VM owns becomes
        `unusedN`; a volume of another owner is only dropped from the config."""
        before = dict(vm.config)
        await super()._apply_config(vm, user, p)
        for key, value in before.items():
            if key in vm.config or not (key in MAIN_DISKS or DATA_DISK.fullmatch(key)):
                continue
            volume, props = split_drive(value)
            owner = re.search(r"(?:^|/)vm-(\d+)-disk-", volume_ref(volume)[1])
            if not is_cdrom(volume, props) and owner and int(owner.group(1)) == vm.vmid:
                n = next(i for i in range(256) if f"unused{i}" not in vm.config)
                vm.config[f"unused{n}"] = volume


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
