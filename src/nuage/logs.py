"""Structured logs: one JSON object a line, with the request or task being served.

Every record carries `ts` (UTC), `level`, `logger` and `message`, the fields given as `extra=`
and, while a request is served, its `request_id` (set by `api/request_log.py` in a context
variable that follows the request's tasks). Values are never secrets: the callers log ids,
never tokens, keys or bodies.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from nuage.domain.observers import Fact, TaskTransition, subscribe

request_id: ContextVar[str | None] = ContextVar("nuage_request_id", default=None)

# LogRecord's own attributes: everything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


# What `json.dumps(line, default=str)` makes, without building an encoder for every line.
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        line.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)


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
    handler = logging.StreamHandler()
    if log_format == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
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
