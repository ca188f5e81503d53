"""Tables. Rows are not the API: `api/schemas` maps them explicitly, so tables may evolve."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nuage.db.types import BigSerial, JSONType, UTCDateTime, utcnow
from nuage.domain.instances import NOT_LIVE


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _id() -> Mapped[UUID]:
    return mapped_column(sa.Uuid, primary_key=True, default=uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


def _modified() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Mapped[Any]:
    return mapped_column(
        sa.Uuid, sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index
    )


def _partial(name: str, where: str, *columns: str) -> sa.Index:
    condition = sa.text(where)
    return sa.Index(name, *columns, postgresql_where=condition, sqlite_where=condition)


class User(Base):
    __tablename__ = "users"
    id: Mapped[UUID] = _id()
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    first_name: Mapped[str] = mapped_column(sa.String(150), default="")
    last_name: Mapped[str] = mapped_column(sa.String(150), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)  # operators: the admin API
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[UUID] = _id()
    legacy_id: Mapped[int] = mapped_column(sa.Integer, unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    instance_quota: Mapped[int] = mapped_column(sa.Integer, default=10)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("organization_id", "user_id"),)
    id: Mapped[UUID] = _id()
    organization_id: Mapped[UUID] = _fk("organizations.id")
    user_id: Mapped[UUID] = _fk("users.id")
    role: Mapped[str] = mapped_column(sa.String(16))
    created: Mapped[datetime] = _created()


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[UUID] = _id()
    organization_id: Mapped[UUID] = _fk("organizations.id")
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class ProjectMember(Base):
    """A guest's access to one project of an organization."""

    __tablename__ = "project_members"
    __table_args__ = (sa.UniqueConstraint("project_id", "user_id"),)
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    user_id: Mapped[UUID] = _fk("users.id")
    created: Mapped[datetime] = _created()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[UUID] = _id()
    user_id: Mapped[UUID] = _fk("users.id")
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(128))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()
    # A project token: the key works only inside this project (domain/permissions.py).
    project_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("projects.id"), nullable=True, index=True
    )


class RefreshToken(Base):
    """One refresh token, stored as its hash. Each refresh uses a token up and issues the next of
    its family (one login); a used token presented again revokes the whole family."""

    __tablename__ = "refresh_tokens"
    id: Mapped[UUID] = _id()  # the token's `jti`
    user_id: Mapped[UUID] = _fk("users.id")
    family_id: Mapped[UUID] = mapped_column(sa.Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[UUID] = _id()
    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(50), unique=True)
    country_code: Mapped[str] = mapped_column(sa.String(2))
    is_active: Mapped[bool] = mapped_column(default=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Size(Base):
    __tablename__ = "sizes"
    id: Mapped[UUID] = _id()
    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(50), unique=True)
    vcpu: Mapped[int] = mapped_column(sa.Integer)
    ram_mb: Mapped[int] = mapped_column(sa.Integer)
    disk_gb: Mapped[int] = mapped_column(sa.Integer)
    bandwidth_mbps: Mapped[int] = mapped_column(sa.Integer)
    cpu_model: Mapped[str] = mapped_column(sa.String(100), default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    volumes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    pricing: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Image(Base):
    __tablename__ = "images"
    id: Mapped[UUID] = _id()
    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(50), unique=True)
    os_name: Mapped[str] = mapped_column(sa.String(50))
    os_version: Mapped[str] = mapped_column(sa.String(50))
    is_active: Mapped[bool] = mapped_column(default=True)
    # A custom image belongs to one project (null: the public catalogue) and lives on the host
    # whose images directory holds its file; public images are always `available`.
    project_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("projects.id"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="available")
    min_disk_gb: Mapped[int] = mapped_column(sa.Integer, default=0)
    host_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("hosts.id"), nullable=True, index=True
    )
    source_snapshot_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    # The instance a custom image's snapshot was taken from: its tasks' instance (0012). No
    # foreign key: instances already reference images, and instance rows are never removed.
    instance_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True, index=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


# The public images each software of the catalogue is offered on.
software_images = sa.Table(
    "software_images",
    Base.metadata,
    sa.Column(
        "software_id", sa.Uuid, sa.ForeignKey("software.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("image_id", sa.Uuid, sa.ForeignKey("images.id"), primary_key=True, index=True),
)


class Software(Base):
    """An entry of the software catalogue: its `slug` is the package name the guest is given."""

    __tablename__ = "software"
    id: Mapped[UUID] = _id()
    slug: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    images: Mapped[list[Image]] = relationship(secondary=software_images, lazy="selectin")


class Host(Base):
    """A hypervisor that runs instances: which driver reaches it, where, and how big it is."""

    __tablename__ = "hosts"
    id: Mapped[UUID] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    location_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("locations.id"), index=True)
    driver: Mapped[str] = mapped_column(sa.String(20))
    uri: Mapped[str] = mapped_column(sa.String(500))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # per driver
    secret_ref: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)  # not a secret
    vcpu: Mapped[int] = mapped_column(sa.Integer)
    ram_mb: Mapped[int] = mapped_column(sa.Integer)
    disk_gb: Mapped[int] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(16))
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (sa.Index("ix_instances_project_status", "project_id", "status"),)
    id: Mapped[UUID] = _id()
    legacy_id: Mapped[int] = mapped_column(sa.Integer, unique=True)
    organization_id: Mapped[UUID] = _fk("organizations.id")
    project_id: Mapped[UUID] = _fk("projects.id", index=False)
    name: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    size_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("sizes.id"))
    location_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("locations.id"))
    image_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("images.id"))
    host_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("hosts.id"), nullable=True, index=True
    )
    external_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    hostname: Mapped[str] = mapped_column(sa.String(253))
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ipv4: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ipv6: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The software catalogue's slugs the machine was given, sorted, as its driver reports them.
    software: Mapped[list[str]] = mapped_column(JSONType, default=list)
    power_state: Mapped[str] = mapped_column(sa.String(16))
    billing_cycle: Mapped[str] = mapped_column(sa.String(16))
    # The machine's hardware as its hypervisor last reported it (a sync adopts changes made
    # outside nuage); null until reported: then the size says it (`vcpu`, `ram_mb`, `disk_gb`).
    machine_vcpu: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    machine_ram_mb: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    machine_disk_gb: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # The firewall rules its hypervisor has, in evaluation order (domain.firewall: each a
    # FirewallRule's JSON), as the last apply_firewall left them; null or empty: no firewall.
    firewall_rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    created_by_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("users.id"))
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    size: Mapped[Size] = relationship(lazy="joined", innerjoin=True)
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)
    image: Mapped[Image] = relationship(lazy="joined", innerjoin=True)
    host: Mapped[Host | None] = relationship(lazy="joined")
    # The VPC the machine is in (a `joined` membership); None outside any.
    vpc_member: Mapped["VpcMember | None"] = relationship(
        primaryjoin="and_(VpcMember.instance_id == Instance.id, VpcMember.state == 'joined')",
        lazy="selectin",
        viewonly=True,
        uselist=False,
    )

    @hybrid_property
    def is_live(self) -> bool:
        """Not deleted (domain.instances.NOT_LIVE); on the class, the same test in SQL."""
        return self.status != NOT_LIVE.value

    @property
    def vcpu(self) -> int:
        return self.size.vcpu if self.machine_vcpu is None else self.machine_vcpu

    @property
    def ram_mb(self) -> int:
        return self.size.ram_mb if self.machine_ram_mb is None else self.machine_ram_mb

    @property
    def disk_gb(self) -> int:
        return self.size.disk_gb if self.machine_disk_gb is None else self.machine_disk_gb


class Snapshot(Base):
    """A point-in-time copy of an instance's disk, kept in that disk (removed with it)."""

    __tablename__ = "snapshots"
    __table_args__ = (sa.Index("ix_snapshots_instance_created", "instance_id", "created"),)
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    instance_id: Mapped[UUID] = _fk("instances.id", index=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16))
    size_gb: Mapped[int] = mapped_column(sa.Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Backup(Base):
    """A full copy of an instance's disk in its host's backup store; outlives the instance."""

    __tablename__ = "backups"
    __table_args__ = (sa.Index("ix_backups_instance_created", "instance_id", "created"),)
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    instance_id: Mapped[UUID] = _fk("instances.id", index=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16))
    size_gb: Mapped[int] = mapped_column(sa.Integer, default=0)
    host_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("hosts.id"), nullable=True, index=True
    )
    external_id: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class Volume(Base):
    """A block device of its own, attached to at most one instance at a time. Its tasks are
    recorded against `last_instance_id`: the instance it is (being) attached to, or was last."""

    __tablename__ = "volumes"
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    name: Mapped[str] = mapped_column(sa.String(100))
    size_gb: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16))
    location_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("locations.id"))
    host_id: Mapped[UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("hosts.id"), nullable=True, index=True
    )
    instance_id: Mapped[UUID | None] = _fk("instances.id", nullable=True)
    last_instance_id: Mapped[UUID] = _fk("instances.id")
    device: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)


class InstanceTask(Base):
    """A task row is both the record of a change and its place in the queue.

    `seq` orders an instance's tasks (creation order); `run_after` holds retries back; a running
    task belongs to `lease_owner` until `lease_expires_at`.
    """

    __tablename__ = "instance_tasks"
    __table_args__ = (
        # Hot paths stay small at millions of rows: partial indexes hold only live tasks.
        _partial("ix_instance_tasks_pending_seq", "status = 'pending'", "seq"),
        _partial("ix_instance_tasks_pending_due", "status = 'pending'", "run_after"),
        _partial(
            "ix_instance_tasks_active_instance",
            "status IN ('pending', 'running')",
            "instance_id",
            "seq",
        ),
        _partial("ix_instance_tasks_running_lease", "status = 'running'", "lease_expires_at"),
        sa.Index("ix_instance_tasks_instance_seq", "instance_id", "seq"),
        # `seq` last: the list orders by (created, seq), so the index serves ORDER BY … LIMIT.
        sa.Index("ix_instance_tasks_project_created", "project_id", "created", "seq"),
        sa.Index(
            "ix_instance_tasks_project_status_created", "project_id", "status", "created", "seq"
        ),
    )
    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    id: Mapped[UUID] = mapped_column(sa.Uuid, unique=True, default=uuid4)
    organization_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("organizations.id"))
    project_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("projects.id"))
    instance_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("instances.id"))
    task_type: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    retry_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    max_retries: Mapped[int] = mapped_column(sa.BigInteger)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    instance: Mapped[Instance] = relationship(lazy="joined", innerjoin=True)
    created_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class TaskEvent(Base):
    __tablename__ = "task_events"
    id: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    task_id: Mapped[UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("instance_tasks.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(sa.Integer, default=0)
    step: Mapped[str] = mapped_column(sa.String(100))
    message: Mapped[str] = mapped_column(sa.String(2000))
    level: Mapped[str] = mapped_column(sa.String(10), default="info")
    progress: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created: Mapped[datetime] = _created()


class Counter(Base):
    """Named counters (the `legacy_id`s): a row lock hands out each value once, across processes."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


class IdempotencyKey(Base):
    """A POST's stored response, replayed for the same caller, key and body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner_key"),)
    id: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(sa.String(64))
    key: Mapped[str] = mapped_column(sa.String(255))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[Any] = mapped_column(JSONType, nullable=True)
    location: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created: Mapped[datetime] = _created()


class IpPool(Base):
    """A location's addresses of one version (domain/ipam.py): operators add them."""

    __tablename__ = "ip_pools"
    id: Mapped[UUID] = _id()
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    location_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("locations.id"), index=True)
    version: Mapped[int] = mapped_column(sa.SmallInteger)
    cidr: Mapped[str] = mapped_column(sa.String(64))
    gateway: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)
    first: Mapped[str] = mapped_column(sa.String(45))
    last: Mapped[str] = mapped_column(sa.String(45))
    ptr_domain: Mapped[str] = mapped_column(sa.String(253))
    is_active: Mapped[bool] = mapped_column(default=True)  # inactive: hands out nothing new
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class IpAddress(Base):
    """An address handed out from a pool. `address` is unique: the database, not the code, is
    what keeps one address from being handed out twice. A released row stays (quarantine) until
    its address is handed out again, which replaces the row."""

    __tablename__ = "ip_addresses"
    id: Mapped[UUID] = _id()
    address: Mapped[str] = mapped_column(sa.String(45), unique=True)  # canonical text form
    pool_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("ip_pools.id"), index=True)
    instance_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("instances.id"), index=True)
    version: Mapped[int] = mapped_column(sa.SmallInteger)
    prefix_length: Mapped[int] = mapped_column(sa.SmallInteger)
    is_primary: Mapped[bool] = mapped_column(default=False)
    ptr: Mapped[str] = mapped_column(sa.String(253))
    state: Mapped[str] = mapped_column(sa.String(16))
    task_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)  # the assign_ip task
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class ConsoleSession(Base):
    """A one-time ticket to a guest's VNC display (domain/console.py), made by the `get_vnc_url`
    task `task_id`; `host`:`port` is where the display listened when it was made."""

    __tablename__ = "console_sessions"
    id: Mapped[UUID] = _id()
    instance_id: Mapped[UUID] = _fk("instances.id")
    task_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("instance_tasks.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()


class Event(Base):
    """The outbox: what changed in a project (a task, an instance's status), in order, with the
    object as the API showed it then. Written in the transaction of the change it reports
    (`db/outbox.py`); `id` is the stream's event id, increasing in commit order."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_project_id_id", "project_id", "id"),
        {"sqlite_autoincrement": True},  # an id is never handed out twice, even after pruning
    )
    id: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    # No foreign keys: once a writer holds the outbox lock, its insert waits on no row lock of
    # another transaction (which may itself be waiting for that lock); retention removes rows.
    project_id: Mapped[UUID] = mapped_column(sa.Uuid)
    instance_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Webhook(Base):
    """A project's endpoint for events (domain/webhooks.py). `secret` signs its deliveries: the
    sender needs it in the clear, so it is kept here, shown once (at creation and rotation)."""

    __tablename__ = "webhooks"
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    url: Mapped[str] = mapped_column(sa.String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    secret: Mapped[str] = mapped_column(sa.String(100))
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


_FIRST_DELIVERY = "event_id IS NOT NULL AND redelivery_of IS NULL"


class WebhookDelivery(Base):
    """One event (or ping) for one webhook: its place in the delivery queue and its log.

    A pending delivery is due at `next_attempt_at`; a sender owns it until `lease_expires_at`.
    `attempts` is the log, one entry per attempt (status code, duration, error). A redelivery is a
    new row (`redelivery_of`) with the same body.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        _partial("ix_webhook_deliveries_pending_due", "status = 'pending'", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created"),
        # An event is dispatched to a webhook once, whichever dispatcher gets there first.
        sa.Index(
            "uq_webhook_deliveries_event",
            "webhook_id",
            "event_id",
            unique=True,
            postgresql_where=sa.text(_FIRST_DELIVERY),
            sqlite_where=sa.text(_FIRST_DELIVERY),
        ),
    )
    id: Mapped[UUID] = _id()
    webhook_id: Mapped[UUID] = _fk("webhooks.id", index=False)
    event_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    event_type: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempt: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.String(1000), nullable=True)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    redelivery_of: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()


class WebhookCursor(Base):
    """The last event id the webhook dispatcher turned into deliveries (one row)."""

    __tablename__ = "webhook_cursor"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(sa.BigInteger)


class Vpc(Base):
    """A project's private IPv4 network in one location (domain/vpcs.py). Written at once; the
    hypervisor's network exists while it has members (`update_vpc`)."""

    __tablename__ = "vpcs"
    id: Mapped[UUID] = _id()
    project_id: Mapped[UUID] = _fk("projects.id")
    name: Mapped[str] = mapped_column(sa.String(100))
    cidr_block: Mapped[str] = mapped_column(sa.String(18))
    location_id: Mapped[UUID] = mapped_column(sa.Uuid, sa.ForeignKey("locations.id"))
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)


class VpcMember(Base):
    """An instance's place in a VPC: its private address, `joining` while the `update_vpc` task
    `task_id` that reserved it runs, then `joined`. (vpc_id, address) is unique: the database
    keeps one private address from being handed out twice."""

    __tablename__ = "vpc_members"
    __table_args__ = (sa.UniqueConstraint("vpc_id", "address"),)
    id: Mapped[UUID] = _id()
    vpc_id: Mapped[UUID] = _fk("vpcs.id", index=False)
    instance_id: Mapped[UUID] = _fk("instances.id")
    address: Mapped[str] = mapped_column(sa.String(15))
    state: Mapped[str] = mapped_column(sa.String(16))
    task_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()

    vpc: Mapped[Vpc] = relationship(lazy="joined", innerjoin=True)


class RateLimitBucket(Base):
    """A credential's token bucket shared by the API processes on PostgreSQL
    (`db/rate_limits.py`); a row idle longer than its longest band is full, and is pruned.
    UNLOGGED on PostgreSQL: losing it in a crash only refills the buckets."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    tokens0: Mapped[float] = mapped_column(sa.Float)
    tokens1: Mapped[float] = mapped_column(sa.Float)
    granted: Mapped[int] = mapped_column(sa.Integer)  # the last grant, for RETURNING
    at: Mapped[float] = mapped_column(sa.Float)  # epoch seconds, the database's clock


class AuditRecord(Base):
    """One mutating request: who (user, credential), from where, what (method, route template,
    the ids in its path), and how it ended. Never a body, a header or a secret. No foreign keys:
    the record outlives what it names; retention removes old rows (services/audit.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_organization_id_id", "organization_id", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    organization_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    actor_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)
    credential_id: Mapped[UUID | None] = mapped_column(sa.Uuid, nullable=True)  # the API key
    credential_kind: Mapped[str] = mapped_column(sa.String(20))
    source_address: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    method: Mapped[str] = mapped_column(sa.String(10))
    route: Mapped[str] = mapped_column(sa.String(300))
    target_ids: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status_code: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str] = mapped_column(sa.String(20))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
