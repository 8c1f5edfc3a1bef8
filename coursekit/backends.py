"""The Redis the course uses: a real server when ``REDIS_URL`` is set, else fakeredis."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["redis_client", "redis_kind", "redis_prefix"]


def redis_prefix() -> str:
    """The key prefix the lessons' RedisStores use: connect-redis's ``sess:``, or one of the
    test suite's own (``SESSIONLIB_REDIS_PREFIX``), so that a run touches only its keys."""
    return os.environ.get("SESSIONLIB_REDIS_PREFIX", "sess:")


def redis_kind() -> str:
    return (
        "real Redis at " + os.environ["REDIS_URL"] if os.environ.get("REDIS_URL") else "fakeredis"
    )


def redis_client(**options: Any) -> Any:
    """A ``redis.Redis`` on ``REDIS_URL``, or a ``fakeredis.FakeRedis`` (same API) without it.

    Each call to the fake one without ``server=`` shares one in-process server, so two
    Flask apps given two clients still see one Redis, as with a real server.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        return redis.Redis.from_url(url, **options)
    import fakeredis

    options.setdefault("server", _fake_server())
    return fakeredis.FakeRedis(**options)


_FAKE_SERVER: Any = None


def _fake_server() -> Any:
    global _FAKE_SERVER
    if _FAKE_SERVER is None:
        import fakeredis

        _FAKE_SERVER = fakeredis.FakeServer()
    return _FAKE_SERVER
