"""What the sync and async clients share: a request described as data (`Call`), the retry
policy for answers that say "try again" (429, 503, a connection that failed), the project scope
of compute paths, and turning an answer into a model or an `ApiError`.

Every POST carries an `Idempotency-Key`, made once per call: a retry of the call sends the
same key, so the server answers a replay of what it did instead of doing it twice."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

import httpx

from nuage.client.errors import ConfigurationError, error_for

T = TypeVar("T")
SCOPE = "{project}"  # a compute path starts with this: the project's compute URL replaces it
RETRY_STATUSES = frozenset({429, 503})
DEFAULT_TIMEOUT = 30.0


def new_idempotency_key() -> str:
    return f"nuage-client-{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    body: Any = None
    timeout: float | None = None
    idempotency_key: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else {}

    def at(self, url: str) -> "Call[T]":
        """The same call to another URL (a page's `next`, which carries its own query)."""
        return replace(self, path=url, params=None)


def post(
    path: str,
    parse: Callable[[httpx.Response], T],
    body: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Call[T]:
    key = idempotency_key or new_idempotency_key()
    return Call("POST", path, parse, params=params, body=body, idempotency_key=key)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to send a call again. An answer 429 or 503 waits its `Retry-After` (seconds or an
    HTTP date; at most `max_wait`), or without one `base·2^(attempt-1)`; a connection error
    waits the same backoff. After `attempts` tries the last answer (or error) stands."""

    attempts: int = 4
    base: float = 0.5
    max_wait: float = 60.0
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def after_response(self, response: httpx.Response, attempt: int) -> float | None:
        if response.status_code not in self.statuses or attempt >= self.attempts:
            return None
        told = retry_after(response.headers.get("Retry-After"))
        return min(self.max_wait, told if told is not None else self._backoff(attempt))

    def after_error(self, attempt: int) -> float | None:
        return None if attempt >= self.attempts else self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_wait, self.base * 2 ** (attempt - 1)))


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def project_path(organization_id: str, project_id: str) -> str:
    return f"/v1/organizations/{organization_id}/projects/{project_id}/compute"


def url_of(call: Call[Any], scope: str | None) -> str:
    if not call.path.startswith(SCOPE):
        return call.path
    if scope is None:
        raise ConfigurationError("no project: give organization_id and project_id")
    return scope + call.path[len(SCOPE) :]


def finish(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the API's refusal raised as its exception."""
    if response.status_code >= 400:
        raise error_for(response)
    return call.parse(response)


def only_one(kind: str, ids: Sequence[object]) -> str:
    """The id of the one organization or project a key sees (what `scope` discovery needs)."""
    if len(ids) != 1:
        raise ConfigurationError(
            f"this key sees {len(ids)} {kind}s: give the client the {kind}_id to use"
        )
    return str(ids[0])


def bearer(token: str, user_agent: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": user_agent}
