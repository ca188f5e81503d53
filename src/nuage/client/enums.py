"""The enumerations of the API's objects (statuses, types, versions), as the served OpenAPI
document lists them (tests/contract/test_client_models.py compares their values)."""

from enum import IntEnum, StrEnum


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


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


class InstanceStatus(StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"
    DELETING = "deleting"
    DELETED = "deleted"


class PowerState(StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class BillingCycle(StrEnum):
    FREE = "free"
    HOURLY = "hourly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class ResourceStatus(StrEnum):
    """A snapshot's or a backup's status."""

    CREATING = "creating"
    AVAILABLE = "available"
    RESTORING = "restoring"
    DELETING = "deleting"
    ERROR = "error"


class ImageStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"


class VolumeStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    ATTACHING = "attaching"
    IN_USE = "in-use"
    DETACHING = "detaching"
    RESIZING = "resizing"
    DELETING = "deleting"
    ERROR = "error"


class ConsoleSessionStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"


class IpStatus(StrEnum):
    ASSIGNING = "assigning"
    ASSIGNED = "assigned"


class FirewallDirection(StrEnum):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class FirewallAction(StrEnum):
    ACCEPT = "ACCEPT"
    DROP = "DROP"


class FirewallProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    ICMP = "ICMP"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class Scope(StrEnum):
    COMPUTE_READ = "compute:read"
    COMPUTE_WRITE = "compute:write"
    ADMIN = "admin"  # operators only


class IpVersion(IntEnum):
    V4 = 4
    V6 = 6


class EventType(StrEnum):
    """What a webhook may subscribe to (the event stream's types)."""

    TASK_CREATED = "task.created"
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_STEP = "task.step"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_CANCELLED = "task.cancelled"
    INSTANCE_STATUS_CHANGED = "instance.status_changed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
