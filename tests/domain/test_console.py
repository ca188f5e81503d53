"""Console sessions' pure rules: URL, expiry, status, and what is kept of a token."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from nuage.domain.console import (
    ConsoleOptions,
    ConsoleSessionStatus,
    session_status,
    token_hash,
    token_matches,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
S = ConsoleSessionStatus


def test_the_url_is_the_apis_websocket_endpoint_for_the_session() -> None:
    session_id = UUID(int=5)
    assert ConsoleOptions(public_url="http://127.0.0.1:8123").url(session_id) == (
        f"ws://127.0.0.1:8123/v1/console/{session_id}"
    )
    assert ConsoleOptions(public_url="https://nuage.example/").url(session_id) == (
        f"wss://nuage.example/v1/console/{session_id}"
    )


def test_a_session_expires_after_the_ttl() -> None:
    assert ConsoleOptions(ttl_seconds=90).expiry(NOW) == NOW + timedelta(seconds=90)


def test_a_session_is_active_until_used_or_expired() -> None:
    later = NOW + timedelta(seconds=60)
    assert session_status(expires_at=later, used_at=None, now=NOW) is S.ACTIVE
    assert session_status(expires_at=later, used_at=None, now=later) is S.EXPIRED
    assert session_status(expires_at=later, used_at=NOW, now=NOW) is S.USED
    assert session_status(expires_at=later, used_at=NOW, now=later) is S.USED


def test_only_a_hash_of_the_token_is_kept_and_only_the_token_matches_it() -> None:
    stored = token_hash("the-token")
    assert "the-token" not in stored and len(stored) == 64
    assert token_matches("the-token", stored)
    assert not token_matches("the-token ", stored)
    assert not token_matches("", stored)
