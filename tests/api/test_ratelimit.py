"""The per-key request rate limit: a token bucket per API key, 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

import trio

from api.ratelimit import KeyRateLimiter
from tests.harness import open_stack


async def test_bucket_refills_at_its_rate_and_keys_do_not_share(autojump_clock: object) -> None:
    limiter = KeyRateLimiter(rate_per_s=2.0, burst=3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait_s = limiter.take("a")
    assert 0.49 < wait_s <= 0.5
    assert limiter.retry_after_s(wait_s) == 1
    assert limiter.take("b") == 0.0, "another key has its own bucket"
    await trio.sleep(0.5)
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    await trio.sleep(60)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0], "refills up to the burst only"
    assert limiter.take("a") > 0


async def test_memory_stays_bounded_whatever_keys_clients_invent(autojump_clock: object) -> None:
    limiter = KeyRateLimiter(rate_per_s=10.0, burst=5, max_keys=100)
    for n in range(1000):
        limiter.take(f"k{n}")
        await trio.sleep(0.01)
    assert len(limiter) <= 101


async def test_api_answers_429_with_retry_after_past_the_burst(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(
            tmp_path, SMSGW_HTTP_RATE_LIMIT_PER_S="0.5", SMSGW_HTTP_RATE_LIMIT_BURST="3"
        ) as stack:
            _, key = await stack.new_account()
            _, other = await stack.new_account()
            codes = []
            for _ in range(4):
                r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                codes.append(r.status_code)
            assert codes == [200, 200, 200, 429]
            assert r.json()["erreur"]["code"] == "TROP_DE_REQUETES"
            assert r.headers["Retry-After"] == "2"
            r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": other})
            assert r.status_code == 200, "another key is not slowed down"
            r = await stack.client.get("/api/V1/sante")
            assert r.status_code in (200, 503), "unkeyed routes are not limited per key"
