"""What a hypervisor driver can do, by capability. A task type needs one capability (see the
catalogue); a driver declares the capabilities it has; a task whose host's driver lacks the
capability is refused when it is asked for, not when it runs.

Every driver has the machine lifecycle (create, delete, inspect): it is not a capability.
"""

from enum import StrEnum


class Capability(StrEnum):
    POWER = "power"  # start, stop, shutdown, reboot, reset
    RESIZE = "resize"
    REINSTALL = "reinstall"
    HOSTNAME = "hostname"
    SNAPSHOTS = "snapshots"
    BACKUPS = "backups"
    IMAGES = "images"
    VOLUMES = "volumes"
    ADDRESSES = "addresses"  # assign and remove IPs, reverse DNS
    NETWORKS = "networks"  # VPCs
    FIREWALL = "firewall"
    SOFTWARE = "software"
    CONSOLE = "console"  # VNC console sessions
    CONFIG = "config"  # hypervisor configuration keys (apply_config)
