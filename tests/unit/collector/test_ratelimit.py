from collector.config import RateLimit
from collector.cors import OriginPolicy
from collector.ratelimit import TokenBuckets, retry_after


def test_token_bucket_allows_burst_then_refills() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateLimit(per_second=2, burst=3), clock=lambda: now[0])
    assert [buckets.take("k") for _ in range(3)] == [0, 0, 0]
    wait = buckets.take("k")
    assert 0 < wait <= 0.5 and retry_after(wait) == "1"
    assert buckets.take("other") == 0  # buckets are per name
    now[0] += 0.5
    assert buckets.take("k") == 0


def test_zero_rate_disables() -> None:
    buckets = TokenBuckets(RateLimit(0, 1))
    assert all(buckets.take("k") == 0 for _ in range(100))


def test_origin_policy_per_key() -> None:
    policy = OriginPolicy({"k1": ["https://acme.test"], "k2": ["*"]})
    assert policy.allows("k1", "https://acme.test")
    assert not policy.allows("k1", "https://evil.test")
    assert policy.allows("k2", "https://evil.test")
    assert policy.allows("unlisted", "https://anything.test")
