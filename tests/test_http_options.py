"""Every ``SessionManager`` option, seen over HTTP: a live Flask server and a cookie jar.

Store writes are counted by a ``MemoryStore`` subclass, Set-Cookie headers per response.
HTTPS is simulated with werkzeug's ``ProxyFix`` and ``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from flask import Flask, session
from support import (
    SECRET,
    CountingStore,
    attributes,
    cookie_value,
    id_in,
    session_app,
    set_cookies,
    the_set_cookie,
)
from werkzeug.middleware.proxy_fix import ProxyFix

import sessionlib

HTTPS = {"X-Forwarded-Proto": "https"}
# express-session test/session.js, "genid option should allow custom function"
APPLE_COOKIE_VALUE = "s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU"


class DictStore(sessionlib.Store):
    """The least a third-party store implements: get, set and destroy on a dict."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict] = {}

    def get(self, sid):
        return self.sessions.get(sid)

    def set(self, sid, data):
        self.sessions[sid] = data

    def destroy(self, sid):
        self.sessions.pop(sid, None)


def make_app(**options: Any) -> Flask:
    """``session_app`` behind ``ProxyFix`` (so ``X-Forwarded-Proto`` counts), with ``/clear``."""
    app = session_app(**options)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)

    @app.get("/clear")
    def clear():
        session.clear()
        return "cleared"

    return app


def only_session(store: sessionlib.Store) -> tuple[str, dict]:
    sessions = store.all()
    assert len(sessions) == 1, sessions
    return next(iter(sessions.items()))


# -- secret --------------------------------------------------------------------------------


@pytest.mark.lesson3
def test_cookie_value_is_s_colon_plus_the_id_signed_with_the_secret(serve):
    store = CountingStore()
    server = serve(make_app(store=store))
    response = requests.get(server.url + "/count")
    sid, _ = only_session(store)
    assert id_in(cookie_value(the_set_cookie(response))) == sid


@pytest.mark.lesson3
def test_express_session_known_answer_cookie_over_http(serve):
    # express-session's own test: secret "keyboard cat", genid returning "apple".
    app = make_app(genid=lambda: "apple", save_uninitialized=True)
    response = requests.get(serve(app).url + "/read")
    header = the_set_cookie(response)
    assert header.startswith("connect.sid=" + APPLE_COOKIE_VALUE + ";")


@pytest.mark.lesson3
def test_cookie_signed_with_another_secret_is_not_accepted(serve):
    store = CountingStore()
    other = serve(make_app(secret="another secret", store=store))
    jar = requests.Session()
    jar.get(other.url + "/count")
    mine = serve(make_app(store=store))
    assert jar.get(mine.url + "/count").text == "1"
    assert store.length() == 2


@pytest.mark.lesson3
def test_secret_rotation_first_secret_signs_and_all_verify(serve):
    store = CountingStore()
    cookie = {"max_age": 60}  # so a change re-sends the cookie
    old = serve(make_app(secret="old secret", store=store, cookie=cookie))
    rotating = serve(make_app(secret=["new secret", "old secret"], store=store, cookie=cookie))
    retired = serve(make_app(secret="new secret", store=store, cookie=cookie))

    jar = requests.Session()
    assert jar.get(old.url + "/count").text == "1"
    stale_jar = requests.Session()
    stale_jar.cookies.update(jar.cookies)

    response = jar.get(rotating.url + "/count")
    assert response.text == "2"  # the old cookie verified
    value = cookie_value(the_set_cookie(response))
    assert id_in(value, "new secret") is not None  # re-signed with the first secret
    assert id_in(value, "old secret") is None

    assert jar.get(retired.url + "/count").text == "3"
    assert stale_jar.get(retired.url + "/count").text == "1"  # old signature: new session


def test_secret_must_be_a_non_empty_string_or_list():
    for secret in ("", [], [""], None):
        with pytest.raises((ValueError, TypeError)):
            sessionlib.SessionManager(Flask(__name__), secret=secret)


# -- name, store ---------------------------------------------------------------------------


@pytest.mark.lesson1
def test_cookie_is_named_connect_sid_by_default(serve):
    jar = requests.Session()
    jar.get(serve(make_app()).url + "/count")
    assert list(jar.cookies.keys()) == ["connect.sid"]


@pytest.mark.lesson1
def test_name_option_names_the_cookie(serve):
    server = serve(make_app(name="sid"))
    jar = requests.Session()
    jar.get(server.url + "/count")
    assert list(jar.cookies.keys()) == ["sid"]
    assert jar.get(server.url + "/count").text == "2"


@pytest.mark.lesson2
def test_store_option_holds_the_sessions_even_a_minimal_store(serve):
    store = DictStore()
    server = serve(make_app(store=store))
    jar = requests.Session()
    assert [jar.get(server.url + "/count").text for _ in range(3)] == ["1", "2", "3"]
    (data,) = store.sessions.values()
    assert data["n"] == 3
    assert set(data["cookie"]) >= {"originalMaxAge", "expires", "httpOnly", "path"}


@pytest.mark.lesson2
def test_default_store_is_a_memory_store():
    manager = sessionlib.SessionManager(Flask(__name__), secret=SECRET)
    assert isinstance(manager.store, sessionlib.MemoryStore)


# -- resave --------------------------------------------------------------------------------


@pytest.mark.lesson4
def test_without_resave_an_unmodified_session_is_not_rewritten(serve):
    store = CountingStore()
    server = serve(make_app(store=store))
    jar = requests.Session()
    jar.get(server.url + "/count")
    for _ in range(3):
        assert jar.get(server.url + "/read").json() == {"n": 1}
    assert store.writes == 1


@pytest.mark.lesson4
def test_resave_rewrites_an_unmodified_session_on_every_request(serve):
    store = CountingStore()
    server = serve(make_app(store=store, resave=True))
    jar = requests.Session()
    jar.get(server.url + "/count")
    for _ in range(3):
        assert jar.get(server.url + "/read").json() == {"n": 1}
    assert store.writes == 4


# -- save_uninitialized --------------------------------------------------------------------


@pytest.mark.lesson4
def test_new_unmodified_session_is_neither_stored_nor_cookied_by_default(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store)).url + "/read")
    assert response.json() == {}
    assert set_cookies(response) == []
    assert store.writes == 0 and store.length() == 0


@pytest.mark.lesson4
def test_save_uninitialized_stores_and_cookies_a_new_unmodified_session(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store, save_uninitialized=True)).url + "/read")
    sid, data = only_session(store)
    assert id_in(cookie_value(the_set_cookie(response))) == sid
    assert list(data) == ["cookie"]
    assert store.writes == 1


# -- rolling -------------------------------------------------------------------------------


@pytest.mark.lesson4
def test_without_rolling_an_unmodified_session_gets_no_new_cookie(serve):
    server = serve(make_app(cookie={"max_age": 60}))
    jar = requests.Session()
    assert len(set_cookies(jar.get(server.url + "/count"))) == 1
    assert set_cookies(jar.get(server.url + "/read")) == []


@pytest.mark.lesson4
def test_rolling_resends_the_cookie_on_every_response(serve):
    store = CountingStore()
    server = serve(make_app(store=store, rolling=True, cookie={"max_age": 60}))
    jar = requests.Session()
    first = cookie_value(the_set_cookie(jar.get(server.url + "/count")))
    for path in ("/read", "/", "/read"):
        header = the_set_cookie(jar.get(server.url + path))
        assert cookie_value(header) == first
        assert attributes(header)["max-age"] == "60"
    assert store.writes == 1


@pytest.mark.lesson4
def test_rolling_does_not_cookie_a_new_unmodified_session(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store, rolling=True)).url + "/read")
    assert set_cookies(response) == []
    assert store.length() == 0


# -- genid ---------------------------------------------------------------------------------


@pytest.mark.lesson2
def test_genid_option_chooses_the_session_ids(serve):
    ids = iter(["first-id", "second-id"])
    store = CountingStore()
    server = serve(make_app(store=store, genid=lambda: next(ids)))
    requests.get(server.url + "/count")
    requests.get(server.url + "/count")
    assert sorted(store.all()) == ["first-id", "second-id"]


@pytest.mark.lesson6
def test_genid_returning_an_unsafe_id_is_refused_and_nothing_stored(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store, genid=lambda: "../../etc")).url + "/count")
    assert response.status_code == 500
    assert set_cookies(response) == []
    assert store.length() == 0


# -- unset ---------------------------------------------------------------------------------


@pytest.mark.lesson4
def test_unset_keep_stores_an_emptied_session(serve):
    store = CountingStore()
    server = serve(make_app(store=store))  # unset="keep" is the default
    jar = requests.Session()
    jar.get(server.url + "/count")
    response = jar.get(server.url + "/clear")
    sid, data = only_session(store)
    assert list(data) == ["cookie"]
    assert store.writes == 2
    assert set_cookies(response) == []
    assert id_in(jar.cookies["connect.sid"]) == sid


@pytest.mark.lesson4
def test_unset_destroy_deletes_an_emptied_session_and_its_cookie(serve):
    store = CountingStore()
    server = serve(make_app(store=store, unset="destroy"))
    jar = requests.Session()
    jar.get(server.url + "/count")
    response = jar.get(server.url + "/clear")
    assert store.length() == 0
    assert store.writes == 1
    assert attributes(the_set_cookie(response))["max-age"] == "0"
    assert "connect.sid" not in jar.cookies


@pytest.mark.lesson4
def test_unset_destroy_keeps_a_session_the_request_did_not_empty(serve):
    store = CountingStore()
    server = serve(make_app(store=store, unset="destroy", save_uninitialized=True))
    jar = requests.Session()
    jar.get(server.url + "/read")  # stored empty, as save_uninitialized asks
    (sid,) = store.all()
    response = jar.get(server.url + "/read")  # only reads it
    assert set_cookies(response) == []
    assert list(store.all()) == [sid]


def test_unset_accepts_only_keep_or_destroy():
    with pytest.raises(ValueError):
        sessionlib.SessionManager(Flask(__name__), secret=SECRET, unset="sometimes")


# -- cookie: max_age, expires --------------------------------------------------------------


@pytest.mark.lesson5
def test_cookie_max_age_sets_max_age_expires_and_the_stored_original_max_age(serve):
    store = CountingStore()
    before = datetime.now(timezone.utc)
    response = requests.get(serve(make_app(store=store, cookie={"max_age": 60})).url + "/count")
    attrs = attributes(the_set_cookie(response))
    assert attrs["max-age"] == "60"
    expires = parsedate_to_datetime(attrs["expires"])
    assert abs((expires - before).total_seconds() - 60) <= 2
    _, data = only_session(store)
    assert data["cookie"]["originalMaxAge"] == 60000


@pytest.mark.lesson5
def test_cookie_without_max_age_is_a_browser_session_cookie(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store)).url + "/count")
    attrs = attributes(the_set_cookie(response))
    assert "max-age" not in attrs and "expires" not in attrs
    _, data = only_session(store)
    assert data["cookie"]["originalMaxAge"] is None
    assert data["cookie"]["expires"] is None


@pytest.mark.lesson5
def test_cookie_expires_sets_a_fixed_expiry(serve):
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    store = CountingStore()
    response = requests.get(serve(make_app(store=store, cookie={"expires": moment})).url + "/count")
    attrs = attributes(the_set_cookie(response))
    assert parsedate_to_datetime(attrs["expires"]) == moment
    _, data = only_session(store)
    assert data["cookie"]["expires"] == moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.lesson5
def test_cookie_expires_stays_fixed_across_requests(serve):
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    store = DictStore()
    server = serve(make_app(store=store, cookie={"expires": moment}))
    jar = requests.Session()
    jar.get(server.url + "/count")
    threading.Event().wait(0.05)
    response = jar.get(server.url + "/count")
    assert parsedate_to_datetime(attributes(the_set_cookie(response))["expires"]) == moment
    (data,) = store.sessions.values()
    assert data["cookie"]["expires"] == moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- cookie: http_only, secure, same_site --------------------------------------------------


@pytest.mark.lesson6
@pytest.mark.parametrize(("setting", "flag"), [(None, True), (True, True), (False, False)])
def test_cookie_http_only(serve, setting, flag):
    cookie = {} if setting is None else {"http_only": setting}
    response = requests.get(serve(make_app(cookie=cookie)).url + "/count")
    assert ("httponly" in attributes(the_set_cookie(response))) is flag


@pytest.mark.lesson6
@pytest.mark.parametrize(
    ("setting", "https", "secure"),
    [
        (False, False, False),
        (False, True, False),
        (True, True, True),
        ("auto", False, False),
        ("auto", True, True),
    ],
)
def test_cookie_secure_flag(serve, setting, https, secure):
    server = serve(make_app(cookie={"secure": setting}))
    response = requests.get(server.url + "/count", headers=HTTPS if https else {})
    assert ("secure" in attributes(the_set_cookie(response))) is secure


@pytest.mark.lesson6
def test_secure_cookie_is_not_sent_over_plain_http(serve):
    store = CountingStore()
    response = requests.get(serve(make_app(store=store, cookie={"secure": True})).url + "/count")
    assert set_cookies(response) == []
    assert store.writes == 1  # saved all the same, as express-session does


@pytest.mark.lesson6
@pytest.mark.parametrize(
    ("setting", "https", "expected"),
    [
        (None, False, None),
        ("Strict", False, "Strict"),
        ("lax", False, "Lax"),
        ("auto", False, "Lax"),
        ("auto", True, "None"),
    ],
)
def test_cookie_same_site(serve, setting, https, expected):
    cookie = {"same_site": setting, "secure": "auto"}
    server = serve(make_app(cookie=cookie))
    response = requests.get(server.url + "/count", headers=HTTPS if https else {})
    assert attributes(the_set_cookie(response)).get("samesite") == expected


@pytest.mark.lesson6
def test_same_site_auto_never_sends_same_site_none_without_secure(serve):
    server = serve(make_app(cookie={"same_site": "auto"}))  # secure left at its default
    response = requests.get(server.url + "/count", headers=HTTPS)
    attrs = attributes(the_set_cookie(response))
    assert attrs.get("samesite") != "None" or "secure" in attrs


@pytest.mark.lesson6
def test_cookie_same_site_is_lax_by_default(serve):
    response = requests.get(serve(make_app()).url + "/count")
    assert attributes(the_set_cookie(response))["samesite"] == "Lax"


# -- cookie: domain, path, partitioned, priority -------------------------------------------


@pytest.mark.lesson1
def test_cookie_domain(serve):
    response = requests.get(serve(make_app(cookie={"domain": "example.test"})).url + "/count")
    assert attributes(the_set_cookie(response))["domain"] == "example.test"


@pytest.mark.lesson1
def test_cookie_partitioned(serve):
    server = serve(make_app(cookie={"partitioned": True, "secure": True, "same_site": "None"}))
    response = requests.get(server.url + "/count", headers=HTTPS)
    attrs = attributes(the_set_cookie(response))
    assert "partitioned" in attrs and "secure" in attrs


@pytest.mark.lesson1
def test_cookie_priority(serve):
    response = requests.get(serve(make_app(cookie={"priority": "high"})).url + "/count")
    assert attributes(the_set_cookie(response))["priority"] == "High"


def make_admin_app(store: sessionlib.Store) -> Flask:
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret=SECRET, store=store, cookie={"path": "/admin"})

    @app.get("/admin")
    @app.get("/admin/<path:rest>")
    def admin(rest: str = ""):
        session["visits"] = session.get("visits", 0) + 1
        return str(session["visits"])

    @app.get("/administrator")
    def administrator():
        try:
            session["visits"] = 1
        except RuntimeError as error:
            return f"refused: {error}"
        return "written"

    return app


@pytest.mark.lesson1
def test_cookie_path_scopes_the_session_to_that_path(serve):
    store = CountingStore()
    server = serve(make_admin_app(store))
    jar = requests.Session()
    response = jar.get(server.url + "/admin")
    assert attributes(the_set_cookie(response))["path"] == "/admin"
    assert jar.get(server.url + "/admin/users").text == "2"
    assert jar.get(server.url + "/admin/deep/page").text == "3"


@pytest.mark.lesson1
def test_cookie_path_admin_does_not_cover_administrator(serve):
    store = CountingStore()
    server = serve(make_admin_app(store))
    jar = requests.Session()
    jar.get(server.url + "/admin")
    reads_before, writes_before = store.reads, store.writes
    # Even with the cookie forced onto the request, /administrator has no session.
    value = jar.cookies["connect.sid"]
    response = requests.get(
        server.url + "/administrator", headers={"Cookie": f"connect.sid={value}"}
    )
    assert response.status_code == 200
    assert response.text.startswith("refused:")
    assert "outside the session cookie's path" in response.text
    assert set_cookies(response) == []
    assert (store.reads, store.writes) == (reads_before, writes_before)


def test_invalid_cookie_options_are_refused_when_the_manager_is_built():
    for cookie in ({"max_agee": 60}, {"secure": "sometimes"}, {"path": "admin"}):
        with pytest.raises((TypeError, ValueError)):
            sessionlib.SessionManager(Flask(__name__), secret=SECRET, cookie=cookie)


@pytest.mark.lesson1
def test_init_app_form_installs_the_same_sessions(serve):
    app = Flask(__name__)
    manager = sessionlib.SessionManager(secret=SECRET, name="later")
    assert manager.init_app(app) is manager

    @app.get("/n")
    def n():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    server = serve(app)
    jar = requests.Session()
    assert [jar.get(server.url + "/n").text for _ in range(2)] == ["1", "2"]
    assert list(jar.cookies.keys()) == ["later"]
