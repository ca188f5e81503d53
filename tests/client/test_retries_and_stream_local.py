"""The client against a tiny local server: 429 and 503 are retried after their `Retry-After`
with the same Idempotency-Key, a retry gives up after its attempts with the typed exception,
and the event stream parses SSE (comments, multi-line data, ids), then resumes after a dropped
connection with `Last-Event-ID`. (The server's own event stream, `GET P/events`, is built on
another branch; these tests use the format of its contract, docs/api.md, Events.)"""

import json
import time

import pytest

from nuage.client import Client, ConfigurationError, Event, Resync, RetryPolicy, Throttled
from nuage.client.errors import DatabaseUnavailable, StreamClosed
from nuage.client.sse import SseParser
from tests.client.tiny_server import Answer, Seen, TinyServer

ORG, PROJECT = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
INSTANCE = {"id": "33333333-3333-4333-8333-333333333333", "name": "x"}


def client(url: str, **options: object) -> Client:
    return Client(url, api_key="sk-test", organization_id=ORG, project_id=PROJECT, **options)  # type: ignore[arg-type]


def task_body() -> bytes:
    user = {"id": ORG, "email": "a@example.com", "first_name": "", "last_name": ""}
    task = {
        "id": "44444444-4444-4444-8444-444444444444",
        "instance_id": INSTANCE["id"],
        "instance": INSTANCE,
        "task_type": "start_vps",
        "status": "pending",
        "result": None,
        "started_at": None,
        "completed_at": None,
        "retry_count": 0,
        "created": "2026-12-02T12:00:00Z",
        "modified": "2026-12-02T12:00:00Z",
        "created_by": user,
    }
    return json.dumps(task).encode()


def test_429_then_503_are_retried_after_retry_after_with_one_idempotency_key() -> None:
    def answer(_seen: Seen, n: int) -> Answer:
        if n == 1:
            return Answer(429, {"Retry-After": "1"}, b'{"detail": "slow", "code": "throttled"}')
        if n == 2:
            return Answer(
                503, {"Retry-After": "1"}, b'{"detail": "db", "code": "database_unavailable"}'
            )
        return Answer(202, {"Content-Type": "application/json"}, task_body())

    with TinyServer(answer) as server, client(server.url) as api:
        started = time.monotonic()
        task = api.instances.start(INSTANCE["id"])
        elapsed = time.monotonic() - started
    assert task.task_type == "start_vps" and task.status == "pending"
    assert len(server.seen) == 3 and elapsed >= 2.0
    keys = {seen.headers["Idempotency-Key"] for seen in server.seen}
    assert len(keys) == 1 and keys.pop().startswith("nuage-client-")
    assert {seen.path for seen in server.seen} == {
        f"/v1/organizations/{ORG}/projects/{PROJECT}/compute/instances/{INSTANCE['id']}/start"
    }


def test_two_calls_send_two_keys_and_a_retry_gives_up_with_the_typed_error() -> None:
    def answer(_seen: Seen, _n: int) -> Answer:
        return Answer(429, {"Retry-After": "0"}, b'{"detail": "slow down", "code": "throttled"}')

    with TinyServer(answer) as server, client(server.url, retry=RetryPolicy(attempts=2)) as api:
        with pytest.raises(Throttled) as first:
            api.instances.start(INSTANCE["id"])
        with pytest.raises(Throttled):
            api.instances.start(INSTANCE["id"])
    assert first.value.code == "throttled" and first.value.message == "slow down"
    assert first.value.response.status_code == 429
    keys = [seen.headers["Idempotency-Key"] for seen in server.seen]
    assert len(keys) == 4 and keys[0] == keys[1] != keys[2] == keys[3]


def test_a_503_without_retry_after_backs_off_then_stands() -> None:
    def answer(_seen: Seen, _n: int) -> Answer:
        return Answer(503, {}, b'{"detail": "gone", "code": "database_unavailable"}')

    policy = RetryPolicy(attempts=3, base=0.2)
    with TinyServer(answer) as server, client(server.url, retry=policy) as api:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            api.instances.get(INSTANCE["id"])
    assert len(server.seen) == 3 and time.monotonic() - started >= 0.6  # 0.2 + 0.4


def envelope(n: int, kind: str = "task.completed") -> str:
    data = {
        "id": n,
        "type": kind,
        "created": "2026-12-02T12:00:00Z",
        "instance_id": INSTANCE["id"],
        "data": {"status": "completed", "note": "two\nlines"},
    }
    return f"id: {n}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


def test_the_stream_resumes_after_a_dropped_connection_with_last_event_id() -> None:
    def answer(seen: Seen, n: int) -> Answer:
        headers = {"Content-Type": "text/event-stream"}
        if n == 1:
            return Answer(
                200, headers, chunks=[b": ping\n\n", envelope(1).encode(), envelope(2).encode()]
            )
        resync = 'event: resync\ndata: {"reason": "too old", "oldest_id": 3}\n\n'
        return Answer(200, headers, chunks=[envelope(3).encode(), resync.encode()])

    with TinyServer(answer) as server, client(server.url, retry=RetryPolicy(base=0.05)) as api:
        got = []
        for item in api.events.stream(instance_id=INSTANCE["id"], types=["task.completed"]):
            got.append(item)
            if len(got) == 4:
                break
    assert [e.id for e in got if isinstance(e, Event)] == [1, 2, 3]
    assert isinstance(got[3], Resync) and got[3].oldest_id == 3
    assert isinstance(got[0], Event) and got[0].data["note"] == "two\nlines"
    assert "Last-Event-ID" not in server.seen[0].headers
    assert server.seen[1].headers["Last-Event-ID"] == "2"
    assert "types=task.completed" in server.seen[0].path
    assert f"instance_id={INSTANCE['id']}" in server.seen[0].path


def test_the_servers_error_event_ends_the_stream_with_its_code() -> None:
    def answer(_seen: Seen, _n: int) -> Answer:
        error = (
            'event: error\ndata: {"detail": "Key revoked.", "code": "authentication_failed"}\n\n'
        )
        stream = {"Content-Type": "text/event-stream"}
        return Answer(200, stream, chunks=[envelope(1).encode(), error.encode()])

    with TinyServer(answer) as server, client(server.url) as api:
        got = []
        with pytest.raises(StreamClosed) as closed:
            got.extend(api.events.stream())
    assert closed.value.code == "authentication_failed" and closed.value.message == "Key revoked."
    assert len(server.seen) == 1


def test_the_parser_follows_the_sse_rules() -> None:
    parser = SseParser()
    wire = [": heartbeat", "retry: 3000", "id: 7", "event: task.step", "data:a", "data: b", ""]
    wire += ["data: no event name", "", "", "id: 8", ""]  # an id alone dispatches nothing
    messages = list(parser.feed_all(wire))
    assert [(m.event, m.data, m.id) for m in messages] == [
        ("task.step", "a\nb", "7"),
        ("message", "no event name", "7"),
    ]
    assert parser.last_event_id == "8" and parser.retry_ms == 3000


def test_the_project_is_found_when_the_key_sees_one_and_asked_for_otherwise() -> None:
    projects = {"count": 2, "next": None, "previous": None, "results": []}
    for n in (1, 2):
        projects["results"].append(  # type: ignore[attr-defined]
            {
                "id": f"{n}" * 8 + "-0000-4000-8000-000000000000",
                "organization_id": ORG,
                "name": f"p{n}",
                "description": "",
                "created": "2026-12-02T12:00:00Z",
                "modified": "2026-12-02T12:00:00Z",
            }
        )
    organization = {
        "id": ORG,
        "legacy_id": 1,
        "name": "o",
        "instance_quota": 10,
        "created": "2026-12-02T12:00:00Z",
        "modified": "2026-12-02T12:00:00Z",
    }

    def answer(seen: Seen, _n: int) -> Answer:
        body = [organization] if seen.path == "/v1/organizations" else projects
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    with TinyServer(answer) as server, Client(server.url, api_key="sk-test") as api:
        with pytest.raises(ConfigurationError, match="sees 2 projects"):
            api.instances.get(INSTANCE["id"])
        assert api.organization_id == ORG
        projects["results"] = projects["results"][:1]  # type: ignore[index]
        assert (
            api.scope()
            == f"/v1/organizations/{ORG}/projects/{'1' * 8}-0000-4000-8000-000000000000/compute"
        )
