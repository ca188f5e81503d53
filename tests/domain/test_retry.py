"""The retry policy: which errors are retried, and how long the engine waits before each retry."""

import itertools
import random

import pytest

from nuage.domain.errors import (
    InvalidInstanceState,
    PermanentError,
    TaskCancelled,
    TaskError,
    TransientError,
)
from nuage.domain.retry import BackoffPolicy, backoff_delay, decide

POLICY = BackoffPolicy(base_seconds=2.0, cap_seconds=60.0)


def full_delay(policy: BackoffPolicy, n: int) -> float:
    return min(policy.cap_seconds, policy.base_seconds * 2**n)


@pytest.mark.parametrize(
    "error",
    [PermanentError(), InvalidInstanceState(), TaskCancelled(), TaskError()],
    ids=lambda e: type(e).__name__,
)
def test_permanent_errors_are_not_retried(error: TaskError) -> None:
    assert not error.retryable
    assert decide(error, retry_count=0, max_retries=10, policy=POLICY) is None


def test_transient_errors_are_retried_while_retries_remain() -> None:
    error = TransientError(code="sim_transient_fault")
    for n in range(3):
        assert decide(error, retry_count=n, max_retries=3, policy=POLICY) is not None
    assert decide(error, retry_count=3, max_retries=3, policy=POLICY) is None
    assert decide(error, retry_count=4, max_retries=3, policy=POLICY) is None


def test_no_retries_when_max_retries_is_zero() -> None:
    assert decide(TransientError(), retry_count=0, max_retries=0, policy=POLICY) is None


@pytest.mark.parametrize("n", range(8))
def test_delay_is_within_half_and_all_of_the_exponential_step(n: int) -> None:
    d = full_delay(POLICY, n)
    rng = random.Random(n)
    for _ in range(200):
        decision = decide(TransientError(), retry_count=n, max_retries=100, policy=POLICY, rng=rng)
        assert decision is not None
        assert d / 2 <= decision.delay_seconds <= d


def test_delay_bounds_are_reached_at_the_ends_of_the_jitter() -> None:
    assert backoff_delay(POLICY, 0, 0.0) == 1.0
    assert backoff_delay(POLICY, 0, 1.0) == 2.0
    assert backoff_delay(POLICY, 3, 0.5) == pytest.approx(12.0)


def test_delays_grow_exponentially() -> None:
    for unit in (0.0, 0.3, 0.99):
        delays = [backoff_delay(POLICY, n, unit) for n in range(5)]
        assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(delays))
    # With jitter, the n+1-th wait is never shorter than the n-th: its floor is the n-th ceiling.
    for n in range(4):
        assert backoff_delay(POLICY, n + 1, 0.0) >= backoff_delay(POLICY, n, 1.0)


def test_delays_are_capped() -> None:
    for n in range(5, 40):
        assert backoff_delay(POLICY, n, 0.0) == POLICY.cap_seconds / 2
        assert backoff_delay(POLICY, n, 1.0) == POLICY.cap_seconds
    huge = decide(TransientError(), retry_count=1000, max_retries=2000, policy=POLICY)
    assert huge is not None and huge.delay_seconds <= POLICY.cap_seconds


def test_deterministic_with_a_seeded_random() -> None:
    def run(seed: int) -> list[float]:
        rng = random.Random(seed)
        out = []
        for n in range(6):
            decision = decide(
                TransientError(), retry_count=n, max_retries=9, policy=POLICY, rng=rng
            )
            assert decision is not None
            out.append(decision.delay_seconds)
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_default_policy() -> None:
    policy = BackoffPolicy()
    assert (policy.base_seconds, policy.cap_seconds) == (2.0, 300.0)
