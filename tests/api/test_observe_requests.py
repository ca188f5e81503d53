"""`ObserveRequests`, the outermost middleware, does three things in one wrapper: the request id
(echoed), the `RequestFinished` fact (metrics) and the access-log line, which name the same
request and the same route; each says what it means by a request that never answered."""

import contextlib
import logging
from collections.abc import Iterator

import pytest

from nuage.api.middleware import Receive, Scope, Send
from nuage.api.observe import ROUTE_TEMPLATE, ObserveRequests
from nuage.domain import observers

pytestmark = pytest.mark.anyio


@pytest.fixture
def facts() -> Iterator[list[observers.RequestFinished]]:
    seen: list[observers.Fact] = []
    observers.subscribe(seen.append)
    try:
        yield seen  # type: ignore[misc]
    finally:
        observers.unsubscribe(seen.append)


async def _get(app: ObserveRequests, request_id: str | None = None) -> dict[bytes, list[bytes]]:
    """The answer's headers (an app that raises has none)."""
    headers = [(b"host", b"nuage")]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    scope = {"type": "http", "method": "GET", "path": "/v1/anything", "headers": headers}
    answered: dict[bytes, list[bytes]] = {}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            for name, value in message["headers"]:  # type: ignore[attr-defined]
                answered.setdefault(name, []).append(value)

    with contextlib.suppress(RuntimeError):  # the server answers 500
        await app(scope, receive, send)
    return answered


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    return [
        (r.route, r.status, r.request_id)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "nuage.access"
    ]


async def test_the_answer_the_fact_and_the_log_line_name_one_request(
    facts: list[observers.RequestFinished], caplog: pytest.LogCaptureFixture
) -> None:
    async def fast(scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_TEMPLATE] = "/v1/…/tasks/{id}"
        headers = [(b"content-type", b"application/json"), (b"x-request-id", b"theirs")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    caplog.set_level(logging.INFO, logger="nuage.access")
    answered = await _get(ObserveRequests(fast), "req-7")
    made = await _get(ObserveRequests(fast))

    assert answered[b"x-request-id"] == [b"req-7"]  # replaces the app's own
    assert answered[b"content-type"] == [b"application/json"]
    rid = made[b"x-request-id"][0].decode()
    assert len(rid) == 32
    assert [(f.route, f.status, f.request_id) for f in facts] == [
        ("/v1/…/tasks/{id}", 200, "req-7"),
        ("/v1/…/tasks/{id}", 200, rid),
    ]
    assert _lines(caplog) == [("/v1/…/tasks/{id}", 200, "req-7"), ("/v1/…/tasks/{id}", 200, rid)]


async def test_no_answer_is_a_500_for_metrics_and_a_499_or_500_in_the_log(
    facts: list[observers.RequestFinished], caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return  # as when the client left before the answer

    caplog.set_level(logging.INFO, logger="nuage.access")
    await _get(ObserveRequests(broken), "broken")
    await _get(ObserveRequests(silent), "silent")

    assert [(f.route, f.status, f.request_id) for f in facts] == [
        ("unmatched", 500, "broken"),
        ("unmatched", 500, "silent"),
    ]
    assert _lines(caplog) == [("unmatched", 500, "broken"), ("unmatched", 499, "silent")]
