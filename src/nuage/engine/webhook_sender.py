"""The webhook sender: a loop of the worker process, beside the task loop and never in its way.

It turns new events into deliveries (services/webhook_dispatch.py), claims due deliveries (one
per webhook at a time, `concurrency` in all) and posts each, signed, with a short timeout; an
attempt that fails is retried with exponential backoff until the policy's last attempt, then the
delivery is `failed`. A hanging endpoint costs one slot for at most the timeout, and only its own
queue waits.

Before each attempt the URL's host is resolved and checked again (domain/webhooks.py), and the
request goes to the address that was checked (the Host header and TLS name stay the URL's), so
a name that now resolves to a private address is refused, not reached.
"""

import asyncio
import contextlib
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.notify import EVENTS, LocalNotifier
from nuage.db.observed import publish_after_commit
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.errors import DatabaseUnavailable, WebhookUrlRefused
from nuage.domain.observers import DeliveryAttempted
from nuage.domain.webhook_signatures import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    sign,
)
from nuage.domain.webhooks import DeliveryPolicy, DeliveryStatus, is_success
from nuage.engine import webhook_queries as queries
from nuage.engine.webhook_queries import AttemptResult, Claimed
from nuage.services import events, webhook_dispatch
from nuage.services.webhook_dispatch import EventSource
from nuage.services.webhook_urls import check_url
from nuage.services.webhooks import WEBHOOKS

log = logging.getLogger("nuage.webhooks")
USER_AGENT = "nuage-webhooks/1"


@dataclass(frozen=True, slots=True)
class SenderSettings:
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    concurrency: int = 8
    allow_private: bool = False
    poll_seconds: float = 1.0
    events_channel: str = EVENTS  # the notifier channel new events wake (the outbox's)
    chain: int = 50  # deliveries of one webhook a slot sends in a row before it is offered again
    log_retention_seconds: float = 7 * 86400.0  # ended deliveries are deleted after this
    prune_every_seconds: float = 300.0
    # New events are read at most this often: under a stream of commits each worker process
    # would otherwise read them once per commit, a transaction each, beside the tasks it runs.
    dispatch_gap_seconds: float = 0.05

    @property
    def lease(self) -> timedelta:
        """Longer than any attempt: resolution and the request are both bounded."""
        return timedelta(seconds=2 * self.policy.timeout_seconds + 10)


def webhook_events_source() -> EventSource:
    """Where new events come from: the events outbox, every project's (their heads; those a
    webhook wants are then read whole, `events.events_by_id`)."""
    return events.heads_after


class WebhookSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: LocalNotifier,
        settings: SenderSettings,
        *,
        sender_id: str,
        source: EventSource | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.settings = settings
        self.id = sender_id
        self.source = source
        self._rng = rng or random.Random()
        self._running: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self._pruned_at = 0.0
        self._dispatch_due = True
        self._claim_due = True
        self._dispatched_at = 0.0  # time.monotonic() of the last read of new events

    async def run(self, stop: asyncio.Event) -> None:
        timeout = httpx.Timeout(self.settings.policy.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            try:
                while not stop.is_set():
                    await self._tick(stop, client)
            finally:
                for task in self._running:
                    task.cancel()
                await asyncio.gather(*self._running, return_exceptions=True)

    async def _tick(self, stop: asyncio.Event, client: httpx.AsyncClient) -> None:
        """Read new events if some were committed, claim if something may be due, then wait.
        Most events are of no webhook's type: they cost one transaction here, nothing more."""
        queued = self.notifier.subscribe(WEBHOOKS)
        events = self.notifier.subscribe(self.settings.events_channel)
        try:
            if self._dispatch_due:
                self._dispatch_due = False
                await self._pace(stop)
                self._dispatched_at = time.monotonic()
                self._claim_due |= await self.dispatch() > 0
            if self._claim_due:
                self._claim_due = False
                await self._fill(client)
            await self._prune()
            # Woken meanwhile (a burst of events): go round again without asking when to wake.
            busy = events.is_set() or queued.is_set()
            timeout = 0.0 if busy else await self._idle_timeout()
            self._freed.clear()
            wakers = [asyncio.ensure_future(e.wait()) for e in (events, queued, stop, self._freed)]
            done, _ = await asyncio.wait(
                wakers, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for waker in wakers:
                waker.cancel()
            polled = not done  # the safety net: read and claim again anyway
            self._dispatch_due = polled or events.is_set()
            self._claim_due = polled or queued.is_set() or self._freed.is_set()
        except DatabaseUnavailable:
            log.warning("database unavailable; webhook sender %s backs off", self.id)
            self._dispatch_due = self._claim_due = True
            await asyncio.sleep(self.settings.poll_seconds)
        finally:
            self.notifier.unsubscribe(WEBHOOKS, queued)
            self.notifier.unsubscribe(self.settings.events_channel, events)

    async def _pace(self, stop: asyncio.Event) -> None:
        """Wait until `dispatch_gap_seconds` after the last read of new events (or the stop)."""
        wait = self._dispatched_at + self.settings.dispatch_gap_seconds - time.monotonic()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def dispatch(self) -> int:
        """Turn every new event into its deliveries (in batches, each its own transaction);
        the number of deliveries queued."""
        if self.source is None:
            return 0
        queued = 0
        while True:
            async with transaction(self.sessions) as session:
                batch = await webhook_dispatch.dispatch(session, self.source, events.events_by_id)
            queued += batch.queued
            if batch.read < webhook_dispatch.BATCH:
                return queued

    async def _prune(self) -> None:
        """Keep the delivery log to its retention (now and then; any sender may do it)."""
        if time.monotonic() - self._pruned_at < self.settings.prune_every_seconds:
            return
        self._pruned_at = time.monotonic()
        before = utcnow() - timedelta(seconds=self.settings.log_retention_seconds)
        async with transaction(self.sessions) as session:
            pruned = await queries.prune_log(session, before)
        if pruned:
            log.info("webhook log: %d ended deliveries older than the retention deleted", pruned)

    async def _fill(self, client: httpx.AsyncClient) -> None:
        while len(self._running) < self.settings.concurrency:
            async with transaction(self.sessions) as session:
                claimed = await queries.claim_next(session, self.id, utcnow(), self.settings.lease)
            if claimed is None:
                return
            task = asyncio.create_task(self._deliver(client, claimed))
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._freed.set()

    async def _idle_timeout(self) -> float:
        now = utcnow()
        async with transaction(self.sessions) as session:
            due = await queries.next_due(session, now)
        timeout = self.settings.poll_seconds
        if due is not None:
            timeout = min(timeout, max(0.0, (due - now).total_seconds()))
        return max(timeout, 0.005)

    async def _deliver(self, client: httpx.AsyncClient, first: Claimed) -> None:
        """Send `first`, then (while they succeed) the webhook's next due deliveries: each
        attempt's end and the next claim are one transaction."""
        claimed: Claimed | None = first
        for _ in range(self.settings.chain):
            if claimed is None:
                return
            current = claimed
            try:
                claimed = await self._finish(current, await self._attempt(client, current))
            except DatabaseUnavailable:
                log.warning("delivery %s: database lost; its lease will expire", current.id)
                return
            except Exception:
                log.exception("delivery %s: unexpected error", current.id)
                return
        if claimed is not None:  # claimed, not sent: give it back at once
            async with transaction(self.sessions) as session:
                await queries.release(session, claimed, self.id)

    async def _attempt(self, client: httpx.AsyncClient, claimed: Claimed) -> AttemptResult:
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._post(client, claimed)
            status_code = response.status_code
            if not is_success(status_code):
                error = f"HTTP {status_code}"
        except WebhookUrlRefused as exc:
            error = f"{exc.code}: {exc.message}"
        except httpx.TimeoutException:
            error = f"timeout: no answer within {self.settings.policy.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
        duration_ms = (time.perf_counter() - started) * 1000
        return AttemptResult(status_code, duration_ms, error, utcnow())

    async def _post(self, client: httpx.AsyncClient, claimed: Claimed) -> httpx.Response:
        checked = await check_url(claimed.url, allow_private=self.settings.allow_private)
        body = json.dumps(claimed.body, separators=(",", ":")).encode()
        url = httpx.URL(claimed.url)
        address = checked.addresses[0]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Host": url.netloc.decode("ascii"),
            SIGNATURE_HEADER: sign(claimed.secret, body),
            DELIVERY_ID_HEADER: str(claimed.id),
            EVENT_TYPE_HEADER: claimed.event_type,
        }
        if claimed.event_id is not None:
            headers[EVENT_ID_HEADER] = str(claimed.event_id)
        request = client.build_request(
            "POST",
            url.copy_with(host=address),
            content=body,
            headers=headers,
            extensions={"sni_hostname": checked.target.host},
        )
        response = await client.send(request, stream=True)  # the status is all we read
        await response.aclose()
        return response

    async def _finish(self, claimed: Claimed, result: AttemptResult) -> Claimed | None:
        """Write the attempt's end; after a success, claim the webhook's next due delivery."""
        status = DeliveryStatus.DELIVERED
        next_at = None
        if result.error is not None:
            delay = self.settings.policy.retry_delay(claimed.attempt, self._rng.random())
            status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
            next_at = None if delay is None else result.at + timedelta(seconds=delay)
        async with transaction(self.sessions) as session:
            kept = await queries.finish(
                session, claimed, self.id, result, status=status, next_attempt_at=next_at
            )
            if not kept:
                log.info("delivery %s: no longer ours (taken over or deleted)", claimed.id)
            else:
                seconds = result.duration_ms / 1000
                fact = DeliveryAttempted(claimed.event_type, status.value, seconds)
                publish_after_commit(session, fact)
            if not kept or result.error is not None:
                return None
            return await queries.claim_next(
                session, self.id, utcnow(), self.settings.lease, webhook_id=claimed.webhook_id
            )
