"""`NuagePve`: fakepve with the state its 0.5.0 release does not keep for the calls nuage makes.

fakepve answers these with success and changes nothing, or refuses them; this subclass makes
them behave as Proxmox VE 9 does, so the driver's tests can assert what they did. The coverage
table (docs/drivers/proxmox.md) marks these rows "our extension":

- `PUT qemu/{vmid}/resize`: the disk grows (`+N` or an absolute size, never shrinks), in the
  config's `size=` and on the storage, as a `resize` task.
- `POST vzdump`: a `backup/vzdump-qemu-<vmid>-<time>.vma[.ext]` volume appears on the storage,
  holding the guest's config and size; the task log names the archive as PVE's does.
- `POST qemu archive=...` (qmrestore): a VM made from a backup volume's config, its disks
  allocated afresh; over an existing VM only with `force=1` and when it is stopped, freeing the
  disks it owns and keeping the drives the backup left out (`backup=0`).
- `GET qemu/{vmid}/config`: the pending values (what the next boot applies) unless `current=1`,
  as PVE answers; fakepve answered the running values.
- `DELETE qemu/{vmid}`: only the disks the VM owns (`vm-<vmid>-...`) are freed, as
  qemu-server's destroy_vm does; fakepve freed every attached volume, a data volume of another
  owner included.
- `POST qemu/{vmid}/clone`: the clone gets its own `vm-<newid>-cloudinit` drive (fakepve kept
  the template's, which the clone's destroy then freed).

Each VM also has a guest (`tests/pve/guest.py`): the console lines the nuage test guest prints,
and disk and NIC hotplug on running VMs.

It reaches into fakepve's internals (`_qm_alloc`, `storages`, `task`), hence the exact pin
`fakepve==0.5.0` in pyproject.toml. Written for nuage; no fakepve code is copied.
"""

import re
import time
from contextvars import ContextVar
from typing import Any

from fakepve import PveError, TaskError
from fakepve.lxc import format_size, parse_size
from fakepve.qemu import DRIVE_KEY, drives_of, join_drive, split_drive, volume_ref, with_mac
from fakepve.server import ok

from tests.pve.guest import GuestModel

Values = dict[str, Any]
COMPRESSION_EXT = {"zstd": ".zst", "gzip": ".gz", "lzo": ".lzo", "1": ".lzo", "0": ""}
GROW = re.compile(r"(\+)?(\d+(?:\.\d+)?[KMGT]?)")
OWNER = re.compile(r"(?:^|/)(?:vm|base)-(\d+)-")
# The VM whose destroy task is running in this asyncio task (None elsewhere).
_destroying: ContextVar[int | None] = ContextVar("destroying", default=None)


def die(message: str) -> PveError:
    return PveError(500, message)


class NuagePve(GuestModel):
    """fakepve, with the guest of each VM (`guest.GuestModel`) and the state listed above."""

    def _routes_nuage(self) -> list[tuple[str, str, Any]]:
        # Registered before fakepve's own tables (sorted names) and its catch-all route.
        return [
            ("PUT", "/nodes/{node}/qemu/{vmid}/resize", self._nx_resize),
            ("POST", "/nodes/{node}/vzdump", self._nx_vzdump),
            ("GET", "/nodes/{node}/vzdump/extractconfig", self._nx_extractconfig),
        ]

    # ---------------------------------------------------------------- config

    async def _config_get(self, request: Any) -> Any:
        """GET config answers the pending values, as PVE does; `current=1` the running ones
        (fakepve always answered the running ones)."""
        vm = self._vm(request, "VM.Audit")
        config = dict(vm.config)
        if request.query.get("current") != "1":
            for key, value in vm.pending.items():
                if value is None:
                    config.pop(key, None)
                else:
                    config[key] = value
        if "memory" in config:
            config["memory"] = str(config["memory"])  # PVE sends it as a string
        config["digest"] = vm.digest()
        return ok(config)

    # ---------------------------------------------------------------- resize

    async def _nx_resize(self, v: Values, user: str) -> str:
        vm = self.find(v["node"], v["vmid"])
        self.require(user, f"/vms/{vm.vmid}", "VM.Config.Disk")
        if not v.get("skiplock"):
            self._check_lock(vm)
        disk = v["disk"]
        if disk not in vm.config or not DRIVE_KEY.match(disk):
            raise die(f"disk '{disk}' does not exist")
        volume, props = split_drive(vm.config[disk])
        stored = self._qm_volume(volume) or {}
        current = int(stored.get("size") or parse_size(props.get("size", "0")) or 0)
        found = GROW.fullmatch(str(v["size"]))
        if found is None:
            raise PveError(400, "Parameter verification failed.", {"size": "invalid size"})
        amount = int(parse_size(found.group(2)) or 0)
        wanted = current + amount if found.group(1) else amount
        if wanted < current:
            raise die("shrinking disks is not supported")
        grown = wanted - current

        async def body() -> str:
            sid, _name = volume_ref(volume)
            store = self.storages.get(sid, {})
            if "avail" in store:
                if grown > store["avail"]:
                    raise TaskError(f"unable to resize '{volume}': No space left on device")
                store["avail"] -= grown
            if stored:
                stored["size"] = wanted
            vm.config[disk] = join_drive(volume, dict(props, size=format_size(wanted)))
            return f"Resizing image '{volume}' to {wanted} bytes"

        return str(await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm))

    # ---------------------------------------------------------------- backup

    async def _nx_vzdump(self, v: Values, user: str) -> str:
        node = v["node"]
        storage = v.get("storage") or "local"
        store = self._store(storage)
        if "backup" not in str(store.get("content", "")).split(","):
            raise die(f"storage '{storage}' does not support backups")
        vmids = [int(x) for x in re.split(r"[,;\s]+", str(v.get("vmid") or "")) if x]
        if not vmids:
            raise PveError(400, "Parameter verification failed.", {"vmid": "nothing to back up"})
        vms = [self.find(node, vmid) for vmid in vmids]
        for vm in vms:
            self.require(user, f"/vms/{vm.vmid}", "VM.Backup")
        self.require(user, f"/storage/{storage}", "Datastore.AllocateSpace")
        ext = ".vma" + COMPRESSION_EXT.get(str(v.get("compress", "0")), "")
        names = {vm.vmid: self._nx_backup_name(storage, vm.vmid, ext) for vm in vms}
        log = [f"INFO: starting new backup job: vzdump {' '.join(map(str, vmids))}"]
        log += [
            f"INFO: creating vzdump archive '{self._volume_path(storage, name, 'backup')}'"
            for name in names.values()
        ]

        async def body() -> str:
            for vm in vms:
                if vm.lock:
                    raise TaskError(f"VM {vm.vmid} is locked ({vm.lock})")
                self._nx_store_backup(store, names[vm.vmid], vm, ext)
                vm_notes = self._nx_notes(v.get("notes-template"), vm, node)
                store["volumes"][names[vm.vmid]]["notes"] = vm_notes
            return "INFO: Backup job finished successfully"

        tid = vmids[0] if len(vmids) == 1 else ""
        return str(await self.task(node, "vzdump", tid, user, body, lock=False, log=log))

    def _nx_store_backup(self, store: Values, volname: str, vm: Any, ext: str) -> None:
        """The archive: its size is the guest's disks', and it keeps the config for a restore."""
        size = sum(
            int((self._qm_volume(vol) or {}).get("size") or 0)
            for _key, vol, _props in drives_of(vm.config, skip_cdrom=True)
        )
        store.setdefault("volumes", {})[volname] = {
            "content": "backup",
            "format": ext.lstrip("."),
            "size": size,
            "vmid": vm.vmid,
            "ctime": int(time.time()),
            "config": dict(vm.config),
            "disk_boots": self._boots_of(vm.config),  # the disks' contents (tests/pve/guest.py)
        }

    async def _nx_extractconfig(self, v: Values, user: str) -> str:
        """The guest config a backup holds, as `qm config` prints it."""
        sid, volname = volume_ref(str(v["volume"]))
        backup = self.storages.get(sid or "", {}).get("volumes", {}).get(volname)
        if backup is None or "config" not in backup:
            raise die(f"volume '{v['volume']}' does not exist")
        self._check_access(user, sid, "backup", backup.get("vmid"), v["volume"])
        return "".join(f"{key}: {value}\n" for key, value in sorted(backup["config"].items()))

    def _nx_backup_name(self, storage: str, vmid: int, ext: str) -> str:
        """PVE names archives by the second; two backups in one second take the next free one."""
        taken = self.storages[storage].get("volumes", {})
        when = int(time.time())
        while True:
            stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.gmtime(when))
            name = f"backup/vzdump-qemu-{vmid}-{stamp}{ext}"
            if name not in taken:
                return name
            when += 1

    def _nx_notes(self, template: str | None, vm: Any, node: str) -> str | None:
        if not template:
            return None
        names = {
            "guestname": vm.name,
            "vmid": str(vm.vmid),
            "node": node,
            "cluster": self.cluster_name,
        }
        return re.sub(r"\{\{(\w+)\}\}", lambda m: names.get(m.group(1), m.group(0)), template)

    # --------------------------------------------------------------- restore

    async def _qm_create(self, v: Values, user: str) -> Any:
        if not v.get("archive"):
            return await super()._qm_create(v, user)
        return await self._nx_restore(v, user)

    async def _nx_restore(self, v: Values, user: str) -> str:
        node, vmid, archive = v["node"], int(v["vmid"]), str(v["archive"])
        self.need_quorum()
        sid, volname = volume_ref(archive)
        backup = self.storages.get(sid or "", {}).get("volumes", {}).get(volname)
        if backup is None or backup.get("content") != "backup":
            raise die(f"unable to restore VM {vmid} - volume '{archive}' does not exist")
        self._check_access(user, sid, "backup", backup.get("vmid"), archive)
        existing = self.vm(vmid)
        if existing is not None:
            if not v.get("force"):
                where = existing.node
                raise die(
                    f"unable to restore VM {vmid} - VM {vmid} already exists on node '{where}'"
                )
            if existing.status == "running":
                raise die(f"unable to restore VM {vmid} - VM is running")
            self._check_lock(existing)
        target = v.get("storage")

        async def body() -> str:
            kept: Values = {}
            if existing is not None:
                kept = self._nx_clear_for_restore(existing, backup["config"])
            config = self._nx_restored_config(
                dict(backup["config"]), vmid, target, bool(v.get("unique"))
            )
            config.update(kept)
            self._set_boots(config, backup.get("disk_boots", {}))
            vm = self.add_vm(vmid, config.get("name") or f"VM {vmid}", node=node, config=config)
            vm.template = bool(config.get("template"))
            return f"restore vma archive: {self._volume_path(sid, volname, 'backup')}"

        return str(
            await self.task(
                node,
                "qmrestore",
                vmid,
                user,
                body,
                lock=False,
                log=[f"restore archive '{archive}' to VM {vmid}"],
            )
        )

    def _nx_clear_for_restore(self, existing: Any, archived: Values) -> Values:
        """qmrestore over a VM: its own disks go (as destroy_vm frees them); the drives the
        backup left out (`backup=0`) are kept as they are, and returned."""
        kept = {
            key: value
            for key, value in existing.config.items()
            if DRIVE_KEY.match(key)
            and split_drive(str(archived.get(key, "")))[1].get("backup") == "0"
        }
        token = _destroying.set(existing.vmid)
        try:
            for key, volume, _props in drives_of(existing.config):
                if key not in kept:
                    self._qm_free(volume)
        finally:
            _destroying.reset(token)
        self.vms.remove(existing)
        return kept

    def _nx_restored_config(
        self, config: Values, vmid: int, target: str | None, unique: bool
    ) -> Values:
        for key in list(config):
            value = str(config[key])
            if re.fullmatch(r"unused\d+", key) or key in ("lock", "parent"):
                del config[key]
            elif unique and re.fullmatch(r"net\d+", key):
                config[key] = with_mac(value, fresh=True)
            elif DRIVE_KEY.match(key) and split_drive(value)[1].get("backup") == "0":
                del config[key]  # not in the archive
            elif DRIVE_KEY.match(key):
                config[key] = self._nx_restored_drive(value, vmid, target)
        return config

    def _nx_restored_drive(self, value: str, vmid: int, target: str | None) -> str:
        volume, props = split_drive(value)
        sid, name = volume_ref(volume)
        if sid is None or (props.get("media") == "cdrom" and not name.endswith("-cloudinit")):
            return value
        dest = target or sid
        if name.endswith("-cloudinit"):
            return join_drive(self._nx_cloudinit_volume(dest, vmid), props)
        size = parse_size(props.get("size", "0")) or 0
        volid, _fmt = self._qm_alloc(dest, vmid, None, size)
        return join_drive(volid, dict(props, size=format_size(size)) if size else props)

    # ------------------------------------------------------- clone, destroy

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
        inner = body
        if ttype == "qmclone" and vm is not None:
            clone = vm

            async def body() -> Any:
                note = await inner()
                self._nx_own_cloudinit(clone)
                return note

        elif ttype == "qmdestroy":

            async def body() -> Any:
                token = _destroying.set(int(tid))
                try:
                    return await inner()
                finally:
                    _destroying.reset(token)

        return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)

    def _qm_free(self, volid: str) -> None:
        destroying = _destroying.get()
        if destroying is not None:
            owner = OWNER.search(volume_ref(volid)[1])
            if owner is None or int(owner.group(1)) != destroying:
                return
        super()._qm_free(volid)

    def _nx_own_cloudinit(self, vm: Any) -> None:
        for key, volume, props in drives_of(vm.config):
            sid, name = volume_ref(volume)
            if sid and name.endswith("-cloudinit") and name != f"vm-{vm.vmid}-cloudinit":
                vm.config[key] = join_drive(self._nx_cloudinit_volume(sid, vm.vmid), props)

    def _nx_cloudinit_volume(self, sid: str, vmid: int) -> str:
        name = f"vm-{vmid}-cloudinit"
        self.storages[sid].setdefault("volumes", {})[name] = {
            "content": "images",
            "format": "raw",
            "size": 4 * 1024**2,
            "vmid": vmid,
            "ctime": int(time.time()),
        }
        return f"{sid}:{name}"
