"""Limiters: may this key (a credential, an account, an address) make one more request now?

Two implementations of one `Limiter` protocol, chosen by the database:

- `LocalLimiter` (SQLite, the embedded mode: one process) keeps the buckets in memory and takes
  one token per request.
- `SharedLimiter` (PostgreSQL: any number of API processes) keeps the buckets in the database
  (`db/rate_limits.py`) and serves requests from small batches of tokens it takes from them:
  at most `BATCH` and at most a quarter of what the bucket holds, so one write admits up to ten
  requests, and near the limit processes take one token at a time and never admit more than
  the bucket gave. A batch not spent within `BATCH_SECONDS` goes back with the next take (the
  burst band must not be saved up). A key refused is refused locally, without a query, until
  the bucket will hold a token again. When the database cannot be reached the request is let
  through: the limiter protects the service, it must not be the reason it is down.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db import rate_limits as store
from nuage.db.errors import is_unavailable
from nuage.domain.errors import DatabaseUnavailable
from nuage.domain.rate_limits import Bucket, Policy, Quota, take, wait_seconds

log = logging.getLogger("nuage.rate_limits")

BATCH = 10
BATCH_FRACTION = 0.25
BATCH_SECONDS = 1.0
PRUNE_SECONDS = 60.0
KEEP_SECONDS = 86_400.0  # shared buckets idle this long are deleted (longer than any band)
MAX_KEYS = 10_000  # local entries kept before idle ones are dropped

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Verdict:
    admitted: bool
    quota: Quota
    retry_after: int = 0  # whole seconds, for `Retry-After` (at least 1 when refused)


class Limiter(Protocol):
    async def acquire(self, key: str, policy: Policy) -> Verdict: ...


def _refused(policy: Policy, tokens: tuple[float, float]) -> Verdict:
    wait = max(1, math.ceil(wait_seconds(policy, tokens)))
    return Verdict(False, Quota.of(policy, tokens), retry_after=wait)


class LocalLimiter:
    """Buckets in this process's memory."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[Bucket, Policy]] = {}
        self._pruned = clock()

    async def acquire(self, key: str, policy: Policy) -> Verdict:
        now = self._clock()
        kept = self._buckets.get(key)
        bucket = kept[0] if kept else Bucket.full(policy, now)
        granted, after = take(bucket, policy, now)
        self._buckets[key] = (after, policy)
        if len(self._buckets) > MAX_KEYS and now - self._pruned >= 1.0:  # a scan a second at most
            self._pruned = now
            self._forget_full(now)
        if granted:
            return Verdict(True, Quota.of(policy, after.tokens))
        return _refused(policy, after.tokens)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a missing bucket is a full one."""
        self._buckets = {
            key: (bucket, policy)
            for key, (bucket, policy) in self._buckets.items()
            if bucket.refilled(policy, now).tokens != Bucket.full(policy, now).tokens
        }


@dataclass
class _Held:
    """This process's share of one shared bucket."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tokens: int = 0
    expires: float = 0.0
    blocked_until: float = 0.0
    seen: tuple[float, float] = (0.0, 0.0)  # the bucket after our last take


class SharedLimiter:
    """Buckets in PostgreSQL, spent here in batches."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock = time.monotonic
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._pruned = clock()

    async def acquire(self, key: str, policy: Policy) -> Verdict:
        held = self._held.setdefault(key, _Held())
        async with held.lock:
            now = self._clock()
            if held.tokens and now < held.expires:
                held.tokens -= 1
                return Verdict(True, self._quota(policy, held))
            if now < held.blocked_until:
                return _refused(policy, held.seen)
            returned, held.tokens = held.tokens, 0
            taken = await self._take(key, policy, returned)
            if taken is None:  # no database: let it through
                return Verdict(True, Quota.of(policy, held.seen))
            held.seen = taken.tokens
            now = self._clock()
            if not taken.granted:
                held.blocked_until = now + wait_seconds(policy, taken.tokens)
                return _refused(policy, taken.tokens)
            held.tokens, held.expires = taken.granted - 1, now + BATCH_SECONDS
            return Verdict(True, self._quota(policy, held))

    @staticmethod
    def _quota(policy: Policy, held: _Held) -> Quota:
        return Quota.of(policy, (held.seen[0] + held.tokens, held.seen[1] + held.tokens))

    async def _take(self, key: str, policy: Policy, returned: int) -> store.Taken | None:
        try:
            async with self._sessions() as session:
                taken = await store.take(
                    session, key, policy, want=BATCH, fraction=BATCH_FRACTION, returned=returned
                )
                await self._prune(session)
                await session.commit()
                return taken
        except Exception as error:
            if not (isinstance(error, DatabaseUnavailable) or is_unavailable(error)):
                raise
            log.warning("rate limits: database unavailable; request let through")
            return None

    async def _prune(self, session: AsyncSession) -> None:
        now = self._clock()
        if now - self._pruned < PRUNE_SECONDS:
            return
        self._pruned = now
        await store.prune(session, idle_seconds=KEEP_SECONDS)
        idle = [k for k, h in self._held.items() if not h.lock.locked() and h.expires < now]
        if len(self._held) > MAX_KEYS:
            for k in idle:
                del self._held[k]


def limiter_for(sessions: async_sessionmaker[AsyncSession], *, database_url: str) -> Limiter:
    if database_url.startswith("postgresql"):
        return SharedLimiter(sessions)
    return LocalLimiter()
