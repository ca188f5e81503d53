"""What the bad-input suites share: the error shapes, row counts, and the world (a tenant with
an instance, and another tenant) that sends each endpoint a body."""

import json
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import ApiKey, IdempotencyKey, Instance, InstanceTask, Project, TaskEvent
from tests.support import IMAGES, SIZES, Stack, Tenant, create_body

LIMIT = 1_048_576  # Settings.max_body_bytes: 1 MiB
JSON_CT = {"Content-Type": "application/json"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
TABLES = (Instance, InstanceTask, TaskEvent, ApiKey, Project, IdempotencyKey)


# --- shapes ---------------------------------------------------------------------------------------


def is_error(body: Any) -> bool:
    """`{"detail": "...", "code": "..."}`, nothing else."""
    return (
        isinstance(body, dict)
        and set(body) == {"detail", "code"}
        and isinstance(body["detail"], str)
        and isinstance(body["code"], str)
        and bool(body["detail"] and body["code"])
    )


def is_field_errors(body: Any) -> bool:
    """`{"field": ["message", …]}`, possibly nested (`{"parameters": {"hostname": [...]}}`)."""
    if not isinstance(body, dict) or not body or is_error(body):
        return False
    for value in body.values():
        if isinstance(value, list):
            if not value or not all(isinstance(m, str) and m for m in value):
                return False
        elif not is_field_errors(value):
            return False
    return True


def assert_field_error(response: httpx.Response, field: str, context: Any = None) -> None:
    assert response.status_code == 400, (context, response.text)
    body = response.json()
    assert is_field_errors(body), (context, body)
    assert field in body, (context, body)


def assert_error(response: httpx.Response, status: int, code: str, context: Any = None) -> None:
    assert response.status_code == status, (context, response.text)
    body = response.json()
    assert is_error(body), (context, body)
    assert body["code"] == code, (context, body)


# --- the world: a tenant with an instance, and another tenant -------------------------------------


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.__tablename__: int(
                await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            )
            for table in TABLES
        }


@dataclass
class World:
    stack: Stack
    tenant: Tenant
    other: Tenant
    instance_id: str
    other_instance_id: str
    other_task_id: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.stack.client

    def endpoint(self, name: str) -> tuple[str, str]:
        instance = f"{self.tenant.base}/instances/{self.instance_id}"
        return {
            "create": ("POST", f"{self.tenant.base}/instances"),
            "put": ("PUT", instance),
            "patch": ("PATCH", instance),
            "resize": ("POST", f"{instance}/resize"),
            "reinstall": ("POST", f"{instance}/reinstall"),
            "hostname": ("POST", f"{instance}/hostname"),
            "config": ("POST", f"{instance}/config"),  # the world's tenant is staff
            "task": ("POST", f"{self.tenant.base}/tasks"),
            "api_key": ("POST", "/v1/api-keys"),
            "project": ("POST", f"/v1/organizations/{self.tenant.organization_id}/projects"),
            "login": ("POST", "/v1/auth/login"),
        }[name]

    def valid(self, name: str) -> dict[str, Any]:
        return {
            "create": create_body(),
            "put": {"name": "renamed", "description": "d", "tags": ["a"]},
            "patch": {"tags": ["b"]},
            "resize": {"size_id": SIZES["large"]},
            "reinstall": {"image_id": IMAGES["ubuntu"]},
            "hostname": {"hostname": "web-1.example.com"},
            "config": {"config": {"cpu_model": "qemu64", "boot_order": ["hd", "network"]}},
            "task": {"instance_id": self.instance_id, "task_type": "sync_vps_state"},
            "api_key": {"name": "ci"},
            "project": {"name": "another"},
            "login": {"email": self.tenant.email, "password": self.tenant.password},
        }[name]

    async def send(
        self,
        name: str,
        *,
        json_body: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        method, path = self.endpoint(name)
        if json_body is not None:
            content = json.dumps(json_body).encode()
        return await self.client.request(
            method,
            path,
            content=content,
            headers={**self.tenant.headers, **JSON_CT, **(headers or {})},
        )

    async def snapshot(self) -> dict[str, Any]:
        """Everything a rejected write could have touched."""
        instances = (await self.tenant.get("/instances")).json()
        tasks = (await self.tenant.get("/tasks")).json()
        mine = (await self.tenant.get(f"/instances/{self.instance_id}")).json()
        theirs = (await self.other.get(f"/instances/{self.other_instance_id}")).json()
        return {
            "rows": await row_counts(self.stack.runtime.sessions),
            "instances": instances["count"],
            "tasks": tasks["count"],
            "mine": {k: mine[k] for k in ("name", "description", "tags", "size", "hostname")},
            "theirs": {k: theirs[k] for k in ("name", "description", "tags", "size", "hostname")},
        }


ENDPOINTS = [
    "create",
    "put",
    "patch",
    "resize",
    "reinstall",
    "hostname",
    "config",
    "task",
    "api_key",
    "project",
    "login",
]
