"""The library inside a real Flask app, over HTTP: the live server, ``Vary``, flashing,
hostile cookies, values JSON can't hold, an unreachable store, session ids, Redis, and a
whole login-cart-logout flow."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

import fakeredis
import pytest
import requests
from flask import (
    Flask,
    flash,
    get_flashed_messages,
    got_request_exception,
    jsonify,
    redirect,
)
from support import (
    SECRET,
    CountingStore,
    cookie_value,
    express_cookie,
    id_in,
    session,
    session_app,
    set_cookies,
    the_set_cookie,
    unreachable_redis,
    with_cookie,
)

import coursekit
import sessionlib


def make_app(store: sessionlib.Store | None = None, **options: Any) -> Flask:
    """``session_app`` that answers an unreachable store with a 503, and says whether
    Flask's ``session`` is sessionlib's."""
    app = session_app(store, **options)

    @app.errorhandler(sessionlib.StoreUnavailable)
    def store_down(error):
        return "sessions are unavailable, try again shortly", 503

    @app.get("/is-sessionlib")
    def is_sessionlib():
        return str(isinstance(session._get_current_object(), sessionlib.Session))

    return app


# -- LiveServer ----------------------------------------------------------------------------


@pytest.mark.lesson0
def test_live_server_serves_the_app_on_a_loopback_url():
    with coursekit.LiveServer(make_app()) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert requests.get(server.url + "/").text == "this route never uses the session"


@pytest.mark.lesson0
def test_leaving_the_with_block_stops_the_server():
    with coursekit.LiveServer(make_app()) as server:
        url = server.url
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/", timeout=2)


@pytest.mark.lesson0
def test_stop_frees_the_port_for_a_new_server():
    first = coursekit.LiveServer(make_app()).start()
    port = first.port
    first.stop()
    first.stop()  # a second stop is harmless
    with coursekit.LiveServer(make_app(), port=port) as again:
        assert again.port == port
        assert requests.get(again.url + "/count").text == "1"


@pytest.mark.lesson0
def test_url_of_a_server_not_started_is_a_clear_error():
    server = coursekit.LiveServer(make_app())
    with pytest.raises(RuntimeError, match="start"):
        server.url  # noqa: B018


@pytest.mark.lesson0
def test_two_servers_run_side_by_side(serve):
    one, two = serve(make_app()), serve(make_app())
    assert one.port != two.port
    assert requests.get(one.url + "/count").text == requests.get(two.url + "/count").text


@pytest.mark.lesson0
def test_named_server_replaces_the_previous_server_with_that_name():
    # What re-running a notebook cell does: same name, a new app.
    first = coursekit.LiveServer(make_app(), name="shop").start()
    first_url = first.url
    servers = [first] + [coursekit.LiveServer(make_app(), name="shop").start() for _ in range(2)]
    try:
        assert [s.running for s in servers] == [False, False, True]
        with pytest.raises(requests.ConnectionError):
            requests.get(first_url + "/", timeout=2)
        assert requests.get(servers[-1].url + "/count").text == "1"
    finally:
        servers[-1].stop()


@pytest.mark.lesson0
def test_plain_requests_without_a_cookie_jar_are_strangers(serve):
    server = serve(make_app())
    assert [requests.get(server.url + "/count").text for _ in range(3)] == ["1", "1", "1"]
    jar = requests.Session()
    assert [jar.get(server.url + "/count").text for _ in range(3)] == ["1", "2", "3"]


@pytest.mark.lesson0
def test_flask_session_is_the_sessionlib_session(serve):
    assert requests.get(serve(make_app()).url + "/is-sessionlib").text == "True"


@pytest.mark.lesson8
def test_flask_idiom_session_modified_true_is_accepted(serve):
    app = make_app()

    @app.get("/mark")
    def mark():
        session.setdefault("cart", []).append("tea")
        session.modified = True  # what Flask's docs say to write after a nested change
        return "marked"

    server = serve(app)
    jar = requests.Session()
    assert jar.get(server.url + "/mark").status_code == 200
    assert jar.get(server.url + "/read").json() == {"cart": ["tea"]}


@pytest.mark.lesson8
def test_flask_idiom_session_permanent_true_is_accepted(serve):
    app = make_app()

    @app.get("/remember-me")
    def remember_me():
        session["user"] = "ada"
        session.permanent = True
        return "remembered"

    server = serve(app)
    jar = requests.Session()
    assert jar.get(server.url + "/remember-me").status_code == 200
    assert jar.get(server.url + "/read").json() == {"user": "ada"}


# -- Vary and flashing ---------------------------------------------------------------------


@pytest.mark.lesson1
def test_vary_cookie_is_sent_when_the_session_was_used(serve):
    server = serve(make_app())
    jar = requests.Session()
    for path in ("/read", "/count", "/read"):
        assert "Cookie" in jar.get(server.url + path).headers.get("Vary", ""), path


@pytest.mark.lesson1
def test_vary_cookie_joins_a_vary_the_view_set(serve):
    app = make_app()

    @app.get("/negotiated")
    def negotiated():
        response = jsonify(n=session.get("n", 0))
        response.headers["Vary"] = "Accept-Encoding"
        return response

    vary = requests.get(serve(app).url + "/negotiated").headers["Vary"]
    assert [v.strip() for v in vary.split(",")] == ["Accept-Encoding", "Cookie"]


@pytest.mark.lesson1
def test_no_vary_cookie_when_the_session_was_not_used(serve):
    server = serve(make_app())
    jar = requests.Session()
    jar.get(server.url + "/count")
    assert "Cookie" not in jar.get(server.url + "/").headers.get("Vary", "")


@pytest.mark.lesson8
def test_flash_message_survives_a_redirect_and_is_shown_once(serve):
    app = make_app()

    @app.post("/items")
    def create_item():
        flash("Item saved")
        flash("Low stock", "warning")
        return redirect("/items")

    @app.get("/items")
    def items():
        return jsonify(get_flashed_messages(with_categories=True))

    server = serve(app)
    jar = requests.Session()
    response = jar.post(server.url + "/items")
    assert [r.status_code for r in response.history] == [302]
    assert response.json() == [["message", "Item saved"], ["warning", "Low stock"]]
    assert jar.get(server.url + "/items").json() == []


# -- hostile and broken cookies ------------------------------------------------------------


def legit_session(server: coursekit.LiveServer, store: CountingStore) -> tuple[str, str]:
    """Create a real session; return its cookie value and id; reset the call counts."""
    response = requests.get(server.url + "/count")
    value = cookie_value(the_set_cookie(response))
    store.calls.clear()
    return value, id_in(value)


BAD_COOKIES = {
    "garbage": lambda value, sid: "garbage!!",
    "empty": lambda value, sid: "",
    "unsigned": lambda value, sid: sid,
    "unsigned-with-prefix": lambda value, sid: quote("s:" + sid),
    "tampered-signature": lambda value, sid: value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"),
    "tampered-id": lambda value, sid: value.replace(sid[:4], "ZZZZ", 1),
    "truncated": lambda value, sid: value[:-6],
    "signature-removed": lambda value, sid: value.rpartition(".")[0],
    "wrong-secret": lambda value, sid: express_cookie(sid, "not the secret"),
    "undecodable": lambda value, sid: "s%3A%FF%FE%FD." + value.rpartition(".")[2],
    "percent-garbage": lambda value, sid: "%%%zz%",
    "huge": lambda value, sid: "s%3A" + "A" * 3000,
}


@pytest.mark.lesson6
@pytest.mark.parametrize("make_bad", list(BAD_COOKIES.values()), ids=list(BAD_COOKIES))
def test_bad_cookie_starts_a_new_session_without_a_store_lookup(serve, make_bad):
    store = CountingStore()
    server = serve(make_app(store))
    value, sid = legit_session(server, store)
    response = requests.get(server.url + "/count", headers=with_cookie(make_bad(value, sid)))
    assert response.status_code == 200
    assert response.text == "1"  # not the legit session's 2
    new_id = id_in(cookie_value(the_set_cookie(response)))
    assert new_id not in (None, sid)
    assert store.reads == 0
    assert store.get(sid)["n"] == 1  # the real session is untouched


@pytest.mark.lesson6
def test_validly_signed_unknown_id_is_not_adopted(serve):
    store = CountingStore()
    server = serve(make_app(store))
    forged = "chosen-by-the-attacker-0123456789"
    response = requests.get(server.url + "/count", headers=with_cookie(express_cookie(forged)))
    assert response.text == "1"
    new_id = id_in(cookie_value(the_set_cookie(response)))
    assert new_id != forged
    assert list(store.all()) == [new_id]


@pytest.mark.lesson3
def test_cookie_value_sent_without_percent_encoding_is_accepted(serve):
    store = CountingStore()
    server = serve(make_app(store))
    value, _ = legit_session(server, store)
    raw = unquote(value)  # s:<id>.<signature with + and />, as some clients send it
    assert requests.get(server.url + "/count", headers=with_cookie(raw)).text == "2"


@pytest.mark.lesson6
def test_first_valid_cookie_of_several_with_the_name_is_used(serve):
    store = CountingStore()
    server = serve(make_app(store))
    value, _ = legit_session(server, store)
    response = requests.get(
        server.url + "/count", headers={"Cookie": f"connect.sid=garbage; connect.sid={value}"}
    )
    assert response.text == "2"


@pytest.mark.lesson6
def test_junk_cookies_tossed_in_by_a_sibling_site_never_hide_the_real_one(serve):
    store = CountingStore()
    server = serve(make_app(store))
    value, _ = legit_session(server, store)
    junk = "; ".join(f"connect.sid=junk{n}" for n in range(10))
    response = requests.get(
        server.url + "/count", headers={"Cookie": f"{junk}; connect.sid={value}"}
    )
    assert response.text == "2"


# -- what a session holds ------------------------------------------------------------------


@pytest.mark.lesson4
def test_cookie_key_is_reserved_and_keys_must_be_strings(serve):
    app = make_app()

    @app.get("/misuse")
    def misuse():
        refused = []
        for key in ("cookie", 1, ("a", "b")):
            try:
                session[key] = "x"
            except (KeyError, TypeError) as error:
                refused.append(type(error).__name__)
        return jsonify(refused=refused, keys=sorted(session))

    body = requests.get(serve(app).url + "/misuse").json()
    assert body == {"refused": ["KeyError", "TypeError", "TypeError"], "keys": []}


# -- values JSON can't hold ----------------------------------------------------------------


@pytest.fixture
def captured_errors():
    errors: list[BaseException] = []

    def capture(sender, exception, **extra):
        errors.append(exception)

    got_request_exception.connect(capture)
    yield errors
    got_request_exception.disconnect(capture)


@pytest.mark.lesson4
def test_value_json_cannot_hold_fails_at_save_naming_the_key(serve):
    store = CountingStore()
    app = make_app(store)

    @app.get("/save-bytes")
    def save_bytes():
        session["avatar"] = b"\x89PNG"
        try:
            session.save()
        except TypeError as error:
            del session["avatar"]
            return f"refused: {error}", 400
        return "saved"

    response = requests.get(serve(app).url + "/save-bytes")
    assert response.status_code == 400
    assert "'avatar'" in response.text
    assert store.writes == 0 and store.length() == 0


@pytest.mark.lesson4
def test_value_json_cannot_hold_fails_at_end_of_request_and_nothing_is_written(
    serve, captured_errors
):
    store = CountingStore()
    app = make_app(store)

    @app.get("/remember-time")
    def remember_time():
        session["n"] = 2
        session["last_seen"] = datetime.now()
        return "ok"

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    writes = store.writes
    response = jar.get(server.url + "/remember-time")
    assert response.status_code == 500
    assert store.writes == writes
    (data,) = store.all().values()
    assert data["n"] == 1 and "last_seen" not in data
    (error,) = captured_errors
    assert isinstance(error, TypeError)
    assert "'last_seen'" in str(error)


# -- an unreachable store ------------------------------------------------------------------


@pytest.mark.lesson7
def test_unreachable_redis_while_loading_a_session_is_a_503(serve):
    store = sessionlib.RedisStore(unreachable_redis())
    server = serve(make_app(store))
    response = requests.get(server.url + "/count", headers=with_cookie(express_cookie("known")))
    assert response.status_code == 503
    assert response.text == "sessions are unavailable, try again shortly"


@pytest.mark.lesson7
def test_unreachable_redis_while_writing_a_new_session_is_a_503(serve):
    store = sessionlib.RedisStore(unreachable_redis())
    response = requests.get(serve(make_app(store)).url + "/count")
    assert response.status_code == 503
    assert response.text == "sessions are unavailable, try again shortly"
    assert set_cookies(response) == []


@pytest.mark.lesson7
def test_unreachable_store_without_a_handler_is_a_500_not_a_hang(serve):
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret=SECRET, store=sessionlib.RedisStore(unreachable_redis()))

    @app.get("/count")
    def count():
        session["n"] = 1
        return "1"

    assert requests.get(serve(app).url + "/count", timeout=10).status_code == 500


@pytest.mark.lesson7
def test_redis_outage_leaves_existing_sessions_intact(serve):
    server_state = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server_state)
    server = serve(make_app(sessionlib.RedisStore(client)))
    jar = requests.Session()
    assert jar.get(server.url + "/count").text == "1"
    (key,) = client.keys("sess:*")
    before = client.get(key)

    server_state.connected = False
    assert jar.get(server.url + "/count").status_code == 503
    server_state.connected = True

    assert client.get(key) == before
    assert jar.get(server.url + "/count").text == "2"


@pytest.mark.lesson7
def test_store_failing_at_save_time_leaves_the_stored_session_as_it_was(serve):
    store = CountingStore()
    server = serve(make_app(store))
    jar = requests.Session()
    jar.get(server.url + "/count")
    (before,) = store.all().values()

    app_state = {"armed": True}
    original_set = store.set

    def failing_set(sid, data):
        if app_state["armed"]:
            raise sessionlib.StoreUnavailable("write failed (simulated)")
        return original_set(sid, data)

    store.set = store.replace = failing_set
    assert jar.get(server.url + "/count").status_code == 503
    (after,) = store.all().values()
    assert after["n"] == before["n"] == 1
    app_state["armed"] = False
    assert jar.get(server.url + "/count").text == "2"


# -- session ids ---------------------------------------------------------------------------


@pytest.mark.lesson2
def test_session_ids_are_url_safe_distinct_and_at_least_128_bits(serve):
    store = CountingStore()
    server = serve(make_app(store))
    for _ in range(40):
        requests.get(server.url + "/count")
    ids = list(store.all())
    assert len(set(ids)) == 40
    for sid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", sid)
        raw = base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))
        assert len(raw) * 8 >= 128


@pytest.mark.lesson2
def test_session_id_in_the_cookie_is_the_key_in_the_store(serve):
    store = CountingStore()
    server = serve(make_app(store))
    jar = requests.Session()
    response = jar.get(server.url + "/count")
    assert list(store.all()) == [id_in(cookie_value(the_set_cookie(response)))]
    assert jar.get(server.url + "/id").text == list(store.all())[0]


# -- Redis over HTTP -----------------------------------------------------------------------


@pytest.mark.lesson7
def test_sessions_in_redis_use_connect_redis_keys_values_and_ttls(serve, redis_client, key_prefix):
    server = serve(
        make_app(sessionlib.RedisStore(redis_client, prefix=key_prefix), cookie={"max_age": 60})
    )
    jar = requests.Session()
    jar.get(server.url + "/count")
    sid = id_in(jar.cookies["connect.sid"])
    assert list(redis_client.scan_iter(key_prefix + "*")) == [f"{key_prefix}{sid}".encode()]
    stored = json.loads(redis_client.get(f"{key_prefix}{sid}"))
    assert stored["n"] == 1
    assert stored["cookie"]["originalMaxAge"] == 60000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stored["cookie"]["expires"])
    assert 58 <= redis_client.ttl(f"{key_prefix}{sid}") <= 61

    redis_client.expire(f"{key_prefix}{sid}", 5)  # as if the session had sat idle
    assert jar.get(server.url + "/read").json() == {"n": 1}
    assert 58 <= redis_client.ttl(f"{key_prefix}{sid}") <= 61  # reading it extended its life


@pytest.mark.lesson7
def test_session_written_by_express_session_is_read_by_flask(serve, redis_client, key_prefix):
    redis_client.set(
        key_prefix + "from-express",
        '{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"views":7}',
        ex=86400,
    )
    server = serve(make_app(sessionlib.RedisStore(redis_client, prefix=key_prefix)))
    response = requests.get(
        server.url + "/read", headers=with_cookie(express_cookie("from-express"))
    )
    assert response.json() == {"views": 7}


@pytest.mark.lesson7
def test_session_expired_in_redis_starts_a_new_one(serve, redis_client, key_prefix):
    server = serve(
        make_app(sessionlib.RedisStore(redis_client, prefix=key_prefix), cookie={"max_age": 60})
    )
    jar = requests.Session()
    jar.get(server.url + "/count")
    redis_client.delete(*redis_client.scan_iter(key_prefix + "*"))  # what expiry does to the key
    assert jar.get(server.url + "/count").text == "1"


# -- a capstone flow -----------------------------------------------------------------------


def make_shop(store: sessionlib.Store) -> Flask:
    app = make_app(store, cookie={"max_age": 600})

    @app.post("/login/<user>")
    def login(user):
        session.regenerate()
        session["user"] = user
        return "welcome " + user

    @app.post("/cart/<item>")
    def add(item):
        if "user" not in session:
            return "log in first", 401
        session.setdefault("cart", []).append(item)
        return jsonify(session["cart"])

    @app.get("/cart")
    def cart():
        return jsonify(user=session.get("user"), cart=session.get("cart", []))

    @app.post("/logout")
    def logout():
        session.destroy()
        return "bye"

    return app


@pytest.mark.lesson8
def test_login_cart_logout_flow_on_redis(serve, redis_client, key_prefix):
    server = serve(make_shop(sessionlib.RedisStore(redis_client, prefix=key_prefix)))
    alice, bob = requests.Session(), requests.Session()

    assert alice.post(server.url + "/cart/tea").status_code == 401
    assert list(redis_client.scan_iter(key_prefix + "*")) == []  # an anonymous visit stores nothing

    alice.post(server.url + "/login/alice")
    bob.post(server.url + "/login/bob")
    alice_cookie = alice.cookies["connect.sid"]
    alice.post(server.url + "/cart/tea")
    alice.post(server.url + "/cart/scones")
    bob.post(server.url + "/cart/coffee")
    assert alice.get(server.url + "/cart").json() == {"user": "alice", "cart": ["tea", "scones"]}
    assert bob.get(server.url + "/cart").json() == {"user": "bob", "cart": ["coffee"]}
    assert len(list(redis_client.scan_iter(key_prefix + "*"))) == 2

    logout = alice.post(server.url + "/logout")
    assert "Max-Age=0" in the_set_cookie(logout)
    assert len(list(redis_client.scan_iter(key_prefix + "*"))) == 1
    assert alice.get(server.url + "/cart").json() == {"user": None, "cart": []}
    stolen = requests.get(server.url + "/cart", headers=with_cookie(alice_cookie))
    assert stolen.json() == {"user": None, "cart": []}
    assert bob.get(server.url + "/cart").json()["user"] == "bob"
