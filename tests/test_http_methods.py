"""express-session's save rules and the session's methods (``save``, ``destroy``,
``regenerate``, ``reload``, ``touch``, ``cookie``), seen over HTTP with a cookie jar."""

from __future__ import annotations

import threading
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import fakeredis
import pytest
import requests
from flask import Flask, jsonify
from support import (
    CountingStore,
    attributes,
    cookie_value,
    id_in,
    session,
    session_app,
    set_cookies,
    the_set_cookie,
)

import coursekit
import sessionlib


def make_app(store: sessionlib.Store, **options: Any) -> Flask:
    """``session_app`` plus a route for each way a request can use the session's methods."""
    app = session_app(store, **options)

    @app.get("/cart/add/<item>")
    def add_to_cart(item):
        session.setdefault("cart", [])
        session["cart"].append(item)  # a nested change: the mapping itself is not assigned
        return jsonify(session["cart"])

    @app.get("/save-then-end")
    def save_then_end():
        session["saved"] = "yes"
        session.save()
        return "saved"

    @app.get("/save-then-change")
    def save_then_change():
        session["step"] = 1
        session.save()
        session["step"] = 2
        return "changed after save"

    @app.get("/save-shows-in-store")
    def save_shows_in_store():
        session["saved"] = "now"
        before = store.get(session.id)
        session.save()
        after = store.get(session.id)
        return jsonify(before=before, after={k: v for k, v in after.items() if k != "cookie"})

    @app.get("/save-empty")
    def save_empty():
        session.get("anything")
        session.save()
        return "saved an empty session"

    @app.get("/save-first")
    def save_first():
        session.save()  # the first thing the request does with its session
        return "saved"

    @app.get("/logout")
    def logout():
        session.destroy()
        return "bye"

    @app.get("/destroy-then-write")
    def destroy_then_write():
        old = session.id
        session.destroy()
        session["fresh"] = True
        return jsonify(old=old, new=session.id)

    @app.get("/login/<user>")
    def login(user):
        session.regenerate()
        session["user"] = user
        return session.id

    @app.get("/regenerate")
    def regenerate():
        session.regenerate()
        return session.id

    @app.get("/reload-discards")
    def reload_discards():
        session["n"] = 999
        session.reload()
        return jsonify(dict(session))

    @app.get("/reload-sees-store")
    def reload_sees_store():
        session.get("n")
        changed = dict(store.get(session.id))
        changed["n"] = 42  # as another request would have saved meanwhile
        store.set(session.id, changed)
        session.reload()
        return jsonify(dict(session))

    @app.get("/save-then-reload")
    def save_then_reload():
        session["user"] = "ada"
        session.save()
        session.reload()
        return jsonify(dict(session))

    @app.get("/reload-gone")
    def reload_gone():
        store.destroy(session.id)
        try:
            session.reload()
        except KeyError as error:
            return f"gone: {error}"
        return "still there"

    @app.get("/cookie")
    def cookie():
        before, expires = session.cookie.max_age, session.cookie.expires
        session.touch()
        return jsonify(
            max_age=before,
            after_touch=session.cookie.max_age,
            original_max_age=session.cookie.original_max_age,
            expires=expires.isoformat() if expires else None,
        )

    @app.get("/shorten")
    def shorten():
        session.cookie.max_age = 5
        return "this session now lives five seconds"

    return app


def parsedate(text: str) -> float:
    return parsedate_to_datetime(text).timestamp()


def pause(seconds: float) -> None:
    threading.Event().wait(seconds)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def server(serve, store) -> coursekit.LiveServer:
    return serve(make_app(store, cookie={"max_age": 60}))


@pytest.fixture
def jar() -> requests.Session:
    return requests.Session()


# -- change detection and writes -----------------------------------------------------------


@pytest.mark.lesson4
def test_nested_change_is_detected_and_saved(server, store, jar):
    assert jar.get(server.url + "/cart/add/apple").json() == ["apple"]
    assert jar.get(server.url + "/cart/add/pear").json() == ["apple", "pear"]
    assert store.writes == 2
    assert jar.get(server.url + "/read").json() == {"cart": ["apple", "pear"]}
    assert store.writes == 2


@pytest.mark.lesson4
def test_unmodified_loaded_session_is_touched_not_rewritten(serve):
    store = CountingStore()
    server = serve(make_app(store, cookie={"max_age": 1}))
    first = requests.get(server.url + "/count")
    cookie = {"Cookie": first.headers["Set-Cookie"].split(";")[0]}
    for _ in range(3):  # 1.5 s in all, past the first expiry: each visit extends its life
        pause(0.5)
        assert requests.get(server.url + "/read", headers=cookie).json() == {"n": 1}
    assert store.writes == 1


@pytest.mark.lesson4
def test_request_that_never_uses_the_session_never_reaches_the_store(server, store, jar):
    jar.get(server.url + "/count")
    reads, writes = store.reads, store.writes
    response = jar.get(server.url + "/")
    assert (store.reads, store.writes) == (reads, writes)
    assert set_cookies(response) == []


@pytest.mark.lesson4
def test_changed_session_with_an_expiry_gets_a_fresh_cookie(server, jar):
    jar.get(server.url + "/count")
    header = the_set_cookie(jar.get(server.url + "/count"))
    assert attributes(header)["max-age"] == "60"


@pytest.mark.lesson4
def test_changed_browser_session_keeps_its_cookie_without_a_new_one(serve, store, jar):
    server = serve(make_app(store))  # no max_age: the cookie never needs refreshing
    the_set_cookie(jar.get(server.url + "/count"))
    response = jar.get(server.url + "/count")
    assert response.text == "2"
    assert set_cookies(response) == []


@pytest.mark.lesson4
def test_each_response_carries_at_most_one_set_cookie(server, jar):
    for path in ("/count", "/count", "/read", "/login/ada", "/logout", "/destroy-then-write"):
        assert len(set_cookies(jar.get(server.url + path))) <= 1, path


# -- save() --------------------------------------------------------------------------------


@pytest.mark.lesson4
def test_save_then_end_of_request_is_exactly_one_write(server, store, jar):
    jar.get(server.url + "/save-then-end")
    assert store.writes == 1
    assert jar.get(server.url + "/read").json() == {"saved": "yes"}


@pytest.mark.lesson4
def test_save_writes_to_the_store_at_once(server, jar):
    body = jar.get(server.url + "/save-shows-in-store").json()
    assert body == {"before": None, "after": {"saved": "now"}}


@pytest.mark.lesson4
def test_change_after_save_is_written_again_at_the_end(server, store, jar):
    jar.get(server.url + "/save-then-change")
    assert store.writes == 2
    assert jar.get(server.url + "/read").json() == {"step": 2}


@pytest.mark.lesson4
def test_saving_a_new_empty_session_by_hand_stores_and_cookies_it(server, store, jar):
    response = jar.get(server.url + "/save-empty")
    (sid,) = store.all()
    assert id_in(cookie_value(the_set_cookie(response))) == sid
    assert store.writes == 1


@pytest.mark.lesson4
def test_save_as_the_first_use_of_the_session_stores_it(server, store, jar):
    response = jar.get(server.url + "/save-first")
    assert response.status_code == 200
    assert store.writes == 1
    assert len(set_cookies(response)) == 1


@pytest.mark.lesson4
def test_store_is_written_before_the_response_leaves(server, store):
    requests.get(server.url + "/count")
    # No waiting: the write happened before the body was sent.
    assert [data["n"] for data in store.all().values()] == [1]


# -- destroy() -----------------------------------------------------------------------------


@pytest.mark.lesson6
def test_destroy_deletes_the_session_and_expires_the_cookie(server, store, jar):
    jar.get(server.url + "/count")
    old_value = jar.cookies["connect.sid"]
    header = the_set_cookie(jar.get(server.url + "/logout"))
    assert store.length() == 0
    assert cookie_value(header) == ""
    assert attributes(header)["max-age"] == "0"
    assert "1970" in attributes(header)["expires"]
    assert "connect.sid" not in jar.cookies
    # A copy of the old cookie no longer opens anything.
    replay = requests.get(server.url + "/read", headers={"Cookie": f"connect.sid={old_value}"})
    assert replay.json() == {}


@pytest.mark.lesson6
def test_write_after_destroy_starts_a_new_session(server, store, jar):
    jar.get(server.url + "/count")
    response = jar.get(server.url + "/destroy-then-write")
    ids = response.json()
    assert ids["old"] != ids["new"]
    assert list(store.all()) == [ids["new"]]
    assert id_in(cookie_value(the_set_cookie(response))) == ids["new"]
    assert jar.get(server.url + "/read").json() == {"fresh": True}


@pytest.mark.lesson6
def test_destroy_of_a_session_never_stored_sends_no_cookie(server, store):
    response = requests.get(server.url + "/logout")
    assert set_cookies(response) == []
    assert store.writes == 0


# -- regenerate() --------------------------------------------------------------------------


@pytest.mark.lesson6
def test_regenerate_gives_a_new_id_and_the_old_id_dies(server, store, jar):
    jar.get(server.url + "/count")
    old_value = jar.cookies["connect.sid"]
    old_id = id_in(old_value)
    response = jar.get(server.url + "/login/ada")
    new_id = response.text
    assert new_id != old_id
    assert id_in(cookie_value(the_set_cookie(response))) == new_id
    assert list(store.all()) == [new_id]
    assert jar.get(server.url + "/read").json() == {"user": "ada"}  # regenerate empties data
    replay = requests.get(server.url + "/read", headers={"Cookie": f"connect.sid={old_value}"})
    assert replay.json() == {}


@pytest.mark.lesson6
def test_regenerate_alone_saves_and_cookies_the_new_id(server, store, jar):
    jar.get(server.url + "/count")
    old_id = id_in(jar.cookies["connect.sid"])
    response = jar.get(server.url + "/regenerate")
    assert response.text != old_id
    assert list(store.all()) == [response.text]
    assert id_in(cookie_value(the_set_cookie(response))) == response.text


@pytest.mark.lesson6
def test_login_with_regenerate_defeats_session_fixation(server):
    # The attacker cannot forge a signature, but can plant a valid session of their own
    # in the victim's browser; logging in must not keep that id.
    attacker = requests.Session()
    attacker.get(server.url + "/count")
    planted = attacker.cookies["connect.sid"]
    victim = requests.Session()
    victim.cookies.update(attacker.cookies)
    victim.get(server.url + "/login/victim")
    assert victim.cookies["connect.sid"] != planted
    assert attacker.get(server.url + "/read").json() == {}


# -- reload() ------------------------------------------------------------------------------


@pytest.mark.lesson4
def test_reload_discards_unsaved_changes(server, store, jar):
    jar.get(server.url + "/count")
    assert jar.get(server.url + "/reload-discards").json() == {"n": 1}
    assert store.writes == 1


@pytest.mark.lesson4
def test_reload_reads_what_the_store_holds_now(server, jar):
    jar.get(server.url + "/count")
    assert jar.get(server.url + "/reload-sees-store").json() == {"n": 42}
    assert jar.get(server.url + "/read").json() == {"n": 42}


@pytest.mark.lesson4
def test_a_new_session_saved_then_reloaded_still_sends_its_cookie(server, jar):
    response = jar.get(server.url + "/save-then-reload")
    assert response.json() == {"user": "ada"}
    assert "Set-Cookie" in response.headers  # the browser has not heard of this id yet
    assert jar.get(server.url + "/read").json() == {"user": "ada"}


@pytest.mark.lesson4
def test_reload_of_a_session_gone_from_the_store_raises_key_error(server, jar):
    jar.get(server.url + "/count")
    assert jar.get(server.url + "/reload-gone").text.startswith("gone:")


# -- the cookie: countdown, touch, max_age per session -------------------------------------


@pytest.fixture(params=["memory", "redis"])
def any_store_server(request, serve):
    store = (
        sessionlib.MemoryStore()
        if request.param == "memory"
        else sessionlib.RedisStore(fakeredis.FakeRedis())
    )
    return serve(make_app(store, cookie={"max_age": 60}))


@pytest.mark.lesson5
def test_cookie_max_age_counts_down_between_requests(request, any_store_server, jar):
    first = jar.get(any_store_server.url + "/count")
    expires = parsedate(attributes(the_set_cookie(first))["expires"])
    pause(0.3)
    cookie = jar.get(any_store_server.url + "/cookie").json()
    assert cookie["original_max_age"] == 60
    assert cookie["max_age"] <= 59.8
    assert abs(datetime.fromisoformat(cookie["expires"]).timestamp() - expires) <= 1


@pytest.mark.lesson5
def test_touch_restarts_the_countdown(serve, jar):
    server = serve(make_app(sessionlib.RedisStore(fakeredis.FakeRedis()), cookie={"max_age": 60}))
    jar.get(server.url + "/count")
    pause(0.25)
    cookie = jar.get(server.url + "/cookie").json()
    assert cookie["max_age"] <= 59.85
    assert cookie["after_touch"] == pytest.approx(60, abs=0.05)
    assert cookie["original_max_age"] == 60


@pytest.mark.lesson5
def test_setting_cookie_max_age_changes_this_sessions_life(server, store, jar):
    jar.get(server.url + "/count")
    response = jar.get(server.url + "/shorten")
    assert attributes(the_set_cookie(response))["max-age"] == "5"
    (data,) = store.all().values()
    assert data["cookie"]["originalMaxAge"] == 5000
    assert jar.get(server.url + "/cookie").json()["original_max_age"] == 5


@pytest.mark.lesson5
def test_session_past_its_max_age_is_gone(serve, store):
    server = serve(make_app(store, cookie={"max_age": 0.2}))
    first = requests.get(server.url + "/count")
    value = cookie_value(the_set_cookie(first))
    pause(0.3)
    again = requests.get(server.url + "/count", headers={"Cookie": f"connect.sid={value}"})
    assert again.text == "1"
    assert id_in(cookie_value(the_set_cookie(again))) != id_in(value)
