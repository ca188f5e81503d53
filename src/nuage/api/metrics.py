"""Prometheus metrics: what this process saw (counters and histograms fed by `domain/observers`)
and what the queue holds (gauges read from the database when scraped, see `services/queue_stats`).

Across processes: the queue's gauges come from the database, so any process answers for the whole
deployment. The counters live in the process that saw the fact. When `PROMETHEUS_MULTIPROC_DIR`
is set before the process starts (`nuage serve --workers N` sets it for its children), every
process writes them to files there and a scrape sums them (prometheus-client's multiprocess
mode); a `nuage worker` on the same machine with the same directory is summed too.
"""

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import REGISTRY, Collector

from nuage.domain.observers import DeliveryAttempted, Fact, RequestFinished, TaskTransition
from nuage.services.queue_stats import QueueStats

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_WAITS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)

REQUESTS = Counter("nuage_http_requests", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "nuage_http_request_duration_seconds",
    "Time to answer an HTTP request, to its last byte.",
    ["method", "route"],
    buckets=_FAST,
)
TASKS = Counter(
    "nuage_task_transitions",
    "Tasks that reached a status (pending: queued, retried, released or taken over).",
    ["type", "status"],
)
CLAIM_WAIT = Histogram(
    "nuage_task_claim_wait_seconds",
    "From when a task was due (run_after) to its claim by a worker.",
    ["type"],
    buckets=_WAITS,
)
RETRIES = Counter("nuage_task_retries", "Transient failures rescheduled.", ["type"])
TAKEOVERS = Counter(
    "nuage_task_lease_takeovers", "Running tasks requeued after their lease expired.", ["type"]
)
RELEASES = Counter(
    "nuage_task_releases", "Running tasks given back by a stopping worker.", ["type"]
)
DELIVERIES = Counter(
    "nuage_webhook_deliveries", "Webhook delivery attempts by outcome.", ["event_type", "outcome"]
)
DELIVERY_SECONDS = Histogram(
    "nuage_webhook_delivery_duration_seconds", "Time of a webhook delivery attempt.", buckets=_FAST
)
_BY_REASON = {"retry": RETRIES, "lease_expired": TAKEOVERS, "released": RELEASES}


@functools.cache
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """A request's counter and histogram: found once per method, route and status (a few
    dozen), where `labels` looks them up under a lock on every request."""
    return REQUESTS.labels(method, route, str(status)), REQUEST_SECONDS.labels(method, route)


def record(fact: Fact) -> None:
    """The observers' listener: one fact, one or two increments (no I/O, no lock of ours)."""
    if isinstance(fact, RequestFinished):
        answered, seconds = _request_series(fact.method, fact.route, fact.status)
        answered.inc()
        seconds.observe(fact.seconds)
    elif isinstance(fact, TaskTransition):
        TASKS.labels(fact.task_type, fact.after).inc()
        if fact.waited_seconds is not None:
            CLAIM_WAIT.labels(fact.task_type).observe(fact.waited_seconds)
        if by_reason := _BY_REASON.get(fact.reason):
            by_reason.labels(fact.task_type).inc()
    elif isinstance(fact, DeliveryAttempted):
        DELIVERIES.labels(fact.event_type, fact.outcome).inc()
        DELIVERY_SECONDS.observe(fact.seconds)


class _QueueCollector(Collector):
    """The queue as the database holds it at the scrape."""

    def __init__(self, stats: QueueStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        live = GaugeMetricFamily(
            "nuage_tasks_active", "Tasks pending or running now.", labels=["type", "status"]
        )
        for (task_type, status), count in sorted(self.stats.active.items()):
            live.add_metric([task_type, status], count)
        depth = GaugeMetricFamily(
            "nuage_queue_depth", "Pending tasks per location.", labels=["location"]
        )
        oldest = GaugeMetricFamily(
            "nuage_queue_oldest_pending_age_seconds",
            "Age of the oldest pending task per location (0: none pending).",
            labels=["location"],
        )
        for location, queue in sorted(self.stats.locations.items()):
            depth.add_metric([location], queue.pending)
            oldest.add_metric([location], queue.oldest_age_seconds)
        yield from (live, depth, oldest)


def exposition(stats: QueueStats) -> bytes:
    """The scrape's text: this process's (or, in multiprocess mode, all processes') counters,
    then the queue's gauges."""
    queue = CollectorRegistry(auto_describe=True)
    queue.register(_QueueCollector(stats))
    return _process_metrics() + generate_latest(queue)


def _process_metrics() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def prepare_multiprocess(directory: Path) -> None:
    """Before starting processes whose counters one scrape must sum: an empty `directory` (the
    files of an earlier run would be summed too), named in the environment they inherit. Call
    it before this process or its children import prometheus-client's values."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
