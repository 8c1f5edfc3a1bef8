"""Lesson 7, Redis: the lesson's app, tables of what Redis holds, the experiments' helpers,
and the exercises' checks, hints and quiz.

The library checks run the learner's ``RedisStore`` against a fakeredis server of their
own that records every command it is sent, so that a check can say "one GETEX, with
EX 3600" and not only "the session came back".
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import fakeredis
import flask
import requests
from flask import Flask, request
from redis.exceptions import ResponseError

from ..exercises import exercise, judged, question
from ..table import Table, shorten
from .lesson06 import COOKIE, Lanes, browser, id_of

__all__ = ["Lanes", "browser", "make_app"]

SECRET = "lesson 07: not a real secret"
session: Any = flask.session  # typed loosely: sessionlib's session has rotate(), cookie...


# -- the app ----------------------------------------------------------------------------------


def sessions_down(error: Exception) -> tuple[str, int]:
    return "sessions are unavailable, please try again soon", 503


def make_app(
    lib: Any,
    store: Any,
    *,
    name: str = "main",
    on_outage: Callable[[Exception], Any] = sessions_down,
    **options: Any,
) -> Flask:
    """The lesson's app on ``lib``. The store is an argument: no route ever mentions it.
    ``on_outage`` answers ``StoreUnavailable`` (Redis down)."""
    app = Flask(f"lesson07-{name}")
    lib.SessionManager(app, secret=SECRET, store=store, cookie={"max_age": 3600}, **options)

    @app.post("/login")
    def login():  # a real app checks the password first
        session.rotate()  # lesson 6: a new id at login
        session["user"] = request.form["user"]
        return f"{name}: hello {session['user']}"

    @app.get("/me")
    def me():
        return f"{name}: {session.get('user', 'anonymous')}"

    @app.post("/count")
    def count():
        session["count"] = session.get("count", 0) + 1
        return f"{name}: count {session['count']}"

    @app.post("/remember-me")
    def remember_me():
        session.cookie.max_age = 30 * 24 * 3600  # this session only: 30 days
        return f"{name}: remembered for 30 days"

    @app.post("/slow-set")
    def slow_set():
        """A slow request: load the session, work a while, then change one key."""
        session.get("user")  # the session is loaded here, at the start
        time.sleep(float(request.args["seconds"]))
        session[request.args["key"]] = request.args["value"]
        return f"{name}: set {request.args['key']}"

    @app.get("/health")
    def health():
        return f"{name}: ok"  # never touches the session

    app.register_error_handler(lib.StoreUnavailable, on_outage)
    return app


def unreachable_redis() -> Any:
    """A client for a loopback port where nothing listens: it fails at once, no retries."""
    import socket

    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    with socket.socket() as probe:  # the OS hands out a free port, and takes it back
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=0.2,
        socket_connect_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )


# -- what Redis holds -------------------------------------------------------------------------


def run_commands(client: Any, commands: list[tuple[Any, ...]]) -> Table:
    """Send each command to Redis as it is written: the command, and what Redis replied."""
    rows = []
    for command in commands:
        try:
            reply = client.execute_command(*command)
        except ResponseError as error:
            reply = f"(error) {error}"
        if isinstance(reply, bytes):
            reply = reply.decode()
        text = " ".join(shorten(part, 24) for part in map(str, command))
        rows.append([text, "(nil)" if reply is None else shorten(reply, 40)])
    return Table(["command", "Redis replies"], rows, "Redis, one command at a time")


def session_id(jar: requests.Session) -> str | None:
    """The id inside a jar's session cookie."""
    return id_of(jar.cookies.get(COOKIE))


def redis_table(store: Any, jars: dict[str, requests.Session]) -> Table:
    """What Redis holds for each jar's session: the key, the JSON, the TTL."""
    rows = []
    for name, jar in jars.items():
        sid = session_id(jar)
        key = store.key(sid) if sid else "—"
        raw = store.client.get(key) if sid else None
        value = "(none)" if raw is None else raw.decode()
        rows.append([name, shorten(key, 24), shorten(value, 64), store.client.ttl(key)])
    return Table(["jar", "key", "value (JSON)", "TTL (s)"], rows, "In Redis")


MEANING = {
    "originalMaxAge": "the max_age last set for this session, in milliseconds (null: none)",
    "expires": "when the session ends, ISO-8601 UTC (null: when the browser closes)",
    "secure": "the cookie's Secure (left out when false)",
    "httpOnly": "the cookie's HttpOnly",
    "path": "the cookie's Path",
    "sameSite": "the cookie's SameSite",
}


def cookie_object(raw: bytes) -> Table:
    """The ``cookie`` object of a stored session, field by field."""
    stored = json.loads(raw)
    rows = [
        [field, json.dumps(value), MEANING.get(field, "")]
        for field, value in stored["cookie"].items()
    ]
    return Table(["cookie field", "stored value", "meaning"], rows, "The express-shaped cookie")


def one_visit(site: Any) -> list[str]:
    """Log in as alice, look, count twice: the bodies of the four answers."""
    jar = requests.Session()
    return [
        jar.post(site.url + "/login", data={"user": "alice"}).text,
        jar.get(site.url + "/me").text,
        jar.post(site.url + "/count").text,
        jar.post(site.url + "/count").text,
    ]


def visit_with_remember_me(site: Any) -> None:
    """Log in, look, ask to be remembered, look again."""
    jar = requests.Session()
    jar.post(site.url + "/login", data={"user": "alice"})
    jar.get(site.url + "/me")
    jar.post(site.url + "/remember-me")
    jar.get(site.url + "/me")


def two_slow_requests(site: Any, jar: requests.Session) -> None:
    """Set theme (0.2 s) and lang (0.4 s) in one session with two overlapping requests."""

    def slow_set(key: str, value: str, seconds: float, who: str) -> requests.Response:
        params = {"key": key, "value": value, "seconds": seconds}
        return jar.post(site.url + "/slow-set", params=params, headers={"X-Who": who})

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(slow_set, "theme", "dark", 0.2, "Tab 1")
        second = pool.submit(slow_set, "lang", "fr", 0.4, "Tab 2")
        first.result(), second.result()


def data_of(store: Any, jar: requests.Session) -> dict[str, Any]:
    """The session's data as the store holds it now, without the cookie."""
    stored = store.get(session_id(jar)) or {}
    return {key: value for key, value in stored.items() if key != "cookie"}


# -- a Redis that records the commands it is sent ------------------------------------------


class RecordingRedis(fakeredis.FakeRedis):
    """A fakeredis client on a server of its own that keeps every command it sends."""

    def __init__(self, **options: Any) -> None:
        server = fakeredis.FakeServer()
        super().__init__(server=server, **options)
        self.sent: list[tuple[str, ...]] = []
        self.look = fakeredis.FakeRedis(server=server)  # the check's own view: not recorded

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(tuple(a.decode() if isinstance(a, bytes) else str(a) for a in args))
        return super().execute_command(*args, **options)

    def commands(self) -> list[str]:
        """What was sent since the last call, as Redis would log it."""
        sent, self.sent = self.sent, []
        return [" ".join(part if len(part) < 40 else "<json>" for part in c) for c in sent]


class ReplicatedRedis(RecordingRedis):
    """A RecordingRedis whose primary has ``replicas`` replicas that answer Redis's ``WAIT``
    (fakeredis has no WAIT, so the client's pipelines answer it themselves)."""

    def __init__(self, replicas: int, **options: Any) -> None:
        super().__init__(**options)
        self.replicas = replicas

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        return _WaitingPipeline(self)


class _WaitingPipeline:
    """What ``RedisKeys.acked`` asks of a pipeline: commands queued, then run in order by
    ``execute()``, with the replicas' count as WAIT's reply."""

    def __init__(self, client: ReplicatedRedis) -> None:
        self.client = client
        self.queued: list[Callable[[], Any]] = []

    def __enter__(self) -> _WaitingPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.queued = []

    def execute_command(self, *args: Any, **options: Any) -> _WaitingPipeline:
        if str(args[0]).upper() != "WAIT":
            return self._queue(self.client.execute_command)(*args, **options)
        self.queued.append(lambda: self._wait(args))
        return self

    def _wait(self, args: tuple[Any, ...]) -> int:
        self.client.sent.append(tuple(str(a) for a in args))
        return self.client.replicas

    def __getattr__(self, name: str) -> Callable[..., _WaitingPipeline]:
        return self._queue(getattr(self.client, name))

    def _queue(self, command: Callable[..., Any]) -> Callable[..., _WaitingPipeline]:
        """``command``, queued to run at ``execute()`` instead of now."""

        def queue(*args: Any, **kwargs: Any) -> _WaitingPipeline:
            self.queued.append(lambda: command(*args, **kwargs))
            return self

        return queue

    def execute(self) -> list[Any]:
        queued, self.queued = self.queued, []
        return [run() for run in queued]


class BackwardRedis(fakeredis.FakeRedis):
    """A fakeredis whose SCAN hands out keys in reverse order (a real Redis gives them in
    no particular order; fakeredis sorts them), and that refuses KEYS."""

    def scan_iter(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return iter(sorted(super().scan_iter(*args, **kwargs), reverse=True))

    def keys(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("KEYS blocks Redis while it walks every key: use scan_iter")


def _entry(expires_in: float | None, **data: Any) -> dict[str, Any]:
    """A stored session as express keeps it, ending ``expires_in`` seconds from now."""
    expires = None
    if expires_in is not None:
        moment = datetime.fromtimestamp(time.time() + expires_in, timezone.utc)
        expires = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    cookie = {"originalMaxAge": None, "expires": expires, "httpOnly": True, "path": "/"}
    return {"cookie": cookie, **data}


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def _fails_with(lib: Any, action: Callable[[], Any], what: str) -> None:
    """``action`` on an unreachable Redis must raise the package's ``StoreUnavailable``."""
    try:
        action()
    except lib.StoreUnavailable:
        return
    except NotImplementedError:
        raise
    except Exception as error:
        raise AssertionError(
            f"with Redis down, {what} raised {type(error).__name__}, not StoreUnavailable: "
            "run the command through self.call(...)"
        ) from None
    raise AssertionError(f"with Redis down, {what} raised nothing")


@contextmanager
def _quiet_log() -> Iterator[None]:
    """The library logs entries it can't read; a check that feeds it some says so itself."""
    log = logging.getLogger("sessionlib")
    was, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = was


def _redis_allows(action: Callable[..., Any], what: str, *args: Any) -> Any:
    """Run ``action(*args)``; Redis refusing a command is the learner's mistake, said plainly."""
    try:
        return action(*args)
    except ResponseError as error:
        raise AssertionError(
            f"Redis refused what {what} sent: {error}. EX takes whole seconds, 1 or more"
        ) from None


def _store(lib: Any, **options: Any) -> tuple[Any, RecordingRedis]:
    client = RecordingRedis()
    return lib.RedisStore(client, prefix="check:", **options), client


# -- checks -------------------------------------------------------------------------------


@exercise(
    "7.1",
    "RedisKeys.ttl_of(): connect-redis's TTL in whole seconds",
    [
        "Three cases, in order: disable_ttl (no TTL: None); a ttl that is a function (call it "
        "with the session); else the seconds to cookie.expires, or self.ttl when there is none.",
        "Redis's EX takes whole seconds; round up, so the key never dies before the session: "
        "math.ceil. Lesson 2's ttl_seconds(data, default) does the last case for you.",
        "A session already past its expiry gets 0 or less: leave it so (write() then deletes "
        "the key instead of storing it).",
    ],
)
def check_ttl_of(lib: Any) -> None:
    lib = judged(lib, "RedisKeys")
    keys = lib.stores.redis.RedisKeys

    def ttl(data: dict[str, Any], **options: Any) -> Any:
        found = keys(RecordingRedis(), **options).ttl_of(data)
        assert found is None or type(found) is int, (
            f"ttl_of returned {found!r}: Redis's EX takes a whole number of seconds (an int)"
        )
        return found

    found = ttl(_entry(10.3))
    assert found != 10300 and found != 10299, "ttl_of returned milliseconds: EX is in seconds"
    assert found == 11, f"cookie.expires is 10.3 s away: the TTL is 11 (rounded up), not {found}"
    assert ttl(_entry(None)) == 86400, "no cookie.expires: the store's ttl, one day by default"
    assert ttl({"user": "x"}) == 86400, "an entry without a cookie object gets the store's ttl"
    assert ttl(_entry(None), ttl=100) == 100, "ttl=100 and no cookie.expires: 100"
    assert ttl(_entry(None), ttl=lambda data: 12.2) == 13, (
        "ttl may be a function of the session (connect-redis's): call it, round up"
    )
    assert ttl(_entry(10), ttl=lambda data: 50) == 50, "a ttl function wins over cookie.expires"
    assert ttl(_entry(10), disable_ttl=True) is None, "disable_ttl: None, the key never expires"
    past = ttl(_entry(-5.5))
    assert past is not None and past <= 0, (
        f"a session that ended 5.5 s ago got a TTL of {past}: it must be 0 or less, so that "
        "write() deletes it instead of storing it"
    )


@exercise(
    "7.2",
    "RedisStore.get(): one GET, through self.read",
    [
        "RedisKeys has the pieces: self.read(sid, command) runs a read of sid's key through "
        "self.call (so an outage is StoreUnavailable) and decodes it (so a value that is not a "
        "session reads as None).",
        "get() must not change the TTL: the command is the client's get, not getex.",
    ],
)
def check_get(lib: Any) -> None:
    lib = judged(lib, "RedisStore")
    store, client = _store(lib)
    entry = _entry(100, user="alice")
    client.look.set("check:a", _compact(entry), ex=100)
    client.commands()
    assert store.get("a") == entry, "get('a') did not return the stored session"
    sent = client.commands()
    assert sent == ["GET check:a"], f"get() sent {sent}, not one GET check:a"
    assert store.get("missing") is None, "an unknown id must read as None"
    client.look.set("check:text", "not JSON")
    client.look.set("check:list", "[1, 2]")
    client.look.rpush("check:queue", "x")
    for sid, what in (("text", "text"), ("list", "a JSON list"), ("queue", "a Redis list")):
        with _quiet_log():
            try:
                found = store.get(sid)
            except (ValueError, ResponseError) as error:
                raise AssertionError(
                    f"a key holding {what} made get() raise {type(error).__name__}: read it "
                    "with self.read, which turns what is not a session into None"
                ) from None
        assert found is None, f"a key holding {what} must read as None (decode it safely)"
    _fails_with(lib, lambda: lib.RedisStore(unreachable_redis()).get("a"), "get()")


@exercise(
    "7.3",
    "RedisStore.get_and_touch(): read and restart the TTL in one GETEX",
    [
        "One command: GETEX key EX seconds reads the session and restarts its TTL "
        "(self.read(sid, self.client.getex, ex=...)). GET then EXPIRE is two round trips.",
        "seconds may be None (use self.ttl) or a fraction: EX takes whole seconds, rounded up, "
        "and at least 1 (EX 0 is an error in Redis).",
        "When the store must not touch on reading (self.touches_on_get is False: disable_touch, "
        "disable_ttl, or a ttl function), a plain get().",
    ],
)
def check_get_and_touch(lib: Any) -> None:
    lib = judged(lib, "RedisStore")
    store, client = _store(lib, ttl=500)
    entry = _entry(100, user="alice")
    client.look.set("check:a", _compact(entry), ex=100)
    client.commands()
    assert store.get_and_touch("a", 3600) == entry, "get_and_touch did not return the session"
    sent = client.commands()
    assert sent == ["GETEX check:a EX 3600"], (
        f"get_and_touch('a', 3600) sent {sent}, not one GETEX check:a EX 3600"
    )
    assert 3590 < client.look.ttl("check:a") <= 3600, "the TTL was not restarted at 3600 s"
    for seconds, ex in ((10.2, 11), (0.4, 1), (0, 1), (None, 500)):
        what = f"get_and_touch('a', {seconds})"
        _redis_allows(store.get_and_touch, what, "a", seconds)
        sent = client.commands()
        assert sent == [f"GETEX check:a EX {ex}"], (
            f"get_and_touch('a', {seconds}) sent {sent}, not GETEX check:a EX {ex}"
        )
    assert store.get_and_touch("missing", 60) is None, "an unknown id must read as None"
    client.commands()
    for options, why in (
        ({"disable_touch": True}, "disable_touch"),
        ({"disable_ttl": True}, "disable_ttl (keys that never expire)"),
        ({"ttl": lambda data: 60}, "a ttl function (the engine touches after the request)"),
    ):
        quiet, quiet_client = _store(lib, **options)
        quiet_client.look.set("check:a", _compact(entry), ex=100)
        quiet_client.commands()
        assert quiet.get_and_touch("a", 3600) == entry, f"with {why}, the session did not come"
        sent = quiet_client.commands()
        assert sent == ["GET check:a"], f"with {why} the read must not touch: {sent}"
    client.look.set("check:text", "not JSON")
    with _quiet_log():
        found = store.get_and_touch("text", 60)
    assert found is None, "a key holding text must read as None"
    _fails_with(lib, lambda: lib.RedisStore(unreachable_redis()).get_and_touch("a", 60), "GETEX")


@exercise(
    "7.4",
    "RedisStore.write(): SET ... EX, with XX for a stored session",
    [
        "One command, SET key text EX ttl (XX for a stored session), with text = "
        "self.dumps(data) and ttl = self.ttl_of(data). Send it through self.acked, which runs "
        "it on the client (with wait_replicas, waiting for a replica): "
        "self.acked(lambda redis: redis.set(...)).",
        "Return whether Redis wrote it: SET ... XX replies nil (None) when the key is gone.",
        "A TTL of None (disable_ttl) means no EX. A TTL of 0 or less means the session is over: "
        "delete the key (self.destroy) instead; EX 0 is an error in Redis.",
    ],
)
def check_write(lib: Any) -> None:
    lib = judged(lib, "RedisStore")
    store, client = _store(lib)
    entry = _entry(60.3, user="alice")
    text = _compact(entry)
    store.set("n", entry)
    sent = client.commands()
    assert len(sent) == 1, f"one write, one command: set() sent {sent}"
    assert sent[0].startswith("SET check:n"), f"set() sent {sent[0]}, not SET check:n ..."
    assert "XX" not in sent[0].split(), "set() is for a new session: no XX, or it is never stored"
    raw = client.look.get("check:n")
    assert raw is not None, "set() stored nothing"
    assert raw.decode() == text, (
        f"the value must be the JSON as connect-redis writes it (self.dumps: compact), not {raw!r}"
    )
    assert 59 <= client.look.ttl("check:n") <= 61, (
        f"the TTL is {client.look.ttl('check:n')}, not 61 s"
    )
    assert sent[0].split()[-2:] == ["EX", "61"] or "EX 61" in sent[0], (
        f"{sent[0]}: EX in whole seconds, rounded up (self.ttl_of)"
    )
    changed = _entry(60.3, user="bob")
    assert store.replace("n", changed), "replace() of a stored session must say it wrote it (True)"
    sent = client.commands()
    assert len(sent) == 1 and "XX" in sent[0].split(), (
        f"replace() sent {sent}: one SET ... XX, written only while the session exists"
    )
    assert json.loads(client.look.get("check:n")) == changed, "replace() did not write the new data"
    assert not store.replace("gone", changed), "replace() of a missing session must say False"
    client.commands()
    assert client.look.get("check:gone") is None, (
        "replace() brought back a session that was gone: use XX (only if it exists)"
    )
    forever, forever_client = _store(lib, disable_ttl=True)
    forever.set("f", entry)
    sent = forever_client.commands()
    assert forever_client.look.ttl("check:f") == -1, f"disable_ttl: no TTL at all, but {sent}"
    _redis_allows(store.set, "set() of an ended session", "ended", _entry(-5, user="alice"))
    sent = client.commands()
    assert client.look.get("check:ended") is None, (
        f"a session that ended 5 s ago was stored ({sent}): delete it instead"
    )
    client.look.set("check:old", text, ex=60)
    client.commands()
    _redis_allows(store.replace, "replace() of an ended session", "old", _entry(-5, user="alice"))
    sent = client.commands()
    assert client.look.get("check:old") is None, (
        "replace() of a session that ended 5 s ago left its key in Redis (it sent "
        f"{sent or 'nothing'}): delete the key (self.destroy)"
    )
    replicated = lib.RedisStore(ReplicatedRedis(1), prefix="check:", wait_replicas=1)
    try:
        replicated.set("w", entry)
    except lib.StoreUnavailable:
        raise AssertionError("with wait_replicas=1, a write a replica took was refused") from None
    assert replicated.client.look.get("check:w") is not None, (
        "with wait_replicas=1, set() stored nothing"
    )
    try:
        lib.RedisStore(ReplicatedRedis(0), prefix="check:", wait_replicas=1).set("w", entry)
    except lib.StoreUnavailable:
        pass  # no replica took it: the request must not answer 200
    else:
        raise AssertionError(
            "with wait_replicas=1, set() raised no StoreUnavailable though no replica took "
            "the write: send the SET with self.acked, which waits for the replicas"
        )
    _fails_with(lib, lambda: lib.RedisStore(unreachable_redis()).set("n", entry), "set()")


@exercise(
    "7.5",
    "RedisStore.touch(): EXPIRE, without rewriting the session",
    [
        "One command, EXPIRE key seconds (self.client.expire), run through self.call, with the "
        "seconds from self.ttl_of(data): the session's own cookie.expires.",
        "Nothing to do when touching is off (self.disable_touch), or when ttl_of says None "
        "(disable_ttl) or 0 or less (EXPIRE key 0 would delete the key).",
    ],
)
def check_touch(lib: Any) -> None:
    lib = judged(lib, "RedisStore")
    store, client = _store(lib)
    value = _compact(_entry(100, user="alice"))
    client.look.set("check:t", value, ex=100)
    client.commands()
    store.touch("t", _entry(3000.2, user="alice"))
    sent = client.commands()
    assert len(sent) == 1, f"touch() sent {sent}: one command"
    assert sent[0].split()[0] in ("EXPIRE", "PEXPIRE"), f"touch() sent {sent[0]}, not EXPIRE"
    assert client.look.get("check:t").decode() == value, "touch() rewrote the session"
    ttl = client.look.ttl("check:t")
    assert 2995 <= ttl <= 3001, f"after the touch the TTL is {ttl}, not about 3001 s"
    by_function, function_client = _store(lib, ttl=lambda data: 50)
    function_client.look.set("check:t", value, ex=100)
    by_function.touch("t", _entry(3000, user="alice"))
    assert function_client.look.ttl("check:t") == 50, (
        "with ttl=function, touch must use self.ttl_of"
    )
    for options, why in (
        ({"disable_touch": True}, "disable_touch"),
        ({"disable_ttl": True}, "disable_ttl"),
    ):
        quiet, quiet_client = _store(lib, **options)
        quiet_client.look.set("check:t", value, ex=100)
        quiet_client.commands()
        quiet.touch("t", _entry(3000, user="alice"))
        sent = quiet_client.commands()
        assert sent == [], f"with {why}, touch() must send nothing, not {sent}"
    store.touch("t", _entry(-5, user="alice"))
    sent = client.commands()
    assert client.look.get("check:t") is not None and not sent, (
        f"touch() with an expiry in the past sent {sent}: no TTL of 0 or less to Redis"
    )
    store.touch("missing", _entry(60, user="alice"))
    client.commands()
    assert client.look.get("check:missing") is None, "touch() created a session that was not there"
    _fails_with(lib, lambda: lib.RedisStore(unreachable_redis()).touch("t", _entry(60)), "touch()")


@exercise(
    "7.6",
    "a better outage answer: 503, Retry-After, JSON",
    [
        "A Flask handler may return a tuple (body, status, headers); a dict body is sent as "
        "JSON. Headers are a dict too.",
        'The body is exactly {"error": "sessions unavailable"}: the exception\'s text names '
        "your Redis host, which is nobody's business outside.",
    ],
    uses_package=False,
)
def check_outage_response(handler: Callable[[Exception], Any]) -> None:
    import sessionlib

    app = Flask("lesson07-check")
    app.testing = True
    store = sessionlib.RedisStore(unreachable_redis())
    sessionlib.SessionManager(app, secret=SECRET, store=store)
    app.register_error_handler(sessionlib.StoreUnavailable, handler)

    @app.get("/me")
    def me():
        return session.get("user", "anonymous")

    @app.post("/count")
    def count():
        session["count"] = 1  # a newcomer: Redis is needed only to save, after the view
        return "counted"

    client = app.test_client()
    returning = app.test_client()
    returning.set_cookie(COOKIE, sessionlib.signing.cookie_value("abc", SECRET))
    for response, when in ((returning.get("/me"), "loading"), (client.post("/count"), "saving")):
        where = f"(Redis down while {when} the session)"
        assert response.status_code == 503, f"status {response.status_code}, not 503 {where}"
        assert response.headers.get("Retry-After") == "30", f"no Retry-After: 30 header {where}"
        assert response.mimetype == "application/json", f"the answer is not JSON {where}"
        body = response.get_json()
        text = response.text.strip()
        assert body == {"error": "sessions unavailable"}, f"the body is {text} {where}"


@exercise(
    "7.7",
    "whose sessions are these?",
    [
        "client.scan_iter(match=prefix + '*') gives the keys (bytes) one by one; client.get(key) "
        "the JSON; json.loads it.",
        "The id is the key without the prefix, decoded to str. A session without a user (an "
        "anonymous visitor) has no 'user' key: .get('user').",
    ],
    uses_package=False,
)
def check_sessions_of(sessions_of: Callable[[Any, str, str], Any]) -> None:
    client = BackwardRedis(server=fakeredis.FakeServer())
    prefix = "check:sess:"
    for sid, data in (
        ("b7", _entry(60, user="dora")),
        ("a3", _entry(60, user="dora")),
        ("c1", _entry(60, user="bob")),
        ("d9", _entry(60, cart=["teapot"])),
    ):
        client.set(prefix + sid, _compact(data), ex=60)
    client.set("check:other:e5", _compact(_entry(60, user="dora")), ex=60)
    found = sessions_of(client, prefix, "dora")
    assert isinstance(found, list), f"return a list of ids, not {type(found).__name__}"
    assert all(isinstance(sid, str) for sid in found), f"ids are str (decode the keys): {found}"
    assert not any(sid.startswith("check:") for sid in found), f"ids, not keys: {found}"
    assert sorted(found) == ["a3", "b7"], f"dora's sessions are a3 and b7, not {found}"
    assert found == ["a3", "b7"], f"sort the ids: {found}"
    assert sessions_of(client, prefix, "nobody") == [], "a user without sessions has none"


# -- quiz -----------------------------------------------------------------------------------

question(
    7,
    "A returning GET /me reads the session and changes nothing (the session's max_age is the "
    "app's). How many Redis commands does it cost with RedisStore?",
    {"a": "two: GET, then EXPIRE", "b": "none", "c": "one: GETEX", "d": "two: GETEX, then SET"},
    "c",
    "GETEX reads and restarts the TTL at once; nothing changed, so nothing is written.",
)
question(
    7,
    "Why is a stored session written with SET ... XX?",
    {
        "a": "So that a request in flight cannot bring back a session another request destroyed.",
        "b": "XX makes the write faster.",
        "c": "So that the TTL is kept.",
        "d": "XX compresses the JSON.",
    },
    "a",
    "XX writes only if the key exists: a logout's DEL wins over a slow request's write.",
)
question(
    7,
    "A session's cookie.expires is 90.2 s away. What TTL does the store set?",
    {"a": "90", "b": "90200", "c": "86400", "d": "91"},
    "d",
    "Whole seconds, rounded up, so that Redis never drops the key before the session ends.",
)
question(
    7,
    "Redis is down. Which requests still answer 200?",
    {
        "a": "None: the app is down.",
        "b": "Those that never touch the session, and newcomers' reads of it.",
        "c": "All of them: sessions are cached.",
        "d": "Only POST requests.",
    },
    "b",
    "Sessions load on first use: no use, or no cookie, means no Redis call.",
)
question(
    7,
    "Two overlapping requests of one session change different keys, with merge=False. What "
    "does the session hold afterwards?",
    {
        "a": "The change of the request that finished first.",
        "b": "Both changes.",
        "c": "Nothing: Redis refuses the second write.",
        "d": "The change of the request that finished last; the other is lost.",
    },
    "d",
    "Each writes the whole session it loaded. merge=True writes only the changed keys, "
    "atomically; express-session has no such option.",
)
