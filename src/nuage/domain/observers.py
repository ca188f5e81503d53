"""What a process did, for those who watch it: a request finished, a task changed status, a
webhook delivery was attempted.

The code that does the work publishes each fact once, after it is true (after the commit);
logging and metrics subscribe and know nothing of where the facts come from. Listeners run
synchronously in the publisher's thread, so they must be cheap (no I/O beyond a log line, no
lock held long); one that raises is logged and the others still run.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RequestFinished:
    method: str
    route: str  # the route's template (`/v1/…/instances/{instance_id}`), or "unmatched"
    status: int
    seconds: float
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskTransition:
    """A task moved from `before` to `after` (TaskStatus values; `before` None: it was made).
    `reason` says why when one move has several causes: for running → pending, `retry`,
    `released` (its worker stopped) or `lease_expired` (taken over)."""

    task_id: UUID
    task_type: str
    before: str | None
    after: str
    reason: str = ""
    waited_seconds: float | None = None  # running: how long it was due before it was claimed


@dataclass(frozen=True, slots=True)
class DeliveryAttempted:
    """A webhook delivery was attempted: `outcome` is the delivery's status after it
    (`delivered`, `pending` again to retry, or `failed` for good)."""

    event_type: str
    outcome: str
    seconds: float


Fact = RequestFinished | TaskTransition | DeliveryAttempted
Listener = Callable[[Fact], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Call `listener` with every fact this process publishes (once, however often asked)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(fact: Fact) -> None:
    for listener in tuple(_listeners):
        try:
            listener(fact)
        except Exception:
            log.exception("observer %r failed on %r", listener, fact)
