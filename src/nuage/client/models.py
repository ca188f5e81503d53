"""Typed models of the objects the API answers, one per schema of the served OpenAPI document
(`SCHEMAS` names it; tests/client/test_models_match_document.py checks each model's fields,
their types and whether they are required against the document, so the two cannot drift).

Models ignore fields they do not know: a newer server that adds a field breaks no client."""

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from nuage.client.enums import (
    BillingCycle,
    ConsoleSessionStatus,
    DeliveryStatus,
    EventType,
    FirewallAction,
    FirewallDirection,
    FirewallProtocol,
    ImageStatus,
    InstanceStatus,
    IpStatus,
    IpVersion,
    PowerState,
    ResourceStatus,
    Scope,
    TaskStatus,
    TaskType,
    Visibility,
    VolumeStatus,
)

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(Model, Generic[T]):
    """One page of a list: DRF's envelope. Past the server's `list_count_limit` (10,000 by
    default), `count` is that limit and `count_capped` is true: the list has more."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]
    count_capped: bool = False


class Location(Model):
    id: UUID
    name: str
    slug: str
    country_code: str
    created: datetime
    modified: datetime
    is_active: bool


class Vpc(Model):
    id: UUID
    name: str
    cidr_block: str
    location: Location
    created: datetime
    modified: datetime


class InstanceVpc(Vpc):
    """An instance's VPC, with the instance's private address there."""

    private_address: str


class VolumeOption(Model):
    id: UUID
    volume_type: str
    disk_gb: int
    is_default: bool
    is_active: bool


class PricingOption(Model):
    id: UUID
    billing_cycle: str
    price: str
    discount_percent: str
    is_default: bool
    is_active: bool


class Size(Model):
    id: UUID
    name: str
    slug: str
    vcpu: int
    ram_mb: int
    bandwidth_mbps: int
    available_volumes: list[VolumeOption]
    pricing_options: list[PricingOption]
    created: datetime
    modified: datetime
    cpu_model: str
    is_active: bool
    description: str
    disk_gb: int


class Image(Model):
    id: UUID
    name: str
    slug: str
    os_name: str
    os_version: str
    is_active: bool
    created: datetime
    modified: datetime


class ProjectImage(Image):
    """An image as a project sees it: the catalogue's, or one of its own custom images."""

    visibility: Visibility
    project_id: UUID | None
    status: ImageStatus
    min_disk_gb: int
    source_snapshot_id: UUID | None
    instance_id: UUID | None


class Hardware(Model):
    vcpu: int
    ram_mb: int
    disk_gb: int


class Instance(Model):
    id: UUID
    legacy_id: int
    organization_id: UUID
    project_id: UUID
    name: str
    status: InstanceStatus
    size: Size
    location: Location
    vpc: InstanceVpc | None
    image: Image
    hostname: str
    description: str
    tags: list[str]
    ipv4: list[str]
    ipv6: list[str]
    power_state: PowerState
    billing_cycle: BillingCycle
    created: datetime
    modified: datetime
    hardware: Hardware
    software: list[str]  # the software catalogue's slugs the machine was given


class InstanceCreated(Instance):
    """The answer to a create: the instance and the id of its `create_vps` task."""

    task_id: UUID | None = None


class InstanceRef(Model):
    id: UUID
    name: str


class UserRef(Model):
    id: UUID
    email: str
    first_name: str
    last_name: str


class TaskError(Model):
    code: str
    message: str
    retryable: bool


class TaskData(Model):
    """The task object (the seed's Instance Task and nuage's additions). Clients return it as
    `Task` or `AsyncTask`, which add `wait()`."""

    id: UUID
    instance_id: UUID
    instance: InstanceRef
    task_type: TaskType
    status: TaskStatus
    result: Any
    started_at: datetime | None
    completed_at: datetime | None
    retry_count: int
    created: datetime
    modified: datetime
    created_by: UserRef
    parameters: Any = None
    max_retries: int = 0
    progress: int = 0
    error: TaskError | None = None
    cancel_requested: bool = False


class TaskEvent(Model):
    """One entry of a task's step log."""

    id: int
    created: datetime
    attempt: int
    step: str
    message: str
    level: str
    progress: int | None


class Snapshot(Model):
    id: UUID
    instance_id: UUID
    name: str
    status: ResourceStatus
    size_gb: int
    created: datetime
    modified: datetime


class Backup(Snapshot):
    pass


class Volume(Model):
    id: UUID
    name: str
    size_gb: int
    status: VolumeStatus
    instance_id: UUID | None
    location: Location
    device: str | None
    created: datetime
    modified: datetime


class IpAddress(Model):
    id: UUID
    address: str
    version: IpVersion
    prefix_length: int
    is_primary: bool
    ptr: str
    status: IpStatus
    created: datetime


class ConsoleSession(Model):
    id: UUID
    instance_id: UUID
    task_id: UUID
    url: str
    status: ConsoleSessionStatus
    expires_at: datetime
    used_at: datetime | None
    created: datetime


class PortRange(Model):
    start: int
    end: int | None = None  # the server fills it in (`start` when left out)


class FirewallRule(Model):
    priority: int
    direction: FirewallDirection
    action: FirewallAction
    protocol: FirewallProtocol
    source_address: str | None = None
    source_ports: PortRange | None = None
    destination_address: str | None = None
    destination_ports: PortRange | None = None


class FirewallChange(Model):
    task_id: UUID
    status: TaskStatus
    rules: list[FirewallRule]


class Firewall(Model):
    instance_id: UUID
    enabled: bool
    default_action: FirewallAction
    rules: list[FirewallRule]
    pending: FirewallChange | None


class Software(Model):
    """An entry of the software catalogue (`GET P/software`)."""

    id: UUID
    slug: str
    name: str
    description: str
    image_ids: list[UUID]
    is_active: bool
    created: datetime
    modified: datetime


class Organization(Model):
    id: UUID
    legacy_id: int
    name: str
    instance_quota: int
    created: datetime
    modified: datetime


class Project(Model):
    id: UUID
    organization_id: UUID
    name: str
    description: str
    created: datetime
    modified: datetime


class ApiKey(Model):
    id: UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created: datetime
    last_used: datetime | None
    expires_at: datetime | None
    project_id: UUID | None = None  # a project token's project


class ApiKeyCreated(ApiKey):
    key: str | None


class AuditRecord(Model):
    """One mutating request in an organization's audit log."""

    id: int
    created: datetime
    actor_id: UUID | None
    credential_id: UUID | None
    credential_kind: str
    source_address: str | None
    request_id: str | None
    method: str
    route: str
    target_ids: dict[str, Any]
    status_code: int
    outcome: str


class Webhook(Model):
    id: UUID
    url: str
    event_types: list[EventType]
    is_active: bool
    created: datetime
    modified: datetime


class WebhookWithSecret(Webhook):
    secret: str | None  # shown when created or rotated; null in an idempotent replay


class DeliveryAttempt(Model):
    attempt: int
    status_code: int | None
    duration_ms: float
    error: str | None
    at: datetime


class WebhookDelivery(Model):
    id: UUID
    webhook_id: UUID
    event_id: int | None
    event_type: str  # an EventType, or "ping"
    status: DeliveryStatus
    attempt: int
    status_code: int | None
    duration_ms: float | None
    error: str | None
    next_attempt_at: datetime | None
    redelivery_of: UUID | None
    attempts: list[DeliveryAttempt]
    body: dict[str, Any]
    created: datetime
    completed_at: datetime | None


class Token(Model):
    access: str
    refresh: str
    access_expires: datetime
    token_type: str = "Bearer"


# Each model and the schema of the served document it mirrors.
SCHEMAS: dict[type[Model], str] = {
    Location: "LocationOut",
    Vpc: "VpcOut",
    InstanceVpc: "InstanceVpcOut",
    VolumeOption: "VolumeOptionOut",
    PricingOption: "PricingOptionOut",
    Size: "SizeOut",
    Image: "ImageOut",
    ProjectImage: "ProjectImageOut",
    Hardware: "HardwareOut",
    Instance: "InstanceOut",
    InstanceCreated: "InstanceCreated",
    InstanceRef: "InstanceRef",
    UserRef: "UserRef",
    TaskError: "TaskErrorOut",
    TaskData: "TaskOut",
    TaskEvent: "TaskEventOut",
    Snapshot: "SnapshotOut",
    Backup: "BackupOut",
    Volume: "VolumeOut",
    IpAddress: "IpOut",
    ConsoleSession: "ConsoleSessionOut",
    PortRange: "PortRange",
    FirewallRule: "FirewallRule",
    FirewallChange: "FirewallChange",
    Firewall: "FirewallOut",
    Software: "SoftwareOut",
    Organization: "OrganizationOut",
    Project: "ProjectOut",
    ApiKey: "ApiKeyOut",
    ApiKeyCreated: "ApiKeyCreated",
    AuditRecord: "AuditRecordOut",
    Token: "TokenOut",
    Webhook: "WebhookOut",
    WebhookWithSecret: "WebhookWithSecret",
    DeliveryAttempt: "AttemptOut",
    WebhookDelivery: "DeliveryOut",
}
