"""Values as Proxmox VE wants them, and as nuage reads them back.

- Booleans go out as `0`/`1`: PVE's JSON schema accepts nothing else (requests would send
  Python's `True` as `"True"`, which PVE refuses with a 400).
- `sshkeys` is percent-encoded as a whole (PVE's `urlencoded` format; raw keys are a 400).
- Names: a VM's `name` is the machine's hostname (PVE's `dns-name`); a snapshot's name is
  derived from nuage's id to fit `pve-configid` (a letter first, ≤ 40 characters), and a
  machine's tag (`pve-tag`) from its machine id, so that both are valid whatever the ids.
- Answers come back with numbers as strings in places (config values set by form, the console's
  `port`): `as_int` reads either.

What nuage must remember of a machine and Proxmox has no field for (its machine id, image, disk
id, addresses, VPC) is kept as one JSON line in the VM's `description` (`Meta`).
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from nuage.domain.errors import PermanentError

from .base import GuestAddress, PrivateNetwork

_META_PREFIX = "nuage:"


def form(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters ready to send: booleans as 0/1, None left out."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = int(value) if isinstance(value, bool) else value
    return out


def ssh_keys(keys: tuple[str, ...]) -> str:
    return quote("\n".join(keys), safe="")


def as_int(value: object, default: int = 0) -> int:
    """An integer Proxmox answered as a number or a string of digits."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def machine_tag(machine_id: str) -> str:
    return "nuage-" + hashlib.sha256(machine_id.encode()).hexdigest()[:24]


def snapshot_name(snapshot_id: str) -> str:
    return "n" + hashlib.sha256(snapshot_id.encode()).hexdigest()[:38]


def image_tag(image: str) -> str:
    return "nuage-image-" + hashlib.sha256(image.encode()).hexdigest()[:24]


def property_string(text: str) -> dict[str, str]:
    """`virtio=AA:BB,bridge=vmbr0,tag=42` as a dict; a bare first item is `_` (e.g. the volume
    of `local-lvm:vm-100-disk-0,size=8G`)."""
    out: dict[str, str] = {}
    for item in str(text).split(","):
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif item:
            out["_"] = item.strip()
    return out


def size_gb(size: str | None) -> int:
    """A PVE size (`8G`, `512M`, `1T`, bytes) in whole GiB, rounded up."""
    text = str(size or "0").strip().upper()
    units = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1, "T": 1024}
    if text and text[-1] in units:
        gib = float(text[:-1] or 0) * units[text[-1]]
    else:
        gib = float(text or 0) / 1024**3
    return int(-(-gib // 1))


def ipconfig(address: GuestAddress | None, six: GuestAddress | None) -> str:
    """`ip=192.0.2.10/24,gw=192.0.2.1,ip6=2001:db8::2/64,gw6=…` for one interface."""
    parts = []
    if address is not None:
        parts.append(f"ip={address.cidr}")
        if address.gateway:
            parts.append(f"gw={address.gateway}")
    if six is not None:
        parts.append(f"ip6={six.cidr}")
        if six.gateway:
            parts.append(f"gw6={six.gateway}")
    return ",".join(parts) or "ip=dhcp"


@dataclass
class Meta:
    """What nuage keeps in a VM's description."""

    machine_id: str
    image: str
    disk_id: str
    addresses: list[GuestAddress] = field(default_factory=list)
    vpc: PrivateNetwork | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # apply_config's, as set
    # set_software's packages (sorted), and those the guest agent last installed on the disk:
    # they differ while a change waits for the guest to run (`proxmox_software`).
    software: list[str] = field(default_factory=list)
    software_applied: list[str] = field(default_factory=list)
    # The extra addresses (CIDRs) last put on the guest by its agent (`proxmox_addresses`).
    extra_applied: list[str] = field(default_factory=list)

    def text(self) -> str:
        data = asdict(self)
        return _META_PREFIX + json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, description: object) -> "Meta | None":
        text = str(description or "").strip()
        line = next((ln for ln in text.splitlines() if ln.startswith(_META_PREFIX)), None)
        if line is None:
            return None
        try:
            data = json.loads(line[len(_META_PREFIX) :])
            return cls(
                machine_id=data["machine_id"],
                image=data["image"],
                disk_id=data["disk_id"],
                addresses=[GuestAddress(**a) for a in data.get("addresses", [])],
                vpc=PrivateNetwork(**data["vpc"]) if data.get("vpc") else None,
                settings=dict(data.get("settings") or {}),
                software=[str(p) for p in data.get("software", [])],
                software_applied=[str(p) for p in data.get("software_applied", [])],
                extra_applied=[str(c) for c in data.get("extra_applied", [])],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                f"Unreadable nuage description: {exc}", code="proxmox_error"
            ) from exc


VOLUME_PREFIX = "nuage-vol-"


def volume_file(owner: int, volume_id: str) -> str:
    """The volume's name on its storage (PVE wants `vm-<owner vmid>-` first)."""
    return f"vm-{owner}-{VOLUME_PREFIX}{volume_id}"


def volume_id_of(volid: str) -> str | None:
    """The nuage volume id in a PVE volume id (`local-lvm:vm-999999999-nuage-vol-<id>[.raw]`)."""
    name = volid.partition(":")[2].rpartition("/")[2]
    _, found, rest = name.partition(VOLUME_PREFIX)
    if not found:
        return None
    for suffix in (".raw", ".qcow2"):
        rest = rest.removesuffix(suffix)
    return rest or None
