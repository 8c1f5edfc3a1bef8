"""The Redis commands a request costs, counted where the server sees them.

sessionlib's speed on Redis rests on these behaviours: a request that never uses the
session reaches no store; a returning, read-only request is one command (``GETEX``,
which reads and refreshes the TTL at once, or ``GET`` with ``disable_touch``); a
modifying one is two (``GETEX`` then ``SET ... EX``); an unmodified session is never
written unless ``resave``. Each test runs on fakeredis, and on a real redis-server when
``REDIS_URL`` is set (the ``redis_client`` fixture).

Counting: on fakeredis, every command its in-process server parses off the wire; on a
real server, ``MONITOR`` output for the client's database (each xdist worker has its own
database, so parallel tests do not mix in).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakeredis
import pytest
from fakeredis._socket._base import BaseFakeSocket
from flask import Flask, session

import sessionlib

pytestmark = pytest.mark.lesson7

MAX_AGE = 60


class CommandLog:
    """The commands the server executed inside a ``counting`` block, in order."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    @property
    def names(self) -> list[str]:
        return [command[0].upper() for command in self.commands]

    def __len__(self) -> int:
        return len(self.commands)

    def __repr__(self) -> str:
        return repr([" ".join(command) for command in self.commands])


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@contextmanager
def _counting_fake(client: fakeredis.FakeRedis, log: CommandLog) -> Iterator[None]:
    pool = client.connection_pool
    connection = pool.get_connection()  # also opens it, so its handshake is not counted
    server = connection._server
    pool.release(connection)
    original = BaseFakeSocket._process_command

    def process(sock: Any, fields: list[bytes]) -> None:
        if fields and sock._server is server:
            log.commands.append([_text(field) for field in fields])
        return original(sock, fields)

    BaseFakeSocket._process_command = process  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseFakeSocket._process_command = original  # type: ignore[method-assign]


@contextmanager
def _counting_real(client: Any, log: CommandLog, prefix: str) -> Iterator[None]:
    """MONITOR sees every client of the server (other tests and xdist workers included):
    keep what came over this client's connection or names one of this test's keys."""

    def drain(monitor: Any, token: str) -> tuple[list[dict[str, Any]], str]:
        seen = []
        while True:
            entry = monitor.next_command()
            if entry["command"] == f"ECHO {token}":
                return seen, entry["client_port"]
            seen.append(entry)

    with client.monitor() as monitor:
        start = uuid.uuid4().hex
        client.echo(start)  # opens (and so warms) the connection the request will use
        _, port = drain(monitor, start)
        yield
        end = uuid.uuid4().hex
        client.echo(end)
        entries, _ = drain(monitor, end)
    for entry in entries:
        words = entry["command"].split(" ")
        if entry["client_port"] == port or any(w.startswith(prefix) for w in words[1:]):
            log.commands.append(words)


@contextmanager
def counting(client: Any, prefix: str) -> Iterator[CommandLog]:
    """Record the commands the server behind ``client`` executes inside the block."""
    log = CommandLog()
    if isinstance(client, fakeredis.FakeRedis):
        with _counting_fake(client, log):
            yield log
    else:
        with _counting_real(client, log, prefix):
            yield log


def make_app(client: Any, prefix: str, *, disable_touch: bool = False, **options: Any) -> Flask:
    """An app whose sessions live under the test's key prefix (``app.config["PREFIX"]``)."""
    app = Flask(__name__)
    app.config["PREFIX"] = prefix
    options.setdefault("cookie", {"max_age": MAX_AGE})
    store = sessionlib.RedisStore(client, prefix=prefix, disable_touch=disable_touch)
    sessionlib.SessionManager(app, secret="keyboard cat", name="sid", store=store, **options)

    @app.get("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/read")
    def read() -> str:
        return str(session.get("n", 0))

    @app.get("/noop")
    def noop() -> str:
        return "ok"

    return app


def assert_expires_in_max_age(command: list[str]) -> None:
    """``SET key value EX n`` with n the cookie's max-age (rounded up, so maybe one more)."""
    assert command[-2].upper() == "EX", command
    assert MAX_AGE <= int(command[-1]) <= MAX_AGE + 1, command


def returning_client(app: Flask) -> Any:
    """A test client holding the cookie of a stored session with ``n == 1``."""
    client = app.test_client()
    assert client.get("/count").text == "1"
    assert client.get_cookie("sid") is not None
    return client


def test_a_request_without_cookie_that_ignores_the_session_sends_no_command(
    redis_client, key_prefix
):
    app = make_app(redis_client, key_prefix)
    with counting(redis_client, app.config["PREFIX"]) as log:
        response = app.test_client().get("/noop")
    assert response.status_code == 200
    assert len(log) == 0, log
    assert "Set-Cookie" not in response.headers


def test_a_returning_request_that_ignores_the_session_sends_no_command(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert browser.get("/noop").status_code == 200
    assert len(log) == 0, log


def test_a_first_modifying_request_sends_one_set_with_ex(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert app.test_client().get("/count").text == "1"
    assert log.names == ["SET"], log
    assert_expires_in_max_age(log.commands[0])


@pytest.mark.parametrize("rolling", [False, True], ids=["rolling-off", "rolling-on"])
def test_a_read_only_request_sends_exactly_one_getex_with_the_cookie_max_age(
    redis_client, key_prefix, rolling
):
    app = make_app(redis_client, key_prefix, rolling=rolling)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        response = browser.get("/read")
    assert response.text == "1", log
    assert log.names == ["GETEX"], log
    assert log.commands[0][2:] == ["EX", str(MAX_AGE)]
    assert ("Set-Cookie" in response.headers) is rolling


def test_a_read_only_request_refreshes_the_ttl_without_a_write(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix)
    browser = returning_client(app)
    (key,) = list(redis_client.scan_iter(app.config["PREFIX"] + "*"))
    redis_client.expire(key, 5)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert browser.get("/read").text == "1"
    assert log.names == ["GETEX"], log
    assert MAX_AGE - 2 <= redis_client.ttl(key) <= MAX_AGE


def test_a_read_only_request_with_disable_touch_sends_exactly_one_get(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix, disable_touch=True)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert browser.get("/read").text == "1"
    assert log.names == ["GET"], log


def test_a_modifying_request_sends_getex_then_set_with_ex(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert browser.get("/count").text == "2"
    assert log.names == ["GETEX", "SET"], log
    getex, set_ = log.commands
    assert getex[1] == set_[1]  # the same key
    assert_expires_in_max_age(set_)


@pytest.mark.parametrize("rolling", [False, True], ids=["rolling-off", "rolling-on"])
def test_an_unmodified_session_is_never_written(redis_client, key_prefix, rolling):
    app = make_app(redis_client, key_prefix, rolling=rolling)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        for _ in range(3):
            assert browser.get("/read").text == "1"
            assert browser.get("/noop").status_code == 200
    # rolling re-sends the cookie of every request that carries one, so it loads (one
    # GETEX) even where the handler ignores the session; still nothing is written.
    assert log.names == ["GETEX"] * (6 if rolling else 3), log


def test_resave_writes_an_unmodified_session(redis_client, key_prefix):
    app = make_app(redis_client, key_prefix, resave=True)
    browser = returning_client(app)
    with counting(redis_client, app.config["PREFIX"]) as log:
        assert browser.get("/read").text == "1"
    assert log.names == ["GETEX", "SET"], log
