"""Rate limits as token buckets: pure arithmetic, no clock and no storage of its own.

A `Policy` is one or two `Band`s, each a bucket of `capacity` tokens that refills at
`capacity / per_seconds` tokens a second; a request spends one token of every band, so it is
admitted only when each band holds one. The API's default policy is the seed's: 1000 a minute,
bursts of 100 a second (bands `1000/60 s` and `100/1 s`).

`take` moves a bucket from one moment to another and hands out up to `want` tokens: the
in-process limiter asks for one per request; the shared limiter (PostgreSQL) asks for a small
batch, so that a process serves several requests per write. A batch is at most `fraction` of
what the bucket holds (at least one token), so that processes asking at once leave each other
some, and a bucket near empty is spent one token at a time. `db/rate_limits.py` runs the same
formula in SQL.

`Quota` is what the `RateLimit-*` headers say: following draft-ietf-httpapi-ratelimit-headers,
the band closest to exhaustion (fewest tokens left), its capacity, what is left, and the seconds
until it is full again.
"""

import math
from dataclasses import dataclass

# The second band of a one-band policy: never the one that refuses.
UNLIMITED_CAPACITY = 1e12


@dataclass(frozen=True, slots=True)
class Band:
    capacity: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.per_seconds <= 0:
            raise ValueError("a band needs a capacity of at least 1 and a positive period")

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.capacity / self.per_seconds


UNLIMITED = Band(int(UNLIMITED_CAPACITY), 1.0)


@dataclass(frozen=True, slots=True)
class Policy:
    bands: tuple[Band, Band]

    @classmethod
    def of(cls, first: Band, second: Band | None = None) -> "Policy":
        return cls((first, second or UNLIMITED))

    @property
    def header(self) -> str:
        """The `RateLimit-Policy` value: `1000;w=60, 100;w=1`."""
        return ", ".join(
            f"{b.capacity};w={b.per_seconds:g}" for b in self.bands if b is not UNLIMITED
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: tuple[float, float]
    at: float  # seconds, on the clock of whoever keeps the bucket

    @classmethod
    def full(cls, policy: Policy, at: float) -> "Bucket":
        first, second = policy.bands
        return cls((float(first.capacity), float(second.capacity)), at)

    def refilled(self, policy: Policy, now: float) -> "Bucket":
        elapsed = max(0.0, now - self.at)
        tokens = tuple(
            min(float(band.capacity), held + elapsed * band.rate)
            for band, held in zip(policy.bands, self.tokens, strict=True)
        )
        return Bucket((tokens[0], tokens[1]), max(now, self.at))


def batch_size(available: float, *, want: int, fraction: float) -> int:
    """How many tokens one taker gets from a bucket holding `available` (whole tokens only)."""
    whole = math.floor(available)
    if whole < 1:
        return 0
    return min(want, whole, max(1, math.floor(whole * fraction)))


def take(
    bucket: Bucket, policy: Policy, now: float, *, want: int = 1, fraction: float = 1.0
) -> tuple[int, Bucket]:
    """(tokens granted, the bucket after): every band gives up the same number of tokens."""
    current = bucket.refilled(policy, now)
    granted = batch_size(min(current.tokens), want=want, fraction=fraction)
    left = (current.tokens[0] - granted, current.tokens[1] - granted)
    return granted, Bucket(left, current.at)


def wait_seconds(policy: Policy, tokens: tuple[float, float]) -> float:
    """Seconds until every band holds one whole token again."""
    return max(
        0.0, *((1.0 - held) / band.rate for band, held in zip(policy.bands, tokens, strict=True))
    )


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_seconds: int

    @classmethod
    def of(cls, policy: Policy, tokens: tuple[float, float]) -> "Quota":
        """The band closest to exhaustion, as the `RateLimit-*` headers show it."""
        held, band = min(zip(tokens, policy.bands, strict=True), key=lambda pair: pair[0])
        remaining = max(0, math.floor(held))
        reset = math.ceil(max(0.0, band.capacity - held) / band.rate)
        return cls(limit=band.capacity, remaining=remaining, reset_seconds=reset)
