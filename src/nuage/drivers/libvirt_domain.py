"""A nuage machine as a libvirt domain: the domain XML, and what nuage keeps in its <metadata>.

The domain's own elements hold what libvirt enforces (uuid from the machine id, vCPUs, memory);
nuage's facts (name, hostname, image, disk id, disk size, addresses, software) live in one
`<nuage:machine>` element of the `NAMESPACE` XML namespace inside `<metadata>`, so `inspect`
reads everything back from libvirt alone. Reads use the persistent (inactive) definition: what
the machine is and will boot as.
"""

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from nuage.domain.errors import PermanentError
from nuage.domain.machines import check_hostname, check_sizes

from .base import GuestAddress, PrivateNetwork
from .libvirt_firewall import filter_name, is_bound
from .libvirt_network import interface_xml, vpc_network

NAMESPACE = "https://nuage.dev/xmlns/libvirt/machine/1"
_KIB_PER = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "m": 1024, "mib": 1024}
_KIB_PER |= {"g": 1024**2, "gib": 1024**2, "kb": 1000 / 1024, "mb": 1000**2 / 1024}


@dataclass(frozen=True)
class MachineConfig:
    """What nuage defines for one machine (sizes in MiB and GiB)."""

    machine_id: str
    name: str
    hostname: str
    image: str
    disk_id: str
    vcpu: int
    ram_mb: int
    disk_gb: int
    volumes: tuple[tuple[str, Path], ...] = ()  # attached volumes: (device, file), vdc on
    addresses: tuple[GuestAddress, ...] = ()
    # apply_config's settings (domain.hypervisor_config), defaults left out: kept in the
    # metadata and rendered into the domain's own elements (`_cpu`, `_boot`, memballoon).
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Its interfaces filtered by its nwfilter (`libvirt_firewall`): read from their <filterref>.
    firewall: bool = False
    # set_software's packages, sorted; and those it took away since (the guest removes them).
    software: tuple[str, ...] = ()
    removed_software: tuple[str, ...] = ()
    private_network: PrivateNetwork | None = None  # its VPC: eth1 on the VPC's network


@dataclass(frozen=True, kw_only=True)
class Hardware:
    """How domains are built on this host (from `LibvirtSettings`)."""

    domain_type: str
    machine: str
    kernel: Path | None
    initrd: Path | None
    max_vcpus: int
    guest_network: str | None  # the network of every guest's eth0; None: guests have no NIC


_PREFIX = "nuage-"


def domain_name(machine_id: str) -> str:
    return f"{_PREFIX}{machine_id}"


def machine_id_of(domain: Any) -> str:
    """The machine id a nuage domain (a `libvirt.virDomain`) is named after."""
    return str(domain.name()).removeprefix(_PREFIX)


def domain_uuid(machine_id: str) -> str:
    """The machine id itself when it is a UUID (instances' ids are), else one derived from it:
    stable, because libvirt refuses to redefine a name under another uuid."""
    try:
        return str(uuid.UUID(machine_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAMESPACE}#{machine_id}"))


def check_config(config: MachineConfig) -> None:
    """PermanentError `invalid_spec` for sizes below 1 or a hostname a guest would refuse."""
    check_sizes(vcpu=config.vcpu, ram_mb=config.ram_mb, disk_gb=config.disk_gb)
    check_hostname(config.hostname)


def domain_xml(config: MachineConfig, hw: Hardware, *, disk: Path, seed: Path, log: Path) -> str:
    """The domain: TCG-friendly `pc` machine with ACPI, virtio disk vda + read-only seed vdb,
    serial console logged (appending) to `log`. Direct kernel boot when `hw.kernel` is set."""
    return f"""<domain type={_q(hw.domain_type)}>
  <name>{_e(domain_name(config.machine_id))}</name>
  <uuid>{domain_uuid(config.machine_id)}</uuid>
  <metadata>
    {_metadata(config)}
  </metadata>
  <memory unit='MiB'>{config.ram_mb}</memory>
  <currentMemory unit='MiB'>{config.ram_mb}</currentMemory>
  <vcpu placement='static' current='{config.vcpu}'>{max(hw.max_vcpus, config.vcpu)}</vcpu>
  <os>
    <type arch='x86_64' machine={_q(hw.machine)}>hvm</type>
    {_boot(hw, config.settings)}
  </os>
  <features><acpi/><apic/></features>
  {_cpu(config.settings)}
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file={_q(disk)}/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file={_q(seed)}/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    {"".join(volume_disk_xml(device, path) for device, path in config.volumes)}
    {_interfaces(config, hw)}
    <controller type='usb' model='none'/>
    <serial type='pty'>
      <log file={_q(log)} append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video><model type='vga'/></video>
    <memballoon model={_q("none" if config.settings.get("balloon") is False else "virtio")}/>
  </devices>
</domain>"""


def parse_config(machine_id: str, xml: str) -> MachineConfig:
    """Read a domain's XML back; PermanentError `not_a_nuage_machine` without our metadata."""
    root = ET.fromstring(xml)
    meta = root.find(f"metadata/{{{NAMESPACE}}}machine")
    vcpu = root.find("vcpu")
    memory = root.find("memory")
    if meta is None or vcpu is None or memory is None:
        message = f"Domain {domain_name(machine_id)} was not defined by nuage."
        raise PermanentError(message, code="not_a_nuage_machine")

    def field(tag: str) -> str:
        return meta.findtext(f"{{{NAMESPACE}}}{tag}", default="")

    unit = memory.get("unit", "KiB").lower()
    return MachineConfig(
        machine_id=machine_id,
        name=field("name"),
        hostname=field("hostname"),
        image=field("image"),
        disk_id=field("disk-id"),
        vcpu=int(vcpu.get("current") or vcpu.text or 0),
        ram_mb=round(int(memory.text or 0) * _KIB_PER.get(unit, 1) / 1024),
        disk_gb=int(field("disk-gb") or 0),
        volumes=tuple(volume_disks(xml).items()),
        addresses=tuple(_address(e) for e in meta.iterfind(f"{{{NAMESPACE}}}address")),
        settings=json.loads(field("config") or "{}"),
        firewall=is_bound(xml, machine_id),
        software=tuple(json.loads(field("software") or "[]")),
        removed_software=tuple(json.loads(field("software-removed") or "[]")),
        private_network=_private_network(meta.find(f"{{{NAMESPACE}}}private-network")),
    )


def _private_network(element: ET.Element | None) -> PrivateNetwork | None:
    if element is None:
        return None
    return PrivateNetwork(
        network_id=element.get("network-id", ""),
        address=element.get("address", ""),
        prefix_length=int(element.get("prefix-length", "0")),
    )


def _private_network_xml(p: PrivateNetwork | None) -> str:
    if p is None:
        return ""
    return (
        f"<nuage:private-network network-id={_q(p.network_id)} address={_q(p.address)} "
        f"prefix-length='{p.prefix_length}'/>"
    )


def _address(element: ET.Element) -> GuestAddress:
    return GuestAddress(
        address=element.get("address", ""),
        prefix_length=int(element.get("prefix-length", "0")),
        gateway=element.get("gateway"),
        ptr=element.get("ptr", ""),
        primary=element.get("primary") == "yes",
    )


def _address_xml(a: GuestAddress) -> str:
    gateway = "" if a.gateway is None else f" gateway={_q(a.gateway)}"
    return (
        f"<nuage:address address={_q(a.address)} prefix-length='{a.prefix_length}'{gateway} "
        f"ptr={_q(a.ptr)} primary='{'yes' if a.primary else 'no'}'/>"
    )


def volume_disk_xml(device: str, path: Path) -> str:
    """An attached volume: a qcow2 file as virtio disk `device`."""
    return (
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file={_q(path)}/><target dev={_q(device)} bus='virtio'/></disk>"
    )


def volume_disks(xml: str) -> dict[str, Path]:
    """The volumes a domain's XML attaches, by device: its file disks other than vda and vdb."""
    found = {}
    for disk in ET.fromstring(xml).iterfind("./devices/disk[@device='disk']"):
        target, source = disk.find("target"), disk.find("source")
        device = None if target is None else target.get("dev")
        path = None if source is None else source.get("file")
        if device and path and device not in ("vda", "vdb"):
            found[device] = Path(path)
    return found


def _metadata(config: MachineConfig) -> str:
    fields = {
        "name": config.name,
        "hostname": config.hostname,
        "image": config.image,
        "disk-id": config.disk_id,
        "disk-gb": str(config.disk_gb),
        "config": json.dumps(dict(config.settings), sort_keys=True),
        "software": json.dumps(list(config.software)),
        "software-removed": json.dumps(list(config.removed_software)),
    }
    body = "".join(f"<nuage:{tag}>{_e(value)}</nuage:{tag}>" for tag, value in fields.items())
    body += "".join(_address_xml(a) for a in config.addresses)
    body += _private_network_xml(config.private_network)
    return f"<nuage:machine xmlns:nuage={_q(NAMESPACE)}>{body}</nuage:machine>"


def _interfaces(config: MachineConfig, hw: Hardware) -> str:
    """eth0 on the host's guest network (when it has one), eth1 on the VPC's network; both
    filtered by the machine's nwfilter while its firewall is on."""
    bound = filter_name(config.machine_id) if config.firewall else None
    eth0 = ""
    if hw.guest_network is not None:
        eth0 = interface_xml(config.machine_id, 0, hw.guest_network, filter_name=bound)
    if config.private_network is None:
        return eth0
    name, _bridge = vpc_network(config.private_network.network_id)
    return eth0 + interface_xml(config.machine_id, 1, name, filter_name=bound)


def _boot(hw: Hardware, settings: Mapping[str, Any]) -> str:
    """Direct kernel boot when the host sets a kernel (`boot_order` is kept but has no
    effect then), else the boot devices in order."""
    if hw.kernel is None:
        return "".join(f"<boot dev={_q(dev)}/>" for dev in settings.get("boot_order", ["hd"]))
    initrd = "" if hw.initrd is None else f"<initrd>{_e(hw.initrd.resolve())}</initrd>"
    # no_timer_check: the kernel's check that the IO-APIC timer ticks fails on an emulated CPU
    # whose host is busy, and panics ("IO-APIC + timer doesn't work!"; seen in the suite).
    cmdline = "<cmdline>console=ttyS0 quiet no_timer_check</cmdline>"
    return f"<kernel>{_e(hw.kernel.resolve())}</kernel>{initrd}{cmdline}"


def _cpu(settings: Mapping[str, Any]) -> str:
    """The CPU the guest sees: the hypervisor's default unless a model or nesting is set."""
    model, nested = settings.get("cpu_model"), settings.get("nested_virtualization")
    if model is None and nested is None:
        return ""
    feature = ""
    if nested is not None:
        feature = f"<feature policy={_q('require' if nested else 'disable')} name='vmx'/>"
    name = _e(model or "qemu64")
    model_xml = f"<model fallback='allow'>{name}</model>"
    return f"<cpu mode='custom' match='exact' check='none'>{model_xml}{feature}</cpu>"


def _e(value: object) -> str:
    return escape(str(value))


def _q(value: object) -> str:
    return quoteattr(str(value))


def vnc_port(xml: str) -> int | None:
    """The VNC port libvirt gave a running domain (its live XML), None if it has none."""
    graphics = ET.fromstring(xml).find("./devices/graphics[@type='vnc']")
    port = int(graphics.get("port", "-1")) if graphics is not None else -1
    return port if port > 0 else None
