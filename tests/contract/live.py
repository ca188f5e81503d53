"""A real `nuage serve` on a free 127.0.0.1 port, with a tenant made by `nuage bootstrap`, a
simulated host of its own and one running instance: what tools that only speak HTTP test."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.cli import runtime
from nuage.config import Settings
from nuage.db.models import Organization, Project
from nuage.domain.enums import Role, Scope
from nuage.services import accounts, api_keys, hosts
from nuage.services.accounts import Bootstrap, bootstrap
from tests.support import IMAGES, LOCATION, SIZES, free_port

NUAGE = str(Path(sys.executable).with_name("nuage"))
SECRET = "live-server-secret-key-long-enough-for-hs256"


@dataclass
class LiveServer:
    base: str
    organization_id: str
    project_id: str
    api_key: str
    instance_id: str
    task_id: str
    proc: subprocess.Popen[bytes]
    # Other kinds of callers on the tenant (docs/permissions.md): their Bearer tokens by name.
    callers: dict[str, str] = field(default_factory=dict)
    log: Path | None = None  # the server's stderr

    def log_tail(self, lines: int = 60) -> str:
        if self.log is None or not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    @property
    def compute(self) -> str:
        project = f"organizations/{self.organization_id}/projects/{self.project_id}"
        return f"{self.base}/v1/{project}/compute"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


SIM_HOST = hosts.HostSpec(
    "contract-sim", LOCATION, "sim", "sim:///contract-sim", 10**5, 10**8, 10**8
)


async def _callers(session: AsyncSession, tenant: Bootstrap) -> dict[str, str]:
    """A viewer, a guest of the project, the owner's read-only key and project token, and an
    operator (editor of the organization) whose key holds `admin`."""
    org = await session.get_one(Organization, tenant.organization_id)
    project = await session.get_one(Project, tenant.project_id)
    found: dict[str, str] = {}
    for role in (Role.VIEWER, Role.GUEST, Role.EDITOR):
        user = await accounts.ensure_user(session, f"{role}@example.com", "contract-password")
        await accounts.add_member(session, org, user, role)
        if role is Role.GUEST:
            await accounts.add_project_member(session, project, user)
        staff = role is Role.EDITOR
        user.is_staff = staff
        scopes = [Scope.COMPUTE_READ, Scope.COMPUTE_WRITE] + ([Scope.ADMIN] if staff else [])
        key, _ = await api_keys.create(session, user.id, name=str(role), scopes=scopes)
        found["staff" if staff else str(role)] = key
    read_only = [Scope.COMPUTE_READ]
    found["read-only key"], _ = await api_keys.create(
        session, tenant.user_id, name="read-only", scopes=read_only
    )
    found["project token"], _ = await api_keys.create(
        session,
        tenant.user_id,
        name="project",
        scopes=[Scope.COMPUTE_READ, Scope.COMPUTE_WRITE],
        project_id=tenant.project_id,
    )
    return found


async def _prepare(settings: Settings, host: hosts.HostSpec) -> tuple[Bootstrap, dict[str, str]]:
    """Migrate, then a tenant and a host of its own (simulated unless told), as
    `nuage bootstrap` and `nuage hosts add` make them (in this process: each `nuage` start
    costs seconds)."""
    await runtime.migrate(settings)
    tenant = await runtime.run_in_session(
        settings,
        lambda session: bootstrap(
            session,
            email="contract@example.com",
            password="contract-password",
            organization="Contract",
            project="contract",
            instance_quota=1000,
        ),
    )
    await runtime.run_in_session(settings, lambda session: hosts.add_host(session, host))
    callers = await runtime.run_in_session(settings, lambda session: _callers(session, tenant))
    return tenant, callers


def settings_of(data_dir: Path) -> Settings:
    """The settings of the server `start` runs on `data_dir` (to prepare more in its database)."""
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'nuage.db'}",
        secret_key=SECRET,
    )


def start(
    data_dir: Path,
    *,
    host: hosts.HostSpec = SIM_HOST,
    extra_env: Mapping[str, str] | None = None,
    size: str = "small",
) -> LiveServer:
    """The server, once its running instance (of `size`, on `host`) is up; `extra_env` adds
    settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    env |= {
        "NUAGE_DATA_DIR": str(data_dir),
        "NUAGE_SECRET_KEY": SECRET,
        "NUAGE_SIM_LATENCY_MS": "10",
        # Webhooks the tools create point at 127.0.0.1 (tests send nothing elsewhere).
        "NUAGE_WEBHOOKS_ALLOW_PRIVATE": "true",
        # The tools send requests as fast as they can, and log in often, from one address.
        "NUAGE_RATE_LIMIT_PER_MINUTE": "0",
        "NUAGE_AUTH_ATTEMPTS_PER_ACCOUNT": "1000000",
        "NUAGE_AUTH_ATTEMPTS_PER_ADDRESS": "1000000",
        **(extra_env or {}),
    }
    tenant, callers = asyncio.run(_prepare(settings_of(data_dir), host))
    port = free_port()
    log = data_dir / "server.log"
    proc = subprocess.Popen(
        [NUAGE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
    except AssertionError:
        proc.kill()  # else it outlives the run, half started
        proc.wait()
        raise
    ids = str(tenant.organization_id), str(tenant.project_id)
    server = LiveServer(base, *ids, tenant.api_key, "", "", proc, callers, log)
    server.instance_id, server.task_id = _running_instance(server, size)
    return server


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # 30 s, then 60 s, ran out with the two cores busy
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("nuage serve did not come up")


def _running_instance(server: LiveServer, size: str) -> tuple[str, str]:
    body: dict[str, Any] = {
        "name": "live",
        "size_id": SIZES[size],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
    }
    created = httpx.post(f"{server.compute}/instances", json=body, headers=server.headers)
    assert created.status_code == 201, created.text
    task_id = created.headers["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 180  # a real guest boots for a minute on a loaded machine
    while True:
        task = httpx.get(
            f"{server.compute}/tasks/{task_id}",
            params={"wait": 20},
            headers=server.headers,
            timeout=30,
        ).json()
        if task["status"] in {"completed", "failed", "cancelled"} or time.monotonic() > deadline:
            break
    assert task["status"] == "completed", task
    return str(created.json()["id"]), task_id
