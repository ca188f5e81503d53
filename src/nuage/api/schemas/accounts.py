"""Shapes of auth, API keys, organizations and projects."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import UTC_ASSUMED, Body, UtcDateTime
from nuage.db.models import ApiKey, Organization, Project
from nuage.domain.enums import Scope


class LoginIn(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(Body):
    refresh: str = Field(min_length=1, max_length=4096)


class TokenOut(BaseModel):
    access: str
    refresh: str
    access_expires: datetime
    token_type: str = "Bearer"


class ApiKeyCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(
        default_factory=lambda: [Scope.COMPUTE_READ, Scope.COMPUTE_WRITE], min_length=1
    )
    expires_at: UtcDateTime | None = Field(default=None, description=UTC_ASSUMED)
    project_id: UUID | None = Field(
        default=None,
        description="Make a project token: the key works only inside this project, with its "
        "scopes and your role there (docs/permissions.md).",
    )


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created: datetime
    last_used: datetime | None
    expires_at: datetime | None
    project_id: UUID | None = Field(
        default=None, description="A project token's project; null for a key of the account."
    )

    @classmethod
    def of(cls, row: ApiKey) -> "ApiKeyOut":
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=[Scope(s) for s in row.scopes],
            created=row.created,
            last_used=row.last_used,
            expires_at=row.expires_at,
            project_id=row.project_id,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str | None = Field(
        description="The key itself. Shown once, store it now: a replay of this request "
        "(same Idempotency-Key) answers null here."
    )


class OrganizationOut(BaseModel):
    id: UUID
    legacy_id: int
    name: str
    instance_quota: int
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Organization) -> "OrganizationOut":
        return cls.model_validate(row, from_attributes=True)


class ProjectCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)


class ProjectOut(BaseModel):
    id: UUID
    organization_id: UUID
    name: str
    description: str
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Project) -> "ProjectOut":
        return cls.model_validate(row, from_attributes=True)
