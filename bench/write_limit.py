"""The practical limit of an accepted action: a bare ASGI callable over nuage's own tables.

`POST /v1/organizations/{org}/projects/{project}/compute/instances/{id}/reboot` with an API key:
ONE statement finds the key (by its lookup prefix, then its SHA-256 compared here), the caller's
membership, the project and the instance; then one transaction inserts the rows nuage writes for
an accepted action (the task, its `queued` step, its outbox event, the audit-log row) and, on
PostgreSQL, NOTIFYs the queue. It answers 202 with the task's JSON and its `Location`. No
framework, no ORM, no per-instance queueing rule, no idempotency: what is left is the floor.

    BENCH_DB=pg BENCH_DSN=postgresql://postgres@127.0.0.1:5432/db \
        uvicorn bench.write_limit:app --loop uvloop --http httptools
    BENCH_DB=sqlite BENCH_DSN=/path/nuage.sqlite3 uvicorn bench.write_limit:app ...
"""

import asyncio
import hashlib
import hmac
import json
import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any

BACKEND = os.environ.get("BENCH_DB", "pg")
DSN = os.environ.get("BENCH_DSN", "")
PREFIX = ("", "v1", "organizations", None, "projects", None, "compute", "instances", None)
ROUTE = "/v1/organizations/{organization_id}/projects/{project_id}/compute/instances/{instance_id}/reboot"  # noqa: E501
KEY_PREFIX = "sk-onetsolutions-"
ERRORS = {s: json.dumps({"detail": d}).encode() for s, d in
          [(401, "Invalid API key."), (404, "Not found.")]}  # fmt: skip
AUTH = """
SELECT k.id AS key_id, k.key_hash, u.id AS user_id, u.email, u.first_name, u.last_name,
       i.id AS instance_id, i.name AS instance_name
FROM api_keys k
JOIN users u ON u.id = k.user_id AND u.is_active
JOIN memberships m ON m.user_id = u.id AND m.organization_id = $1
JOIN projects p ON p.id = $2 AND p.organization_id = m.organization_id
LEFT JOIN instances i ON i.id = $3 AND i.project_id = p.id AND i.status = 'running'
WHERE k.prefix = $4 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $5)
"""
INSERT_TASK = """
INSERT INTO instance_tasks (id, organization_id, project_id, instance_id, task_type, status,
  parameters, progress, retry_count, max_retries, cancel_requested, run_after, attempts,
  created_by_id, created, modified)
VALUES ($1, $2, $3, $4, 'reboot_vps', 'pending', $5, 0, 0, 3, false, $6, 0, $7, $6, $6)
"""
INSERT_STEP = """
INSERT INTO task_events (task_id, attempt, step, message, level, created)
VALUES ($1, 0, 'queued', 'Reboot queued.', 'info', $2)
"""
INSERT_EVENT = """
INSERT INTO events (project_id, instance_id, type, payload, created)
VALUES ($1, $2, 'task.created', $3, $4)
"""
INSERT_AUDIT = """
INSERT INTO audit_log (organization_id, actor_id, credential_id, credential_kind, source_address,
  request_id, method, route, target_ids, status_code, outcome, created)
VALUES ($1, $2, $3, 'api_key', $4, NULL, 'POST', $5, $6, 202, 'succeeded', $7)
"""
db: Any = None
writer: Any = None


def task_body(row: Any, task_id: str, now: str, as_id: Any) -> dict[str, Any]:
    return {
        "id": task_id, "instance_id": as_id(row["instance_id"]),
        "instance": {"id": as_id(row["instance_id"]), "name": row["instance_name"]},
        "task_type": "reboot_vps", "status": "pending", "result": None, "started_at": None,
        "completed_at": None, "retry_count": 0, "created": now, "modified": now,
        "created_by": {"id": as_id(row["user_id"]), "email": row["email"],
                       "first_name": row["first_name"], "last_name": row["last_name"]},
        "parameters": {}, "max_retries": 3, "progress": 0, "error": None,
        "cancel_requested": False,
    }  # fmt: skip


if BACKEND == "pg":
    import asyncpg

    async def connect() -> None:
        global db
        db = await asyncpg.create_pool(DSN, min_size=8, max_size=8)

    async def accept(
        org: uuid.UUID, project: uuid.UUID, instance: uuid.UUID, token: str, source: str
    ) -> tuple[int, bytes, str | None]:
        now = datetime.now(UTC)
        async with db.acquire() as conn:
            row = await conn.fetchrow(AUTH, org, project, instance, token[17:29], now)
            refused = _refusal(row, token)
            if refused:
                return refused, ERRORS[refused], None
            task_id = uuid.uuid4()
            body = task_body(row, str(task_id), now.isoformat().replace("+00:00", "Z"), str)
            shown = json.dumps(body)
            targets = json.dumps({"organization_id": str(org), "project_id": str(project),
                                  "instance_id": str(instance)})  # fmt: skip
            async with conn.transaction():
                await conn.execute(INSERT_TASK, task_id, org, project, instance, "{}", now,
                                   row["user_id"])  # fmt: skip
                await conn.execute(INSERT_STEP, task_id, now)
                await conn.execute(INSERT_EVENT, project, instance, shown, now)
                await conn.execute(INSERT_AUDIT, org, row["user_id"], row["key_id"], source,
                                   ROUTE, targets, now)  # fmt: skip
                await conn.execute("SELECT pg_notify('nuage_events', 'queue')")
        return 202, shown.encode(), str(task_id)

else:
    import aiosqlite

    def _sqlite(sql: str) -> str:
        return re.sub(r"\$(\d)", r"?\1", sql).replace("false", "0")

    async def connect() -> None:
        global db, writer
        writer = asyncio.Lock()  # one connection: one transaction at a time
        db = await aiosqlite.connect(DSN, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")

    def _stamp(when: datetime) -> str:  # SQLAlchemy's SQLite storage of a naive UTC datetime
        return when.replace(tzinfo=None).isoformat(" ")

    async def accept(
        org: uuid.UUID, project: uuid.UUID, instance: uuid.UUID, token: str, source: str
    ) -> tuple[int, bytes, str | None]:
        now = datetime.now(UTC)
        stamp = _stamp(now)
        async with db.execute(_sqlite(AUTH), (org.hex, project.hex, instance.hex, token[17:29],
                                              stamp)) as cursor:  # fmt: skip
            row = await cursor.fetchone()
        refused = _refusal(row, token)
        if refused:
            return refused, ERRORS[refused], None
        task_id = uuid.uuid4()
        hyphened = lambda h: str(uuid.UUID(h))  # noqa: E731
        body = task_body(row, str(task_id), now.isoformat().replace("+00:00", "Z"), hyphened)
        shown = json.dumps(body)
        targets = json.dumps({"organization_id": str(org), "project_id": str(project),
                              "instance_id": str(instance)})  # fmt: skip
        user = row["user_id"]
        async with writer:
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.execute(_sqlite(INSERT_TASK), (task_id.hex, org.hex, project.hex,
                                 instance.hex, "{}", stamp, user))  # fmt: skip
                await db.execute(_sqlite(INSERT_STEP), (task_id.hex, stamp))
                await db.execute(_sqlite(INSERT_EVENT), (project.hex, instance.hex, shown, stamp))
                await db.execute(_sqlite(INSERT_AUDIT), (org.hex, user, row["key_id"], source,
                                 ROUTE, targets, stamp))  # fmt: skip
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
        return 202, shown.encode(), str(task_id)


def _refusal(row: Any, token: str) -> int | None:
    if row is None:
        return 401
    if not hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), row["key_hash"]):
        return 401
    return 404 if row["instance_id"] is None else None


async def respond(send: Any, status: int, body: bytes, location: str | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if location:
        headers.append((b"location", location.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await connect()
            await send({"type": "lifespan.startup.complete"})
        await db.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    parts = scope["path"].split("/")
    if (
        len(parts) != 10
        or parts[9] != "reboot"
        or scope["method"] != "POST"
        or any(p and p != s for p, s in zip(PREFIX, parts, strict=False))
    ):
        await respond(send, 404, ERRORS[404])
        return
    try:
        org, project, instance = uuid.UUID(parts[3]), uuid.UUID(parts[5]), uuid.UUID(parts[8])
    except ValueError:
        await respond(send, 404, ERRORS[404])
        return
    auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"").split()
    if len(auth) != 2 or auth[0].lower() != b"bearer" or not auth[1].startswith(b"sk-"):
        await respond(send, 401, ERRORS[401])
        return
    client = scope.get("client")
    status, body, task_id = await accept(
        org, project, instance, auth[1].decode(), client[0] if client else ""
    )
    location = None
    if task_id is not None:
        location = f"http://{scope['server'][0]}:{scope['server'][1]}" + "/".join(
            [*parts[:7], "tasks", task_id]
        )
    await respond(send, status, body, location)
