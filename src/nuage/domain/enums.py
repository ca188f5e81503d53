"""Closed vocabularies. TaskType and TaskStatus are the seed contract's, to the letter."""

from enum import IntEnum, StrEnum


class TaskType(StrEnum):
    CREATE_VPS = "create_vps"
    DELETE_VPS = "delete_vps"
    START_VPS = "start_vps"
    STOP_VPS = "stop_vps"
    REBOOT_VPS = "reboot_vps"
    SHUTDOWN_VPS = "shutdown_vps"
    RESET_VPS = "reset_vps"
    RESIZE_VPS = "resize_vps"
    CHANGE_HOSTNAME = "change_hostname"
    REINSTALL_OS = "reinstall_os"
    ASSIGN_IP = "assign_ip"
    REMOVE_IP = "remove_ip"
    UPDATE_REVERSE_DNS = "update_reverse_dns"
    UPDATE_VPC = "update_vpc"
    APPLY_FIREWALL = "apply_firewall"
    CREATE_SNAPSHOT = "create_snapshot"
    DELETE_SNAPSHOT = "delete_snapshot"
    RESTORE_SNAPSHOT = "restore_snapshot"
    CREATE_BACKUP = "create_backup"
    DELETE_BACKUP = "delete_backup"
    RESTORE_BACKUP = "restore_backup"
    CREATE_IMAGE_FROM_SNAPSHOT = "create_image_from_snapshot"
    DELETE_IMAGE = "delete_image"
    CREATE_VOLUME = "create_volume"
    ATTACH_VOLUME = "attach_volume"
    DETACH_VOLUME = "detach_volume"
    RESIZE_VOLUME = "resize_volume"
    DELETE_VOLUME = "delete_volume"
    INSTALL_SOFTWARE = "install_software"
    UNINSTALL_SOFTWARE = "uninstall_software"
    GET_VNC_URL = "get_vnc_url"
    SYNC_VPS_STATE = "sync_vps_state"
    APPLY_CONFIG = "apply_config"


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class InstanceStatus(StrEnum):
    """An instance's lifecycle state; `pending` first, as the seed's Instance shows."""

    PENDING = "pending"
    BUILDING = "building"
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"
    DELETING = "deleting"
    DELETED = "deleted"


class SnapshotStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    RESTORING = "restoring"
    DELETING = "deleting"
    ERROR = "error"


class BackupStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    RESTORING = "restoring"
    DELETING = "deleting"
    ERROR = "error"


class ImageStatus(StrEnum):
    """A custom image's state (the public catalogue's images are always `available`)."""

    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"


class VolumeStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"  # detached
    ATTACHING = "attaching"
    IN_USE = "in-use"  # attached
    DETACHING = "detaching"
    RESIZING = "resizing"
    DELETING = "deleting"
    ERROR = "error"


class OnConflict(StrEnum):
    """What a request for a task wants when the instance has tasks in progress."""

    QUEUE = "queue"  # wait behind them (the default)
    REJECT = "reject"  # answer 409 `instance_busy` instead


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """Organization roles. Guests see only the projects they were added to."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"
    GUEST = "guest"


class Scope(StrEnum):
    """What an API key may do (docs/permissions.md). `admin` is for operators (staff users)
    only: the admin API and staff-only task types need it as well as the staff flag."""

    COMPUTE_READ = "compute:read"
    COMPUTE_WRITE = "compute:write"
    ADMIN = "admin"


class BillingCycle(StrEnum):
    FREE = "free"
    HOURLY = "hourly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class HostState(StrEnum):
    """`enabled` takes new instances; `disabled` and `draining` take none (draining: being
    emptied). Instances already on a host keep running their tasks there in every state."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    DRAINING = "draining"


class IpVersion(IntEnum):
    V4 = 4
    V6 = 6
