"""Structured logs: one JSON object a line, with the request or task being served.

Every record carries `ts` (UTC), `level`, `logger` and `message`, the fields given as `extra=`
and, while a request is served, its `request_id` (set by `api/request_log.py` in a context
variable that follows the request's tasks), as compact JSON with non-ASCII text kept as UTF-8. A
value JSON has no type for is written as its `str`. Values are never secrets: the callers log
ids, never tokens, keys or bodies.
"""

import asyncio
import contextlib
import json
import logging
import select
import time
import weakref
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from nuage.domain.observers import Fact, TaskTransition, subscribe

request_id: ContextVar[str | None] = ContextVar("nuage_request_id", default=None)

# LogRecord's own attributes: everything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return json_line(
            record.created,
            record.levelname,
            logger=record.name,
            message=record.getMessage(),
            fields=fields,
            request=request_id.get(),
        )


# Values pydantic-core's encoder writes as the standard library's does.
_PLAIN = frozenset({str, int, float, bool, type(None)})
# The same lines for other values (compact, UTF-8 kept), `str` for what JSON has no type for.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False)


def json_line(
    created: float,
    level: str,
    *,
    logger: str,
    message: str,
    fields: Mapping[str, Any],
    request: str | None,
) -> str:
    """One record's line: its time, level, logger and message, the request being served, then
    `fields` (a field named as one of those replaces it in place; a value JSON has no type for
    is written as its `str`). Plain values (every access line's) are encoded by pydantic-core, in
    a quarter of the standard library's time; any other value, or a string it refuses (a lone
    surrogate), by the standard library."""
    line: dict[str, Any] = {
        "ts": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level.lower(),
        "logger": logger,
        "message": message,
    }
    if request is not None:
        line["request_id"] = request
    line.update(fields)
    if all(type(value) in _PLAIN for value in fields.values()):
        with contextlib.suppress(ValueError):
            return to_json(line).decode()
    return _ENCODER.encode(line)


# The root's JSON handler `configure` installed: `info_line` writes to it directly.
_json_handler: logging.StreamHandler[Any] | None = None

# What `info_line` has to write, per event loop, at the end of the loop's pass.
_Line = tuple[float, str, str, dict[str, Any], str | None]
_waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Line]] = (
    weakref.WeakKeyDictionary()
)


def info_line(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """`logger.info(message, extra=fields)` for a line written on every request (the access
    log). When nothing but `configure`'s JSON handler would see the record (no other handler,
    filter or disabled logger on the way), the line is written to it as its formatter writes it,
    but without the logging module's record and handler chain, and at the end of the event
    loop's pass, with the other lines of the pass, in one write: the line alone, in the
    request's path, was a sixth of the GET task's CPU (docs/benchmarks.md, "Issue 11,
    thirteenth session"). Lines written so may follow lines of other loggers written later in the
    same pass; their `ts` is the time of the call. Otherwise (a test's capture, an operator's
    own configuration) the record goes through logging as usual."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _sole_handler(logger)
    if handler is None:
        logger.info(message, extra=fields)
        return
    line = (time.time(), logger.name, message, fields, request_id.get())
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop: at once
        _write(handler, [line])
        return
    waiting = _waiting.setdefault(loop, [])
    waiting.append(line)
    if len(waiting) == 1:
        loop.call_soon(_write_waiting, handler, loop)


def _write_waiting(handler: logging.StreamHandler[Any], loop: asyncio.AbstractEventLoop) -> None:
    _write(handler, _waiting.pop(loop, []))


def _write(handler: logging.StreamHandler[Any], lines: list[_Line]) -> None:
    """`lines` in writes of at most `PIPE_BUF` bytes each, whole lines only (a longer line alone):
    the API's processes share one stderr, often a pipe, where a longer write may be interleaved
    with another process's."""
    chunk: list[str] = []
    size = 0
    with handler.lock or contextlib.nullcontext():
        try:
            for created, name, message, fields, request in lines:
                text = json_line(
                    created, "INFO", logger=name, message=message, fields=fields, request=request
                )
                text += handler.terminator
                length = len(text.encode())
                if chunk and size + length > select.PIPE_BUF:
                    handler.stream.write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(text)
                size += length
            if chunk:
                handler.stream.write("".join(chunk))
            handler.flush()
        except Exception:
            handler.handleError(logging.makeLogRecord({"msg": "".join(chunk)}))


def _sole_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """`configure`'s JSON handler if an INFO record of `logger` would reach it and nothing else."""
    handler = _json_handler
    if handler is None or handler.filters or handler.level > logging.INFO:
        return None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        if current.parent is None:  # the root
            return handler if current.handlers == [handler] else None
        if current.handlers or not current.propagate:
            return None
        current = current.parent
    return None


_tasks = logging.getLogger("nuage.tasks")


def log_task_transition(fact: Fact) -> None:
    """One line per task status change (published by the engine and services)."""
    if isinstance(fact, TaskTransition):
        _tasks.info(
            "task %s: %s -> %s",
            fact.task_id,
            fact.before,
            fact.after,
            extra={
                "task_id": str(fact.task_id),
                "task_type": fact.task_type,
                "from": fact.before,
                "to": fact.after,
                "reason": fact.reason or None,
            },
        )


def configure(log_format: str = "json") -> None:
    """The root handler on stderr, JSON unless `log_format` is "text"; task transitions logged."""
    global _json_handler
    handler: logging.StreamHandler[Any] = logging.StreamHandler()
    if log_format == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        _json_handler = None
    else:
        handler.setFormatter(JsonFormatter())
        _json_handler = handler
    # Neither format shows where a call was made from, its thread or its process: the logging
    # HOWTO's switches ("Optimization") skip collecting them for each record (a stack walk for
    # the caller), a tenth of the access-log line's cost on the hot read.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    subscribe(log_task_transition)
