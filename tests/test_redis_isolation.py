"""The test suite may be pointed at someone's working Redis: it must leave that Redis's
data alone. With other data in databases 0 to 15 (keys of another app, and sessions of
another app under connect-redis's own ``sess:`` prefix), the Redis-heavy tests run in a
child pytest against the same server, on many workers; afterwards every key, value and
TTL is as it was, and none of the tests' keys is left behind."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = pytest.mark.slow


def _snapshot(client: redis.Redis, keys: list[str]) -> dict[str, tuple[bytes | None, int]]:
    return {key: (client.get(key), client.ttl(key)) for key in keys}


def test_the_suite_leaves_other_data_in_every_database_alone() -> None:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: no real redis-server to check against")
    mark = secrets.token_hex(4)
    seeded: dict[int, list[str]] = {}
    clients = {db: redis.Redis.from_url(REDIS_URL, db=db) for db in range(16)}
    try:
        for db, client in clients.items():
            keys = [f"someone-else:{mark}:queue", f"sess:someone-else-{mark}"]
            client.set(keys[0], f"job {db}")
            client.set(keys[1], '{"cookie":{"originalMaxAge":null},"user":"theirs"}', ex=3600)
            seeded[db] = keys
        before = {db: _snapshot(clients[db], keys) for db, keys in seeded.items()}
        started = time.monotonic()
        default_db = redis.Redis.from_url(REDIS_URL)
        child = f"isolation-{mark}"  # the child run's keys are sessionlib-tests:{child}:...

        tests = ["tests/test_stores.py", "tests/test_redis_commands.py"]
        tests += ["tests/test_flask_integration.py", "tests/test_concurrency.py"]
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "4", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            env={**os.environ, "SESSIONLIB_TEST_RUN": child},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        assert "passed" in run.stdout

        after = {db: _snapshot(clients[db], keys) for db, keys in seeded.items()}
        waited = time.monotonic() - started + 2
        for db in seeded:
            for key, (value, ttl) in before[db].items():
                now_value, now_ttl = after[db][key]
                assert now_value == value, (db, key)
                assert (now_ttl == -1) if ttl == -1 else (ttl - waited <= now_ttl <= ttl), (db, key)
        left = list(default_db.scan_iter(match=f"sessionlib-tests:{child}:*"))
        assert not left, f"tests left keys behind: {sorted(left)[:5]}"
    finally:
        for db, keys in seeded.items():
            clients[db].delete(*keys)
        for client in clients.values():
            client.close()
