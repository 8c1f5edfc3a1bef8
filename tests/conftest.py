"""Shared fixtures: live servers, cookie jars and Redis clients (fake always, real when
``REDIS_URL`` is set); and ``--impl mine``, which runs the tests on the learner's own
package (``notebooks/my_sessionlib``) instead of ``sessionlib``.

``sessionlib`` and ``coursekit`` are imported inside the fixtures, never at the top of
this file: with ``--impl mine`` the name ``sessionlib`` must mean the learner's package
before anything imports it.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis
from flask import Flask

REDIS_URL = os.environ.get("REDIS_URL")
ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        choices=["reference", "mine"],
        default="reference",
        help="mine: test your own package (with -m lessonN: that lesson's pieces must be "
        "yours; unfinished pieces of other lessons are taken from the reference)",
    )
    parser.addoption(
        "--mine",
        default=str(ROOT / "notebooks" / "my_sessionlib"),
        help="where your package is (default: notebooks/my_sessionlib)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--impl") != "mine":
        return
    sys.path.insert(0, str(ROOT))
    from coursekit import package

    mine = Path(config.getoption("--mine"))
    if not (mine / "__init__.py").exists():
        raise pytest.UsageError(f"no package at {mine}: run a lesson's setup cell first")
    lessons = {int(n) for n in re.findall(r"lesson(\d+)", config.getoption("-m") or "")}
    package.load_package(package.with_reference(mine, keep=lessons), name="sessionlib")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--impl") == "mine":  # the notebooks run on their own kernels
        skip = pytest.mark.skip(reason="--impl mine tests the package, not the notebooks")
        for item in items:
            if "notebooks" in item.keywords:
                item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    import sessionlib

    return f"sessionlib under test: {Path(sessionlib.__file__).parent}"


# Every key a test writes on a real server begins with its own prefix, deleted when the
# test ends: the suite never empties a database, and workers never meet, however many.
_RUN = os.environ.get("SESSIONLIB_TEST_RUN") or secrets.token_hex(4)
_TESTS = itertools.count()


def glob_escape(text: str) -> str:
    """``text`` as a SCAN MATCH pattern that matches it literally."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (of this run or any other) uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"sessionlib-tests:{_RUN}:{worker}:{next(_TESTS)}:"


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def real_redis(redis_prefix: str) -> Iterator[redis.Redis]:
    """A client for the server at ``REDIS_URL``; the test writes only under ``redis_prefix``,
    and those keys are deleted afterwards."""
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: no real redis-server to test against")
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    keys = list(client.scan_iter(match=glob_escape(redis_prefix) + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["fakeredis", "real-redis"])
def redis_client(request: pytest.FixtureRequest) -> Any:
    """A Redis client: fakeredis, then the real server when ``REDIS_URL`` is set."""
    name = "fake_redis" if request.param == "fakeredis" else "real_redis"
    return request.getfixturevalue(name)


@pytest.fixture
def key_prefix(redis_client: Any, redis_prefix: str) -> str:
    """The prefix for a test's ``RedisStore``: connect-redis's ``sess:`` on a fakeredis of
    the test's own, one under ``redis_prefix`` on a real server."""
    return "sess:" if isinstance(redis_client, fakeredis.FakeRedis) else redis_prefix + "sess:"


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest) -> Any:
    """Each store the library ships (RedisStore on fakeredis)."""
    import sessionlib

    if request.param == "memory":
        return sessionlib.MemoryStore()
    return sessionlib.RedisStore(fakeredis.FakeRedis())


@pytest.fixture(params=["memory", "fakeredis", "real-redis"])
def every_store(request: pytest.FixtureRequest) -> Any:
    """MemoryStore, RedisStore on fakeredis, RedisStore on a real server (``REDIS_URL``)."""
    import sessionlib

    if request.param == "memory":
        return sessionlib.MemoryStore()
    if request.param == "fakeredis":
        return sessionlib.RedisStore(request.getfixturevalue("fake_redis"))
    client = request.getfixturevalue("real_redis")
    return sessionlib.RedisStore(client, prefix=request.getfixturevalue("redis_prefix") + "sess:")


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], Any]]:
    """Start a ``LiveServer`` for an app; every server started is stopped after the test."""
    import coursekit

    started: list[coursekit.LiveServer] = []

    def start(app: Flask) -> coursekit.LiveServer:
        server = coursekit.LiveServer(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
