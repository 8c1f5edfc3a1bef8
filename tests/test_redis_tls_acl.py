"""``RedisStore`` over TLS (``rediss://user:password@127.0.0.1:port``) as an ACL user that
may run only the commands the store sends, on only its own keys.

The server (``redis_servers.start_tls_server``) listens on TLS only (``port 0``,
``tls-port N``) with a CA and server certificate made for the test, and has two users:
``default`` (the admin, for the checks) and ``ACL_LINE``'s user. Every flow the store has,
direct and over HTTP through Flask, runs as that user; then the test reads the server's
``ACL LOG`` (anything denied: the store needs a command the line does not grant) and its
``INFO commandstats`` (anything granted but never used: the line is wider than it must be).
"""

from __future__ import annotations

import datetime
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
import support
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis_servers import TLSServer, start_tls_server

import sessionlib

try:
    from coursekit import LiveServer
except ImportError:  # before the move to coursekit
    from sessionlib import LiveServer  # type: ignore[attr-defined,no-redef]

pytestmark = pytest.mark.slow

#: The commands RedisStore sends, all of them, found by running every flow with MONITOR
#: and INFO commandstats (redis-py 8.1, Redis 7.0): GETEX on a returning request, GET with
#: ``disable_touch``, SET ... EX to save, EXPIRE for ``touch``, DEL to destroy, SCAN for
#: ``ids``/``all``/``clear``/``length``, and ``merge``'s optimistic transaction: WATCH, GET,
#: MULTI, SET, EXEC, and UNWATCH when it finds the session gone. The connection's own
#: AUTH/HELLO need no grant. (On Redis 7.2 and later redis-py also sends CLIENT SETINFO
#: when it connects; add ``+client|setinfo`` there, or its refusal fills the ACL LOG.)
ACL_COMMANDS = (
    "get",
    "getex",
    "set",
    "del",
    "expire",
    "scan",
    "watch",
    "multi",
    "exec",
    "unwatch",
)
#: The ACL line for the sessions' Redis user, as a README can quote it: only the keys
#: under ``sess:``, no Pub/Sub channels, and only ``ACL_COMMANDS``.
ACL_LINE = (
    "user sessions on >{password} resetkeys ~sess:* resetchannels -@all "
    "+get +getex +set +del +expire +scan +watch +multi +exec +unwatch"
)
TEST_PREFIX = "acltest:"  # the test's own prefix, granted on top of ``sess:``
USER, PASSWORD = "sessions", "s3ssions-" + uuid.uuid4().hex


def test_the_acl_line_grants_exactly_the_listed_commands() -> None:
    granted = [part[1:] for part in ACL_LINE.split() if part.startswith("+")]
    assert sorted(granted) == sorted(ACL_COMMANDS)


@pytest.fixture(scope="session")
def tls_server() -> Iterator[TLSServer]:
    line = ACL_LINE.format(password=PASSWORD) + f" ~{TEST_PREFIX}*"
    server = start_tls_server([line])
    yield server
    server.stop()


@pytest.fixture
def admin(tls_server: TLSServer) -> Iterator[redis.Redis]:
    client = tls_server.admin()
    yield client
    for prefix in ("sess:", TEST_PREFIX):
        for key in client.scan_iter(match=prefix + "*", count=500):
            client.delete(key)
    client.close()


def user_client(tls_server: TLSServer, **kwargs: Any) -> redis.Redis:
    """The app's client: a ``rediss://`` URL with the user and password, and the CA."""
    options: dict[str, Any] = {
        "ssl_ca_certs": str(tls_server.ca_file),
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        "retry": Retry(NoBackoff(), 0),
    }
    options.update(kwargs)
    return redis.Redis.from_url(tls_server.url(USER, PASSWORD), **options)


def session_data(seconds: float = 60, **values: Any) -> dict[str, Any]:
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    cookie = {
        "originalMaxAge": int(seconds * 1000),
        "expires": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "httpOnly": True,
        "path": "/",
    }
    return {"cookie": cookie, **values}


def run_every_flow(tls_server: TLSServer) -> None:
    """Every store operation, directly and over HTTP (with and without ``merge``)."""
    client = user_client(tls_server)
    try:
        # Directly, under the test prefix.
        store = sessionlib.RedisStore(client, prefix=TEST_PREFIX)
        data = session_data(60, user="ada")
        store.set("one", data)
        assert store.get("one") == data
        store.touch("one", session_data(120, user="ada"))
        store.merge("one", session_data(60, user="ada", n=1), ["n"], [])
        store.merge("gone", session_data(60, n=1), ["n"], [])  # no session: nothing written
        store.set("two", session_data(60))
        assert store.length() == 2
        assert set(store.all()) == {"one", "two"}
        if hasattr(store, "ids"):
            assert sorted(store.ids()) == ["one", "two"]
        store.destroy("two")
        store.clear()
        assert store.length() == 0
        untouched = sessionlib.RedisStore(client, prefix=TEST_PREFIX, disable_touch=True)
        untouched.set("three", session_data(60))
        assert untouched.get("three") is not None
        untouched.destroy("three")

        # Over HTTP, under the real prefix (sess:), merge off and on.
        for merge in (False, True):
            app = support.login_app(sessionlib.RedisStore(client), merge=merge)
            server = LiveServer(app).start()
            try:
                with requests.Session() as browser:
                    login = browser.post(server.url + "/login", json={"user": "ada"}, timeout=5)
                    assert login.status_code == 200, login.text
                    assert (
                        browser.get(server.url + "/me", timeout=5).json()["data"]["user"] == "ada"
                    )
                    change = browser.post(server.url + "/set", json={"n": 1}, timeout=5)
                    assert change.status_code == 200, change.text
                    assert browser.get(server.url + "/me", timeout=5).json()["data"]["n"] == 1
                    assert browser.post(server.url + "/logout", timeout=5).status_code == 200
                    assert browser.get(server.url + "/me", timeout=5).json()["data"] == {}
            finally:
                server.stop()
    finally:
        client.close()


def test_every_flow_needs_only_the_granted_commands(
    tls_server: TLSServer, admin: redis.Redis
) -> None:
    admin.acl_log_reset()
    admin.config_resetstat()
    run_every_flow(tls_server)
    denied = [
        f"{entry['reason']} {entry['object']} ({entry['username']})" for entry in admin.acl_log()
    ]
    assert denied == [], f"the store needs more than ACL_LINE grants: {denied}"
    stats = admin.info("commandstats")
    used = {name.removeprefix("cmdstat_") for name in stats}
    used -= {"config|resetstat", "acl|log", "acl|log-reset", "info", "auth", "hello"}
    assert used == set(ACL_COMMANDS), (
        f"used but not listed: {sorted(used - set(ACL_COMMANDS))}; "
        f"listed but never used: {sorted(set(ACL_COMMANDS) - used)}"
    )


def test_the_user_reaches_only_session_keys(tls_server: TLSServer, admin: redis.Redis) -> None:
    admin.set("app:secret", "not for the sessions user", ex=60)
    with user_client(tls_server) as client:
        assert client.set("sess:abc", "{}", ex=60)
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.get("app:secret")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("app:other", "x")
        denied = (("SWAPDB", "0", "1"), ("KEYS", "*"), ("CONFIG", "GET", "*"), ("EVAL", "1", "0"))
        for command in denied:  # other keys, the server's settings, scripts: all refused
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)
    admin.delete("app:secret")


def test_tls_is_required_and_verified(tls_server: TLSServer) -> None:
    """No plaintext port, and a client that can't verify the server's certificate never
    talks to it: the store reports it unavailable (a 503), with nothing read or written."""
    plain = redis.Redis(
        host="127.0.0.1", port=tls_server.port, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    plain.close()

    # The system's CAs don't know the throwaway CA.
    unverified = user_client(tls_server, ssl_ca_certs=None)
    store = sessionlib.RedisStore(unverified, prefix=TEST_PREFIX)
    with pytest.raises(sessionlib.StoreUnavailable) as caught:
        store.get("anything")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
    assert "certificate" in str(caught.value).lower() or isinstance(
        caught.value.__cause__.__context__, ssl.SSLError
    )
    unverified.close()


def test_over_tls_over_http(tls_server: TLSServer, admin: redis.Redis) -> None:
    """The login flow through Flask, the session in Redis under ``sess:``, over TLS."""
    with user_client(tls_server) as client:
        server = LiveServer(support.login_app(sessionlib.RedisStore(client), merge=False)).start()
        try:
            with requests.Session() as browser:
                sid = browser.post(server.url + "/login", json={"user": "ada"}, timeout=5).json()[
                    "sid"
                ]
                assert admin.exists(f"sess:{sid}") == 1
                assert 55 <= admin.ttl(f"sess:{sid}") <= 60
                assert browser.get(server.url + "/me", timeout=5).json()["data"]["user"] == "ada"
                browser.post(server.url + "/logout", timeout=5)
                assert admin.exists(f"sess:{sid}") == 0
        finally:
            server.stop()
