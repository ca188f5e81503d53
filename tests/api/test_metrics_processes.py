"""Counters from several processes, one scrape: with the multiprocess directory prepared as
`nuage serve --workers N` and `nuage worker` share it, each process writes its own files and
any process's /metrics sums them (prometheus-client's multiprocess mode)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nuage.api import metrics

SRC = Path(__file__).resolve().parents[2] / "src"
RECORD = """
from uuid import uuid4
from nuage.api import metrics
from nuage.domain import observers
observers.subscribe(metrics.record)
observers.publish(observers.TaskTransition(uuid4(), "create_vps", "running", "completed"))
observers.publish(observers.RequestFinished("GET", "/healthz", 200, 0.01))
"""
SCRAPE = """
import sys
from nuage.api import metrics
from nuage.services.queue_stats import QueueStats
sys.stdout.write(metrics.exposition(QueueStats()).decode())
"""


def run(code: str, directory: Path) -> str:
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory), "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=120
    )
    return done.stdout.decode()


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.slow
def test_a_scrape_sums_the_counters_of_every_process(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_stale.db").write_bytes(b"")  # an earlier run's file
    saved = os.environ.get(metrics.MULTIPROC_ENV)
    try:
        metrics.prepare_multiprocess(directory)
        assert os.environ[metrics.MULTIPROC_ENV] == str(directory)
    finally:
        if saved is None:
            os.environ.pop(metrics.MULTIPROC_ENV, None)
        else:
            os.environ[metrics.MULTIPROC_ENV] = saved
    assert list(directory.iterdir()) == []  # prepared empty
    run(RECORD, directory)
    run(RECORD, directory)
    text = run(SCRAPE, directory)
    labels = {"type": "create_vps", "status": "completed"}
    assert total(text, "nuage_task_transitions_total", **labels) == 2
    assert total(text, "nuage_http_requests_total", route="/healthz", status="200") == 2
    assert total(text, "nuage_http_request_duration_seconds_count", route="/healthz") == 2
