"""Token buckets without a clock: the seed's 1000 a minute with bursts of 100 a second."""

from nuage.domain.rate_limits import Band, Bucket, Policy, Quota, batch_size, take, wait_seconds

SEED = Policy.of(Band(1000, 60.0), Band(100, 1.0))


def spend(policy: Policy, times: list[float]) -> int:
    bucket, admitted = Bucket.full(policy, times[0]), 0
    for now in times:
        granted, bucket = take(bucket, policy, now)
        admitted += granted
    return admitted


def test_a_burst_is_cut_at_100_within_a_second() -> None:
    assert spend(SEED, [0.0] * 150) == 100


def test_a_minute_of_hammering_admits_the_minute_quota_and_its_refill() -> None:
    # 200 requests a second for 60 s: bursts of 100/s until the 1000 are spent, then 1000/60 s.
    times = [i / 200 for i in range(200 * 60)]

    admitted = spend(SEED, times)

    assert 1000 + 1000 * (60 - 10) / 60 * 0.95 < admitted <= 1000 + 1000


def test_a_client_under_the_limit_is_never_refused() -> None:
    times = [i / 16 for i in range(16 * 120)]  # 16 a second < 1000 a minute
    assert spend(SEED, times) == len(times)


def test_batches_take_a_share_and_one_token_near_the_end() -> None:
    assert batch_size(100, want=10, fraction=0.25) == 10
    assert batch_size(8, want=10, fraction=0.25) == 2
    assert batch_size(1.5, want=10, fraction=0.25) == 1
    assert batch_size(0.9, want=10, fraction=0.25) == 0


def test_refused_callers_are_told_when_a_token_comes_back() -> None:
    policy = Policy.of(Band(10, 60.0))
    granted, bucket = take(Bucket((0.0, 5.0), 0.0), policy, 0.0)

    assert granted == 0
    assert wait_seconds(policy, bucket.tokens) == 6.0


def test_headers_show_the_band_closest_to_exhaustion() -> None:
    assert Quota.of(SEED, (990.0, 40.5)) == Quota(limit=100, remaining=40, reset_seconds=1)
    assert Quota.of(SEED, (30.0, 99.0)) == Quota(limit=1000, remaining=30, reset_seconds=59)
    assert SEED.header == "1000;w=60, 100;w=1"
