"""libvirt volumes: qcow2 files of the host, attached to domains as virtio disks.

A volume is `<state_dir>/volumes/<volume_id>.qcow2` (its external id is that path): a file local
to the host, so it can be attached only to machines of the same host. Which machine it is
attached to is what libvirt says: the domain whose definition (or, while it runs, live
configuration) has a disk with that file. Attach and detach change the live configuration of a
running domain (virtio hot-plug) and its persistent definition, live first, so that an operation
repeated after a crash finds the half it did and completes the other half on the same device.
Growing a volume of a running domain is `blockresize` (the guest sees the new size at once),
else `qemu-img resize`. Everything here blocks: the driver runs it in a thread.
"""

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from nuage.domain.errors import PermanentError, TransientError
from nuage.domain.machines import check_disk_growth
from nuage.domain.volumes import check_volume_size, first_free_device

from .base import VolumeInfo
from .libvirt_connection import Connection
from .libvirt_domain import domain_name, machine_id_of, volume_disk_xml, volume_disks
from .libvirt_files import run_tool

Domain = Any  # libvirt.virDomain
_GIB = 1024**3
DETACH_TIMEOUT_S = 30.0  # the guest acknowledges an unplug (ACPI PCI hot-plug) within this


class LibvirtVolumes:
    def __init__(self, conn: Connection, state_dir: Path) -> None:
        self._conn = conn
        self._lv = conn.lv
        self._dir = state_dir.resolve() / "volumes"

    def path(self, volume_id: str) -> Path:
        return self._dir / f"{volume_id}.qcow2"

    def volume_id_of(self, path: Path) -> str | None:
        """The volume whose file `path` is; None for a file that is not one of this host's."""
        return path.stem if path.parent == self._dir and path.suffix == ".qcow2" else None

    def create(self, volume_id: str, size_gb: int) -> VolumeInfo:
        path = self.path(volume_id)
        if not path.exists():
            check_volume_size(size_gb)
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".new")
            run_tool("qemu-img", "create", "-q", "-f", "qcow2", str(tmp), f"{size_gb}G")
            tmp.replace(path)  # a crash leaves no half volume under the real name
        return self.info(volume_id)

    def attach(self, volume_id: str, machine_id: str, dom: Domain) -> VolumeInfo:
        path = self._require(volume_id)
        holder = self._holder(path)
        if holder is not None and holder != machine_id:
            message = f"Volume {volume_id} is attached to machine {holder}."
            raise PermanentError(message, code="volume_in_use")
        live, config = self._disks(dom)
        device = _device_of(path, live) or _device_of(path, config)
        if device is None:
            device = first_free_device(set(live) | set(config))
        xml = volume_disk_xml(device, path)
        if dom.isActive() and device not in live:
            dom.attachDeviceFlags(xml, self._lv.VIR_DOMAIN_AFFECT_LIVE)
        if device not in config:
            dom.attachDeviceFlags(xml, self._lv.VIR_DOMAIN_AFFECT_CONFIG)
        return self.info(volume_id)

    def detach(self, volume_id: str, dom: Domain) -> VolumeInfo:
        path = self._require(volume_id)
        live, config = self._disks(dom)
        device = _device_of(path, live)
        if dom.isActive() and device is not None:
            dom.detachDeviceFlags(volume_disk_xml(device, path), self._lv.VIR_DOMAIN_AFFECT_LIVE)
            self._wait_unplugged(dom, path)
        device = _device_of(path, config)
        if device is not None:
            xml = volume_disk_xml(device, path)
            dom.detachDeviceFlags(xml, self._lv.VIR_DOMAIN_AFFECT_CONFIG)
        return self.info(volume_id)

    def resize(self, volume_id: str, size_gb: int) -> VolumeInfo:
        path = self._require(volume_id)
        check_disk_growth(current_gb=_size_gb(path), target_gb=size_gb)
        dom, device = self._live_holder(path)
        if dom is not None and device is not None:
            flags = self._lv.VIR_DOMAIN_BLOCK_RESIZE_BYTES
            dom.blockResize(device, size_gb * _GIB, flags)
        else:
            run_tool("qemu-img", "resize", "-q", str(path), f"{size_gb}G")
        return self.info(volume_id)

    def delete(self, volume_id: str) -> None:
        path = self.path(volume_id)
        holder = self._holder(path)
        if holder is not None:
            message = f"Volume {volume_id} is attached to machine {holder}."
            raise PermanentError(message, code="volume_in_use")
        path.unlink(missing_ok=True)

    def info(self, volume_id: str) -> VolumeInfo:
        path = self._require(volume_id)
        machine_id, device = None, None
        for dom in self._domains():
            live, config = self._disks(dom)
            device = _device_of(path, config) or _device_of(path, live)
            if device is not None:
                machine_id = machine_id_of(dom)
                break
        return VolumeInfo(
            volume_id=volume_id,
            size_gb=_size_gb(path),
            external_id=str(path),
            machine_id=machine_id,
            device=device,
        )

    def inspect(self, volume_id: str) -> VolumeInfo | None:
        return self.info(volume_id) if self.path(volume_id).exists() else None

    def _require(self, volume_id: str) -> Path:
        path = self.path(volume_id)
        if not path.exists():
            raise PermanentError(f"No volume {volume_id}.", code="volume_not_found")
        return path

    def _holder(self, path: Path) -> str | None:
        for dom in self._domains():
            live, config = self._disks(dom)
            if _device_of(path, live) or _device_of(path, config):
                return machine_id_of(dom)
        return None

    def _live_holder(self, path: Path) -> tuple[Domain | None, str | None]:
        for dom in self._domains():
            device = _device_of(path, self._disks(dom)[0])  # live disks: none while it is off
            if device is not None:
                return dom, device
        return None, None

    def _domains(self) -> list[Domain]:
        """nuage's domains on this host, in a stable order."""
        domains = self._conn.get().listAllDomains(0)
        return sorted((d for d in domains if str(d.name()).startswith(domain_name(""))), key=_name)

    def _disks(self, dom: Domain) -> tuple[dict[str, Path], dict[str, Path]]:
        """The domain's volumes live (empty while it is off) and in its definition; a domain
        deleted meanwhile has none."""
        try:
            live = volume_disks(dom.XMLDesc(0)) if dom.isActive() else {}
            return live, volume_disks(dom.XMLDesc(self._lv.VIR_DOMAIN_XML_INACTIVE))
        except self._lv.libvirtError as exc:
            if exc.get_error_code() == self._lv.VIR_ERR_NO_DOMAIN:
                return {}, {}
            raise

    def _wait_unplugged(self, dom: Domain, path: Path) -> None:
        deadline = time.monotonic() + DETACH_TIMEOUT_S
        while dom.isActive() and _device_of(path, volume_disks(dom.XMLDesc(0))) is not None:
            if time.monotonic() >= deadline:
                message = f"The guest did not release {path.name} within {DETACH_TIMEOUT_S} s."
                raise TransientError(message, code="detach_timeout")
            time.sleep(0.1)


def _device_of(path: Path, disks: dict[str, Path]) -> str | None:
    return next((device for device, file in disks.items() if file == path), None)


def _name(dom: Domain) -> str:
    return str(dom.name())


def _size_gb(path: Path) -> int:
    """The volume's virtual size in whole GiB (read while a running QEMU may hold the file)."""
    try:
        argv = ["qemu-img", "info", "--force-share", "--output=json", str(path)]
        done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)
        return int(json.loads(done.stdout)["virtual-size"]) // _GIB
    except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
        raise PermanentError(f"qemu-img info {path} failed: {exc}", code="disk_error") from exc
