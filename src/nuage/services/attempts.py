"""Login and token refresh attempts, limited per account and per source address (brute force).

Every attempt counts, good or bad: an account's owner logs in a few times a day, an attacker
thousands of times. The address is checked first, so that one address trying many accounts does
not spend the accounts' own attempts. A refused attempt is a `Throttled` (429) before any
password is checked, so it tells nothing about the password.
"""

import hashlib
from dataclasses import dataclass

from nuage.domain.errors import Throttled
from nuage.domain.rate_limits import Band, Policy
from nuage.services.rate_limits import Limiter


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    per_account: Policy
    per_address: Policy

    @classmethod
    def of(cls, *, per_account: int, per_address: int, window_seconds: float) -> "AttemptPolicy":
        return cls(
            Policy.of(Band(per_account, window_seconds)),
            Policy.of(Band(per_address, window_seconds)),
        )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


async def attempt(
    limiter: Limiter, policy: AttemptPolicy, *, action: str, account: str, address: str
) -> None:
    """Spend one attempt of `account` (an email, a user id) from `address`, or raise Throttled."""
    for key, limit in (
        (f"{action}:addr:{address}", policy.per_address),
        (f"{action}:account:{_digest(account)}", policy.per_account),
    ):
        verdict = await limiter.acquire(key, limit)
        if not verdict.admitted:
            raise Throttled(verdict.retry_after)
