"""How a libvirt driver is set up: its settings, and the settings of one registered host."""

from dataclasses import dataclass
from pathlib import Path

from nuage.config import Settings
from nuage.domain.host_configs import LibvirtConfig

from .base import HostSetup
from .libvirt_network import GUEST_NETWORK


@dataclass(frozen=True)
class LibvirtSettings:
    uri: str  # e.g. qemu:///system
    state_dir: Path  # <state_dir>/<machine_id>/{disk.qcow2,seed.iso,serial.log}
    images_dir: Path  # <image>.qcow2, else base.qcow2
    kernel: Path | None = None  # direct kernel boot (`libvirt_domain._boot`) when set
    initrd: Path | None = None
    domain_type: str = "qemu"  # TCG; "kvm" where KVM works
    machine: str = "pc"
    boot_marker: str | None = "NUAGE-BOOTED"  # None: do not wait for guests to boot
    boot_timeout: float = 90.0
    shutdown_timeout: float = 60.0
    max_vcpus: int = 8  # the domains' <vcpu> maximum
    backup_dir: Path | None = None  # the backup store; None: <state_dir>/.backups
    # The isolated network every guest's eth0 is on (`libvirt_network`), made when missing;
    # None: guests get no interface (libvirt's embedded driver has no network driver).
    guest_network: str | None = GUEST_NETWORK

    @property
    def backup_store(self) -> Path:
        # A dot name cannot be a machine's directory (machine ids never start with a dot).
        return self.backup_dir or self.state_dir / ".backups"

    def __post_init__(self) -> None:
        if min(self.boot_timeout, self.shutdown_timeout) <= 0 or self.max_vcpus < 1:
            raise ValueError(f"timeouts must be > 0 and max_vcpus >= 1: {self}")


def settings_for_host(host: HostSetup, settings: Settings) -> LibvirtSettings:
    """A libvirt host: its URI from the registry, machine files under the data directory per
    host, images, backups and domain type from its configuration or the process settings."""
    config = LibvirtConfig.model_validate(host.config.model_dump())
    images = config.images_dir or settings.libvirt_images
    return LibvirtSettings(
        uri=host.uri,
        state_dir=settings.libvirt_state_dir / host.name,
        images_dir=images,
        kernel=settings.libvirt_kernel,
        initrd=settings.libvirt_initrd,
        domain_type=config.domain_type or settings.libvirt_domain_type,
        boot_marker=settings.libvirt_boot_marker,
        backup_dir=config.backup_dir or settings.libvirt_backups / host.name,
    )
