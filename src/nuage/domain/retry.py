"""Retry policy: a pure function of the error and the attempt, tested without clock or database."""

import random
from dataclasses import dataclass

from nuage.domain.errors import TaskError


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class RetryDecision:
    delay_seconds: float


def backoff_delay(policy: BackoffPolicy, retry_count: int, unit: float) -> float:
    """Exponential backoff with "equal jitter".

    delay = d/2 + unit * d/2, where d = min(cap, base * 2**retry_count) and unit ∈ [0, 1).
    So the n-th retry (retry_count = n-1) waits between half and all of base·2^(n-1), capped.
    """
    full = min(policy.cap_seconds, policy.base_seconds * 2.0**retry_count)
    return full / 2 + unit * full / 2


def decide(
    error: TaskError,
    *,
    retry_count: int,
    max_retries: int,
    policy: BackoffPolicy,
    rng: random.Random | None = None,
) -> RetryDecision | None:
    """Retry a retryable error while `retry_count < max_retries`; None means the task fails now."""
    if not error.retryable or retry_count >= max_retries:
        return None
    unit = rng.random() if rng is not None else random.random()
    return RetryDecision(delay_seconds=backoff_delay(policy, retry_count, unit))
