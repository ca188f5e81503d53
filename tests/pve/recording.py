"""Every request sent to a served fake, seen on the client side as it goes on the wire.

`watch(url)` (called by `Served`) patches `requests.Session.send` once per process, so whatever
builds the Proxmox driver (the worker, the registry, the contract suite) its requests are seen:
proxmoxer's https backend sends through it. A request to a watched fake is recorded and checked
against Proxmox's schema (`tests.pve.schema`); a violation is raised in the caller and kept in
`violations`, which the autouse fixture in tests/conftest.py turns into a failed test (a driver
that swallowed the exception still fails). Requests to anything else pass untouched.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

API_PREFIX = "/api2/json"


@dataclass(frozen=True)
class Sent:
    """A request as Proxmox reads it: method, path below /api2/json, query and form values."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        shown = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.method} {self.path}" + (f" [{shown}]" if shown else "")


class SchemaViolation(AssertionError):
    """A request Proxmox VE would refuse by its published schema (400 on a real node)."""


KEEP = 50_000  # requests kept in `sent` (the oldest half goes when it is full)
_lock = threading.Lock()
_watched: set[str] = set()
_installed = False
sent: list[Sent] = []
violations: list[str] = []
# Set by tests.pve.schema: returns the problems of one request (empty when it is valid).
checker: Callable[[Sent], list[str]] | None = None


def watch(url: str) -> None:
    _install()
    with _lock:
        _watched.add(_origin(url))


def unwatch(url: str) -> None:
    with _lock:
        _watched.discard(_origin(url))


def take_violations() -> list[str]:
    """The violations seen since the last call (and forget them)."""
    with _lock:
        found = list(violations)
        violations.clear()
    return found


@contextmanager
def violations_fail_the_test() -> Iterator[None]:
    """Fail (pytest.fail) if a request sent inside the block broke the schema: the autouse
    fixture of tests/conftest.py wraps every test in it."""
    take_violations()
    yield
    found = take_violations()
    if found:
        import pytest

        pytest.fail("Requests Proxmox VE would refuse:\n" + "\n".join(found), pytrace=False)


def parse(method: str, url: str, body: Any) -> Sent:
    """The method, path and values of a prepared request (query string and form body merged)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :] or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if body:
        text = body.decode() if isinstance(body, bytes) else str(body)
        pairs += parse_qsl(text, keep_blank_values=True)
    return Sent(method.upper(), path, tuple(pairs))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _observe(request: Any) -> None:
    with _lock:
        watched = _origin(request.url) in _watched
    if not watched:
        return
    seen = parse(request.method, request.url, request.body)
    problems = checker(seen) if checker is not None else []
    with _lock:
        sent.append(seen)
        if len(sent) > KEEP:
            del sent[: KEEP // 2]
        if problems:
            violations.append(f"{seen}: {'; '.join(problems)}")
    if problems:
        raise SchemaViolation(f"Proxmox would refuse {seen}: {'; '.join(problems)}")


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        import requests

        original = requests.Session.send

        def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            _observe(request)
            return original(self, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]
        _installed = True
