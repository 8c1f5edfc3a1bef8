"""Shared fixtures: live servers, cookie jars and Redis clients (fake always, real when
``REDIS_URL`` is set)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import fakeredis
import pytest
import redis
from flask import Flask

import coursekit
import sessionlib

REDIS_URL = os.environ.get("REDIS_URL")


def _worker_db() -> int:
    """Each xdist worker gets its own Redis database (db 0 is left to the notebooks)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 1 + int(worker.removeprefix("gw") or 0) % 15


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def real_redis() -> Iterator[redis.Redis]:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: no real redis-server to test against")
    # The URL's own database would win over db=, so put the worker's into the URL.
    client = redis.Redis.from_url(urlparse(REDIS_URL)._replace(path=f"/{_worker_db()}").geturl())
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(params=["fakeredis", "real-redis"])
def redis_client(request: pytest.FixtureRequest) -> Any:
    """A Redis client: fakeredis, then the real server when ``REDIS_URL`` is set."""
    name = "fake_redis" if request.param == "fakeredis" else "real_redis"
    return request.getfixturevalue(name)


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest) -> sessionlib.Store:
    """Each store the library ships (RedisStore on fakeredis)."""
    if request.param == "memory":
        return sessionlib.MemoryStore()
    return sessionlib.RedisStore(fakeredis.FakeRedis())


@pytest.fixture(params=["memory", "fakeredis", "real-redis"])
def every_store(request: pytest.FixtureRequest) -> sessionlib.Store:
    """MemoryStore, RedisStore on fakeredis, RedisStore on a real server (``REDIS_URL``)."""
    if request.param == "memory":
        return sessionlib.MemoryStore()
    client = request.getfixturevalue("fake_redis" if request.param == "fakeredis" else "real_redis")
    return sessionlib.RedisStore(client)


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], coursekit.LiveServer]]:
    """Start a ``LiveServer`` for an app; every server started is stopped after the test."""
    started: list[coursekit.LiveServer] = []

    def start(app: Flask) -> coursekit.LiveServer:
        server = coursekit.LiveServer(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
