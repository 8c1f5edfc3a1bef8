"""The signals in ``sessionlib.signals``: each step of a session's life is announced with
plain data, over real HTTP requests, and no announcement carries the session's contents
or a whole session id."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import blinker
import fakeredis
import pytest
import requests
from flask import Flask, jsonify
from support import (
    SECRET,
    CountingStore,
    cookie_value,
    express_cookie,
    id_in,
    session,
    set_cookies,
    unreachable_redis,
    with_cookie,
)

import sessionlib
from sessionlib import signals

SECRET_VALUE = "s3cr3t-value"
SIGNALS = {name: obj for name, obj in vars(signals).items() if isinstance(obj, blinker.Signal)}

pytestmark = pytest.mark.lesson8


class RecordingStore(CountingStore):
    """A ``CountingStore`` that also remembers every session id it was handed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ids: set[str] = set()

    def _called(self, operation: str, sid: str) -> None:
        super()._called(operation, sid)
        self.ids.add(sid)


class Events(list):
    """``(signal name, data)`` pairs in the order they were sent."""

    def names(self) -> list[str]:
        return [name for name, _ in self]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [data for n, data in self if n == name]

    def one(self, name: str) -> dict[str, Any]:
        found = self.of(name)
        assert len(found) == 1, (name, self)
        return found[0]


def make_app(store: sessionlib.Store | None = None, **options: Any) -> tuple[Flask, Any]:
    options.setdefault("secret", SECRET)
    app = Flask(__name__)
    manager = sessionlib.SessionManager(app, store=store, **options)

    @app.errorhandler(sessionlib.StoreUnavailable)
    def store_down(error):
        return "sessions are unavailable", 503

    @app.get("/read")
    def read():
        return jsonify(sorted(session))

    @app.get("/count")
    def count():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/secret")
    def secret():
        session["token"] = SECRET_VALUE
        session["nested"] = {"deeper": [SECRET_VALUE]}
        return "stored"

    @app.get("/save")
    def save():
        session["manual"] = True
        session.save()
        return "saved"

    @app.get("/login")
    def login():
        session.regenerate()
        session["user"] = SECRET_VALUE
        return "logged in"

    @app.get("/logout")
    def logout():
        session.destroy()
        return "bye"

    @app.get("/clear")
    def clear():
        session.clear()
        return "cleared"

    @app.get("/logged-out-elsewhere")
    def logged_out_elsewhere():
        manager.store.destroy(session.id)  # as a concurrent logout would
        session["late"] = SECRET_VALUE
        return "too late"

    return app, manager.engine


@pytest.fixture
def listen():
    """``listen(engine)`` connects a recorder to every signal for that engine's requests."""
    connected: list[tuple[blinker.Signal, Any]] = []

    def start(engine: Any) -> Events:
        events = Events()
        for name, signal in SIGNALS.items():

            def receiver(sender, _name=name, **data):
                events.append((_name, data))

            signal.connect(receiver, sender=engine, weak=False)
            connected.append((signal, receiver))
        return events

    yield start
    for signal, receiver in connected:
        signal.disconnect(receiver)


def short(sid: str) -> str:
    return signals.short_id(sid)


@pytest.fixture
def revisit(serve, listen):
    """``revisit(path, **options)``: on a new ``make_app(RecordingStore(), **options)``, a
    visitor's ``/count`` stores a session, then the visitor requests ``path``. Returns the
    events of the ``path`` request alone, the session's id before it, and the cookie jar."""

    def visit(path: str, **options: Any) -> tuple[Events, str | None, requests.Session]:
        app, engine = make_app(RecordingStore(), **options)
        server = serve(app)
        jar = requests.Session()
        jar.get(server.url + "/count")
        sid = id_in(jar.cookies["connect.sid"])
        events = listen(engine)
        jar.get(server.url + path)
        return events, sid, jar

    return visit


def test_every_documented_signal_is_a_blinker_signal():
    assert set(SIGNALS) == {
        "session_loaded",
        "session_created",
        "session_saved",
        "session_touched",
        "session_regenerated",
        "session_destroyed",
        "cookie_set",
        "cookie_cleared",
        "store_called",
        "session_interrupted",
    }


def test_short_id_shows_a_quarter_of_an_id_and_at_most_eight_characters():
    assert short("abcdefghijklmnopqrstuvwxyz0123456789") == "abcdefgh…"
    assert short("abcdefghijklmnop") == "abcd…"
    assert short("abcdefgh") == "ab…"
    assert short("abc") == "…"
    assert short(None) == ""


# -- a first visit, a return visit ---------------------------------------------------------


def test_first_session_is_announced_created_saved_and_cookied(serve, listen):
    store = RecordingStore()
    app, engine = make_app(store, cookie={"max_age": 60})
    events = listen(engine)
    response = requests.get(serve(app).url + "/count")
    sid = id_in(cookie_value(set_cookies(response)[0]))

    assert events.names() == [
        "session_loaded",
        "session_created",
        "store_called",
        "session_saved",
        "cookie_set",
    ]
    assert events.one("session_loaded") == {"sid": None, "found": False, "rejected": None}
    assert events.one("session_created") == {"sid": short(sid), "reason": "no_cookie"}
    call = events.one("store_called")
    assert call["operation"] == "set"
    assert call["store"] == "RecordingStore"
    assert call["key"] == short(sid)
    assert call["ttl"] == pytest.approx(60, abs=1)
    assert call["error"] is None
    assert events.one("session_saved") == {"sid": short(sid), "reason": "modified"}
    cookie = events.one("cookie_set")
    assert cookie["name"] == "connect.sid"
    assert cookie["sid"] == short(sid)
    assert cookie["attributes"]["originalMaxAge"] == 60000
    assert cookie["attributes"]["httpOnly"] is True
    assert "Max-Age=60" in cookie["header"]


def test_session_loaded_from_its_cookie_is_announced_with_the_store_read(revisit):
    events, sid, _ = revisit("/read", cookie={"max_age": 60})

    assert events.names() == ["store_called", "session_loaded"]
    read = events.one("store_called")
    assert read["operation"] == "get_and_touch"
    assert read["key"] == short(sid)
    assert read["found"] is True
    assert read["ttl"] == 60
    assert events.one("session_loaded") == {"sid": short(sid), "found": True}


# -- rejected cookies ----------------------------------------------------------------------

REJECTED = {
    "unsigned": lambda sid: sid,
    "bad_signature": lambda sid: express_cookie(sid, "not the secret"),
    "invalid_id": lambda sid: express_cookie("../../etc/passwd"),
    "unknown_id": lambda sid: express_cookie("signed-but-never-stored"),
}


@pytest.mark.lesson6
@pytest.mark.parametrize("reason", list(REJECTED))
def test_rejected_cookie_is_announced_with_why(serve, listen, reason):
    store = RecordingStore()
    app, engine = make_app(store)
    server = serve(app)
    first = set_cookies(requests.get(server.url + "/count"))[0]
    sid = id_in(cookie_value(first))
    events = listen(engine)
    requests.get(server.url + "/read", headers=with_cookie(REJECTED[reason](sid)))

    loaded = events.one("session_loaded")
    assert loaded["found"] is False
    assert loaded["rejected"] == reason
    assert events.one("session_created")["reason"] == "rejected"
    reads = [c for c in events.of("store_called") if c["operation"].startswith("get")]
    if reason == "unknown_id":
        assert loaded["sid"] == short("signed-but-never-stored")
        assert [(c["key"], c["found"]) for c in reads] == [(loaded["sid"], False)]
    else:
        assert loaded["sid"] is None
        assert reads == []  # a cookie that fails verification never reaches the store


@pytest.mark.lesson5
def test_session_expired_by_its_cookie_is_rejected_as_expired(serve, listen):
    client = fakeredis.FakeRedis()
    store = sessionlib.RedisStore(client, disable_touch=True)  # the JSON's expiry decides
    gone = datetime.now(timezone.utc) - timedelta(minutes=1)
    client.set(
        "sess:stale-session",
        json.dumps(
            {
                "cookie": {
                    "originalMaxAge": 1000,
                    "expires": gone.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "httpOnly": True,
                    "path": "/",
                }
            }
        ),
        ex=100,
    )
    app, engine = make_app(store)
    events = listen(engine)
    requests.get(serve(app).url + "/read", headers=with_cookie(express_cookie("stale-session")))
    assert events.one("session_loaded")["rejected"] == "expired"
    assert events.one("session_created")["reason"] == "rejected"


# -- why a session was saved ---------------------------------------------------------------


@pytest.mark.lesson4
@pytest.mark.parametrize(
    ("options", "first_path", "path", "reason"),
    [
        ({}, None, "/count", "modified"),
        ({"resave": True}, "/count", "/read", "resave"),
        ({"save_uninitialized": True}, None, "/read", "save_uninitialized"),
        ({}, "/count", "/save", "manual"),
    ],
)
def test_save_is_announced_with_its_reason(serve, listen, options, first_path, path, reason):
    app, engine = make_app(RecordingStore(), **options)
    server = serve(app)
    jar = requests.Session()
    if first_path:
        jar.get(server.url + first_path)
    events = listen(engine)
    jar.get(server.url + path)
    assert [saved["reason"] for saved in events.of("session_saved")] == [reason]
    operations = [c["operation"] for c in events.of("store_called")]
    writes = [op for op in operations if op in ("set", "replace", "merge")]
    assert writes == ["replace" if first_path else "set"]  # a stored one: only while it is


def test_unmodified_session_is_announced_touched_not_saved(revisit):
    moment = datetime.now(timezone.utc) + timedelta(hours=1)  # fixed expiry: touch, not GETEX
    events, sid, _ = revisit("/read", cookie={"expires": moment})

    assert events.of("session_saved") == []
    touched = events.one("session_touched")
    assert touched["sid"] == short(sid)
    assert abs(touched["expires"].timestamp() - moment.timestamp()) < 1
    touch_call = [c for c in events.of("store_called") if c["operation"] == "touch"]
    assert len(touch_call) == 1
    assert touch_call[0]["ttl"] == pytest.approx(3600, abs=2)


# -- regenerate, destroy, unset ------------------------------------------------------------


@pytest.mark.lesson6
def test_regenerate_is_announced_with_old_and_new_ids(revisit):
    events, old, jar = revisit("/login")
    new = id_in(jar.cookies["connect.sid"])

    assert events.one("session_regenerated") == {
        "old_sid": short(old),
        "sid": short(new),
        "kept_data": False,
    }
    assert events.one("session_created") == {"sid": short(new), "reason": "regenerated"}
    operations = [(c["operation"], c["key"]) for c in events.of("store_called")]
    assert ("destroy", short(old)) in operations
    assert ("set", short(new)) in operations
    assert events.one("cookie_set")["sid"] == short(new)


@pytest.mark.lesson6
def test_a_write_refused_because_another_request_destroyed_the_session_is_announced(revisit):
    events, sid, _ = revisit("/logged-out-elsewhere")

    assert events.one("session_interrupted") == {"sid": short(sid)}
    assert events.of("session_saved") == [] and events.of("cookie_set") == []
    assert "Max-Age=0" in events.one("cookie_cleared")["header"]


@pytest.mark.lesson6
def test_destroy_is_announced_and_the_cookie_cleared(revisit):
    events, sid, _ = revisit("/logout")

    assert events.one("session_destroyed") == {"sid": short(sid), "reason": "destroy"}
    destroys = [c for c in events.of("store_called") if c["operation"] == "destroy"]
    assert [c["key"] for c in destroys] == [short(sid)]
    cleared = events.one("cookie_cleared")
    assert cleared["name"] == "connect.sid"
    assert "Max-Age=0" in cleared["header"]
    assert events.of("cookie_set") == []


@pytest.mark.lesson4
def test_unset_destroy_is_announced_with_reason_unset(revisit):
    events, _, _ = revisit("/clear", unset="destroy")
    assert events.one("session_destroyed")["reason"] == "unset"
    assert len(events.of("cookie_cleared")) == 1


# -- store calls, whatever the store -------------------------------------------------------


@pytest.mark.lesson7
def test_redis_store_calls_are_announced_with_keys_and_ttls(serve, listen):
    app, engine = make_app(sessionlib.RedisStore(fakeredis.FakeRedis()), cookie={"max_age": 90})
    server = serve(app)
    events = listen(engine)
    jar = requests.Session()
    jar.get(server.url + "/count")
    jar.get(server.url + "/count")
    sid = id_in(jar.cookies["connect.sid"])
    calls = [(c["operation"], c["key"], c["ttl"]) for c in events.of("store_called")]
    key = "sess:" + short(sid)
    assert [(op, k) for op, k, _ in calls] == [
        ("set", key),
        ("get_and_touch", key),
        ("replace", key),
    ]
    assert all(ttl == pytest.approx(90, abs=1) for _, _, ttl in calls)
    assert {c["store"] for c in events.of("store_called")} == {"RedisStore"}
    assert all(c["duration"] >= 0 for c in events.of("store_called"))


@pytest.mark.lesson7
@pytest.mark.parametrize(
    ("cookie", "operation"),
    [(None, "set"), (express_cookie("a-known-session"), "get_and_touch")],
    ids=["writing-a-new-session", "loading-a-session"],
)
def test_store_error_is_announced_with_the_error(serve, listen, cookie, operation):
    app, engine = make_app(sessionlib.RedisStore(unreachable_redis()))
    events = listen(engine)
    headers = with_cookie(cookie) if cookie else {}
    response = requests.get(serve(app).url + "/count", headers=headers)
    assert response.status_code == 503
    (call,) = events.of("store_called")
    assert call["operation"] == operation
    assert call["error"] and "StoreUnavailable" in call["error"]
    assert events.of("session_saved") == []
    assert events.of("cookie_set") == []


# -- what the signals never carry ----------------------------------------------------------


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool, datetime))


@pytest.mark.lesson6
def test_no_signal_carries_session_contents_or_a_whole_session_id(serve, listen):
    store = RecordingStore()
    rolling_app, rolling_engine = make_app(store, cookie={"max_age": 60}, rolling=True)
    # A fixed expiry makes a returning request touch the store: the one signal left.
    fixed = datetime.now(timezone.utc) + timedelta(hours=1)
    fixed_app, fixed_engine = make_app(store, cookie={"expires": fixed})
    events = listen(rolling_engine)
    events_fixed = listen(fixed_engine)
    cookie_values: list[str] = []

    def visit(url: str, paths: tuple[str, ...]) -> None:
        jar = requests.Session()
        for path in paths:
            response = jar.get(url + path)
            cookie_values.extend(cookie_value(h) for h in set_cookies(response))

    url = serve(rolling_app).url
    visit(url, ("/secret", "/read", "/count", "/save", "/login", "/read", "/logout", "/secret"))
    visit(url, ("/secret", "/logged-out-elsewhere"))
    visit(serve(fixed_app).url, ("/secret", "/read"))
    tampered = cookie_values[0][:-4] + ("AAAA" if not cookie_values[0].endswith("AAAA") else "BBBB")
    requests.get(url + "/read", headers=with_cookie(tampered))
    requests.get(url + "/read", headers=with_cookie(express_cookie("x" * 32)))
    store.ids.add("x" * 32)

    everything = Events(events + events_fixed)
    assert set(everything.names()) == set(SIGNALS)  # the flow reached every signal
    cookie_values = [v for v in cookie_values if v]
    never = {SECRET_VALUE, *store.ids, *cookie_values}
    never |= {unquote(v).rpartition(".")[2] for v in cookie_values}  # the signatures
    assert len(store.ids) >= 5
    for name, data in everything:
        assert plain(data), (name, data)
        text = repr(data)
        for secret in never:
            assert secret not in text, (name, secret)
