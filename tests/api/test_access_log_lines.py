"""The access log as `nuage serve` sets up logging (`logs.configure`): one JSON line a request on
the root's handler. The line is the same whether it is written directly (nothing else would see
the record) or through the logging module (another handler listens), and each listener still
gets its record."""

import asyncio
import contextlib
import io
import json
import logging
import select
from collections.abc import Iterator
from typing import Any

import pytest

from nuage import logs
from nuage.domain import observers
from tests.support import Stack, Tenant, TenantFactory

pytestmark = pytest.mark.anyio

ACCESS = logging.getLogger("nuage.access")
FIELDS = [
    "ts", "level", "logger", "message", "request_id", "method", "route", "status",
    "duration_ms", "client", "credential_id",
]  # fmt: skip


@contextlib.contextmanager
def configured(log_format: str) -> Iterator[io.StringIO]:
    """What `logs.configure`'s handler writes, alone on the root (pytest's own capture handlers
    are put back after)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure(log_format)
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        observers.unsubscribe(logs.log_task_transition)


@contextlib.contextmanager
def access_records() -> Iterator[list[logging.LogRecord]]:
    """The access log's records the logging module makes meanwhile."""
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counted(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if record.name == ACCESS.name:
            made.append(record)
        return record

    logging.setLogRecordFactory(counted)
    try:
        yield made
    finally:
        logging.setLogRecordFactory(factory)


def _access_lines(out: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "nuage.access"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _task_of(tenant: Tenant) -> str:
    _, task_id = await tenant.create_instance()
    await tenant.get(f"/tasks/{task_id}")  # records the key's `last_used`: the next is fast
    return task_id


async def _get(tenant: Tenant, task_id: str, request_id: str, **params: int) -> None:
    headers = {**tenant.headers, "X-Request-Id": request_id}
    url = f"{tenant.base}/tasks/{task_id}"
    answer = await tenant.client.get(url, headers=headers, params=params)
    assert answer.status_code == 200


async def test_a_line_written_directly_is_the_line_logging_writes(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    task_id = await _task_of(tenant)
    listener = _Records()
    with configured("json") as written, access_records() as made:
        await _get(tenant, task_id, "direct")
        assert made == []  # nothing but the JSON handler listens: no record
        ACCESS.addHandler(listener)
        try:
            await _get(tenant, task_id, "logged")
        finally:
            ACCESS.removeHandler(listener)
        assert len(made) == 1
        await _get(tenant, task_id, "routed", wait=0)  # the route itself, not the fast read
        await asyncio.sleep(0)  # the end of the loop's pass, where the direct line is written

    # The direct line is written at the end of the loop's pass: maybe after the others.
    lines = {line["request_id"]: line for line in _access_lines(written)}
    direct, logged, routed = lines.pop("direct"), lines.pop("logged"), lines.pop("routed")
    assert lines == {}
    assert list(direct) == list(logged) == list(routed) == FIELDS
    varying = {"ts", "request_id", "duration_ms"}
    assert (
        {k: v for k, v in direct.items() if k not in varying}
        == {k: v for k, v in logged.items() if k not in varying}
        == {k: v for k, v in routed.items() if k not in varying}
    )
    assert (direct["status"], direct["level"], direct["message"]) == (200, "info", "request")
    assert direct["route"] == (
        "/v1/organizations/{organization_id}/projects/{project_id}/compute/tasks/{id}"
    )
    assert str(direct["credential_id"]).startswith("key:")
    assert [r.request_id for r in listener.records] == ["logged"]


async def test_a_disabled_access_log_writes_nothing_and_a_text_log_writes_text(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    task_id = await _task_of(tenant)
    with configured("json") as written:
        ACCESS.disabled = True
        try:
            await _get(tenant, task_id, "silent")
        finally:
            ACCESS.disabled = False
        await _get(tenant, task_id, "heard")
        await asyncio.sleep(0)
    assert [line["request_id"] for line in _access_lines(written)] == ["heard"]

    with configured("text") as text:
        await _get(tenant, task_id, "text")
        await asyncio.sleep(0)
    assert " INFO nuage.access request\n" in text.getvalue()


async def test_an_operators_filter_on_the_access_log_still_drops_lines(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    task_id = await _task_of(tenant)
    seen: list[str] = []

    def dropping(record: logging.LogRecord) -> bool:
        seen.append(record.request_id)
        return False

    with configured("json") as written:
        ACCESS.addFilter(dropping)
        try:
            await _get(tenant, task_id, "dropped")
        finally:
            ACCESS.removeFilter(dropping)
        await _get(tenant, task_id, "kept")
        await asyncio.sleep(0)
    assert seen == ["dropped"]
    assert [line["request_id"] for line in _access_lines(written)] == ["kept"]


class _Writes(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


async def test_a_pass_s_lines_are_written_whole_in_writes_a_pipe_keeps_apart() -> None:
    """The API's processes share one stderr, often a pipe: each write of a pass's lines is at
    most PIPE_BUF bytes and ends a line, so no other process's line lands inside one."""
    with configured("json") as written:
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        stream = _Writes()
        handler.setStream(stream)
        for n in range(40):  # one pass: nothing awaited in between
            logs.info_line(ACCESS, "request", {"n": n, "route": "/v1/" + "x" * 200})
        assert stream.writes == []
        await asyncio.sleep(0)
        await asyncio.to_thread(logs.info_line, ACCESS, "request", {"n": 40})  # no loop: at once
    assert written.getvalue() == ""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["n"] for line in lines] == list(range(41))
    assert len(stream.writes) > 2
    assert all(
        len(text.encode()) <= select.PIPE_BUF and text.endswith("\n") for text in stream.writes
    )
