"""The SDK's exceptions mirror the server's error tree (same names, codes and HTTP statuses),
every refusal becomes its exception, and the retry policy reads `Retry-After` as RFC 9110
defines it. Pure: no server (the live tests use them end to end)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from nuage.api.errors import status_for
from nuage.client import errors as client_errors
from nuage.client.errors import ApiError, ValidationFailed, error_for
from nuage.client.http import RetryPolicy, retry_after
from nuage.domain import errors as server_errors


def _server_errors() -> list[type[server_errors.NuageError]]:
    found, todo = [], [server_errors.NuageError]
    while todo:
        kind = todo.pop()
        todo += kind.__subclasses__()
        if kind is not server_errors.NuageError and status_for(kind) != 500:
            found.append(kind)
    return found


@pytest.mark.parametrize("server", _server_errors(), ids=lambda kind: kind.__name__)
def test_each_server_error_has_a_client_twin(server: type[server_errors.NuageError]) -> None:
    twin = getattr(client_errors, server.__name__)
    assert issubclass(twin, ApiError)
    assert (twin.code, twin.status) == (server.code, status_for(server))
    parent = server.__mro__[1]
    if parent is not server_errors.NuageError:
        assert issubclass(twin, getattr(client_errors, parent.__name__))
    if twin is not ValidationFailed:
        body = {"detail": "said", "code": server.code}
        raised = error_for(httpx.Response(twin.status, json=body))
        assert type(raised) is twin
        assert (raised.code, raised.message, raised.status) == (server.code, "said", twin.status)


def test_field_errors_and_unknown_codes() -> None:
    fields = {"name": ["This field is required."]}
    raised = error_for(httpx.Response(400, json=fields))
    assert isinstance(raised, ValidationFailed) and raised.fields == fields
    assert "name: This field is required." in str(raised)
    unknown = error_for(httpx.Response(409, json={"detail": "new", "code": "brand_new"}))
    assert type(unknown) is client_errors.Conflict and unknown.code == "brand_new"
    odd = error_for(httpx.Response(418, text="teapot"))
    assert type(odd) is ApiError and odd.status == 418


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert retry_after("7") == 7.0
    assert retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert retry_after("soon") is None and retry_after(None) is None


def test_the_policy_retries_429_and_503_only_and_gives_up() -> None:
    policy = RetryPolicy(attempts=3, base=0.5, max_wait=10)
    assert policy.after_response(httpx.Response(429, headers={"Retry-After": "2"}), 1) == 2
    assert policy.after_response(httpx.Response(503, headers={"Retry-After": "99"}), 1) == 10
    assert policy.after_response(httpx.Response(503), 2) == 1.0  # no header: backoff
    assert policy.after_response(httpx.Response(503), 3) is None  # the last attempt stands
    assert policy.after_response(httpx.Response(500), 1) is None
    assert policy.after_response(httpx.Response(409), 1) is None
    assert policy.after_error(1) == 0.5 and policy.after_error(3) is None
