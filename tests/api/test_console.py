"""Console sessions end to end: `POST …/console` queues `get_vnc_url`, the worker opens a session
to the running sim machine's display, `GET …/console/{session_id}` shows it, and nuage's WebSocket
bridge (served by uvicorn, as in production) lets its token through once, to a real RFB server."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from nuage.config import Settings
from nuage.db.models import ConsoleSession
from nuage.db.session import transaction
from nuage.domain.console import ConsoleOptions
from nuage.domain.enums import Role
from tests.api.test_admin_hosts import make_staff
from tests.api.test_capability_refusal import configure, host_of
from tests.console_support import (
    LiveApi,
    Refusal,
    live_api,
    refusal,
    rfb_desktop_name,
    session_to,
)
from tests.support import Stack, Tenant, TenantFactory, free_port, start_worker

pytestmark = pytest.mark.anyio
TTL = 30.0


@pytest.fixture
async def live(stack: Stack, settings: Settings) -> AsyncIterator[LiveApi]:
    """The API on a real port, and a worker whose sessions point at it."""
    async with live_api(stack.runtime) as api:
        start_worker(stack, settings, console=ConsoleOptions(TTL, api.base))
        yield api
        await stack.stop_workers()


@pytest.fixture
async def tenants(stack: Stack, live: LiveApi) -> AsyncIterator[TenantFactory]:
    """Tenants whose requests go to the live server (whose public URL sessions name)."""
    # The server, the worker and the test share one event loop: on a loaded machine an answer
    # can take longer than httpx's default 5 s.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        yield TenantFactory(replace(stack, client=client))


async def open_console(tenant: Tenant, instance_id: str) -> dict[str, Any]:
    """The completed `get_vnc_url` task, as its creator sees it."""
    task = await tenant.act(instance_id, "console")
    assert task["task_type"] == "get_vnc_url" and task["instance_id"] == instance_id
    done = await tenant.wait(task["id"])
    assert done["status"] == "completed", done
    return done


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_console_session_opens_the_guests_display_once(
    live: LiveApi, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    task = await open_console(tenant, instance["id"])
    session = task["result"]
    assert set(session) == {"id", "url", "expires_at", "token"}
    assert session["url"] == f"ws{live.base.removeprefix('http')}/v1/console/{session['id']}"
    lifetime = when(session["expires_at"]) - when(task["completed_at"])
    assert abs(lifetime.total_seconds() - TTL) < 5

    path = f"/instances/{instance['id']}/console/{session['id']}"
    shown = (await tenant.get(path)).json()
    assert shown["status"] == "active" and "token" not in shown
    assert {k: shown[k] for k in ("id", "url", "task_id", "instance_id")} == {
        "id": session["id"],
        "url": session["url"],
        "task_id": task["id"],
        "instance_id": instance["id"],
    }

    desktop = await rfb_desktop_name(session["url"], session["token"])
    assert desktop == f"QEMU (nuage-{instance['id']})"  # the sim machine is the instance id
    used = (await tenant.get(path)).json()
    assert used["status"] == "used" and used["used_at"] is not None
    again = await refusal(session["url"], session["token"])
    assert again == Refusal(403, {"detail": again.body["detail"], "code": "console_token_refused"})


async def test_the_token_is_for_the_sessions_creator_only(
    live: LiveApi, tenants: TenantFactory
) -> None:
    owner = await tenants()
    colleague = await tenants.member(owner, Role.EDITOR)
    instance = await owner.running_instance()
    task = await open_console(owner, instance["id"])

    seen = (await colleague.get(f"/tasks/{task['id']}")).json()["result"]
    assert seen == {**task["result"], "token": None}
    shown = await colleague.get(f"/instances/{instance['id']}/console/{seen['id']}")
    assert shown.status_code == 200 and "token" not in shown.json()


async def test_a_session_shows_it_expired(
    live: LiveApi, stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    url, token = await session_to(
        live, tenant, ("127.0.0.1", free_port()), expired=True, settled=True
    )
    session_id = url.rsplit("/", 1)[1]
    async with transaction(stack.runtime.sessions) as session:
        instance_id = await session.scalar(
            sa.select(ConsoleSession.instance_id).where(ConsoleSession.id == UUID(session_id))
        )

    shown = (await tenant.get(f"/instances/{instance_id}/console/{session_id}")).json()
    assert shown["status"] == "expired" and shown["used_at"] is None
    assert (await refusal(url, token)).status == 403


async def test_a_session_of_another_instance_is_missing(
    live: LiveApi, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    url, _token = await session_to(live, tenant, ("127.0.0.1", free_port()), settled=True)
    other, _ = await tenant.create_instance()
    session_id = url.rsplit("/", 1)[1]

    wrong = await tenant.get(f"/instances/{other['id']}/console/{session_id}")
    missing = await tenant.get(f"/instances/{other['id']}/console/{UUID(int=1)}")
    assert wrong.status_code == missing.status_code == 404
    assert wrong.content == missing.content


async def test_a_display_that_does_not_answer_is_a_502_and_uses_the_token(
    live: LiveApi, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    url, token = await session_to(
        live, tenant, ("127.0.0.1", free_port()), settled=True
    )  # nothing listens

    gone = await refusal(url, token)
    assert gone.status == 502 and gone.body["code"] == "console_unreachable"
    assert (await refusal(url, token)).body["code"] == "console_token_refused"


@pytest.mark.parametrize("session_id", ["not-a-uuid", str(UUID(int=7))])
async def test_an_unknown_session_is_refused_as_a_wrong_token(
    live: LiveApi, session_id: str
) -> None:
    refused = await refusal(f"{live.console.url(UUID(int=0)).rsplit('/', 1)[0]}/{session_id}", "x")
    assert refused.status == 403 and refused.body["code"] == "console_token_refused"


async def test_text_frames_are_not_rfb_and_close_the_bridge(
    live: LiveApi, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    session = (await open_console(tenant, instance["id"]))["result"]

    async with websockets.connect(f"{session['url']}?token={session['token']}") as ws:
        assert await ws.recv() == b"RFB 003.008\n"
        await ws.send("RFB 003.008\n")  # text, not binary
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_a_stopped_instance_gets_no_console(
    live: LiveApi, stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stopped = await tenant.act(instance["id"], "stop")
    assert (await tenant.wait(stopped["id"]))["status"] == "completed"

    asked = await tenant.act(instance["id"], "console")  # its status is checked when it runs

    failed = await tenant.wait(asked["id"])
    assert failed["status"] == "failed" and failed["result"] == {"error": failed["error"]}
    assert failed["error"]["code"] == "invalid_instance_state"
    async with transaction(stack.runtime.sessions) as session:
        opened = await session.scalar(
            sa.select(sa.func.count())
            .select_from(ConsoleSession)
            .where(ConsoleSession.instance_id == UUID(instance["id"]))
        )
    assert opened == 0


async def test_a_machine_stopped_behind_nuages_back_gets_no_session(
    live: LiveApi, stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.driver.stop(instance["id"])  # the database still says running

    failed = await tenant.wait((await tenant.act(instance["id"], "console"))["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "machine_not_running"


async def test_another_task_of_the_instance_ends_its_unused_sessions(
    live: LiveApi, tenants: TenantFactory
) -> None:
    """A reboot may restart the display elsewhere (and another guest's may take its port); a
    sync only reads the machine."""
    tenant = await tenants()
    instance = await tenant.running_instance()
    session = (await open_console(tenant, instance["id"]))["result"]
    path = f"/instances/{instance['id']}/console/{session['id']}"
    synced = await tenant.act(instance["id"], "sync")
    assert (await tenant.wait(synced["id"]))["status"] == "completed"
    assert (await tenant.get(path)).json()["status"] == "active"

    rebooted = await tenant.act(instance["id"], "reboot")
    assert (await tenant.wait(rebooted["id"]))["status"] == "completed"

    assert (await tenant.get(path)).json()["status"] == "expired"
    assert (await refusal(session["url"], session["token"])).status == 403


async def test_clients_racing_with_one_token_get_one_bridge(
    live: LiveApi, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    session = (await open_console(tenant, instance["id"]))["result"]

    async def attempt() -> str | int:
        try:
            return await rfb_desktop_name(session["url"], session["token"])
        except InvalidStatus as refused:
            return refused.response.status_code

    outcomes = await asyncio.gather(*(attempt() for _ in range(6)))
    assert sorted(outcomes, key=str) == [403] * 5 + [f"QEMU (nuage-{instance['id']})"]


async def test_asking_again_with_the_same_idempotency_key_opens_no_second_session(
    live: LiveApi, stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    key = {"Idempotency-Key": "console-once"}
    path = f"/instances/{instance['id']}/console"

    first = await tenant.post(path, headers=key)
    assert first.status_code == 202, first.text
    assert (await tenant.wait(first.json()["id"]))["status"] == "completed"
    replay = await tenant.post(path, headers=key)

    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["result"] is None  # the answer as it was: never the token
    async with transaction(stack.runtime.sessions) as session:
        opened = await session.scalar(
            sa.select(sa.func.count())
            .select_from(ConsoleSession)
            .where(ConsoleSession.instance_id == UUID(instance["id"]))
        )
    assert opened == 1


async def test_a_host_without_a_console_refuses_it_with_a_400(
    live: LiveApi, stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant)
    instance = await tenant.running_instance()
    without = {"capabilities": ["power", "resize", "reinstall", "hostname"]}
    await configure(tenant, await host_of(stack, instance["id"]), without)

    refused = await tenant.post(f"/instances/{instance['id']}/console")

    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "capability_not_supported"
