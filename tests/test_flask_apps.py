"""sessionlib inside real Flask apps: Flask-Login (login rotates the id, logout sticks,
remember-me), Flask-WTF's CSRF, Flask's own configuration, and the safety contract
against requests in flight, stolen cookies and tossed cookies. Over HTTP, with the real
extensions."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import CSRFProtect
from flask_wtf.csrf import generate_csrf
from support import SECRET, CountingStore, express_cookie, id_in, session_app, set_cookies
from werkzeug.middleware.proxy_fix import ProxyFix

import sessionlib
from sessionlib import signals

pytestmark = pytest.mark.lesson6
NAME = "connect.sid"


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


def login_app(store: sessionlib.Store | None = None, **options: Any) -> Flask:
    """A shop on Flask-Login: a cart before login, ``/login/<name>``, ``/logout``, ``/me``;
    ``/slow`` reads the session, then waits for ``app.config["GO"]`` before changing it."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, GO=threading.Event(), LOADED=threading.Event())
    sessionlib.SessionManager(app, store=store, **options)
    LoginManager(app).user_loader(User)

    @app.post("/cart/<item>")
    def add(item: str) -> Any:
        session["cart"] = [*session.get("cart", []), item]
        return session["cart"]

    @app.post("/login/<name>")
    def login(name: str) -> str:
        login_user(User(name), remember=request.args.get("remember") == "1")
        return name

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.get("/me")
    def me() -> Any:
        return {"user": current_user.get_id(), "cart": session.get("cart", [])}

    @app.post("/slow")
    def slow() -> str:
        session.get("cart")
        app.config["LOADED"].set()
        app.config["GO"].wait(10)
        session["late"] = "written after the logout"
        return "done"

    return app


def cookie_in(jar: requests.Session) -> str:
    return jar.cookies[NAME]


# -- 1. login rotates the id, keeping the data ---------------------------------------------


def planted_session(server: Any) -> tuple[requests.Session, str]:
    """An attacker's stored session, and its cookie to plant in a victim's browser."""
    attacker = requests.Session()
    attacker.post(server.url + "/cart/bait")
    return attacker, cookie_in(attacker)


def assert_the_planted_session_is_dead(
    server: Any, store: sessionlib.Store, attacker: requests.Session, planted: str
) -> None:
    assert attacker.get(server.url + "/me").json()["user"] is None
    assert store.get(id_in(planted)) is None  # the old entry is gone


def test_a_planted_cookie_is_anonymous_after_the_victim_logs_in(any_store, serve) -> None:
    server = serve(login_app(any_store))
    attacker, planted = planted_session(server)
    victim = requests.Session()
    victim.cookies.set(NAME, planted, domain="127.0.0.1", path="/")  # e.g. from a sibling site
    victim.post(server.url + "/cart/tea")
    victim.post(server.url + "/login/ada")

    assert cookie_in(victim) != planted
    assert victim.get(server.url + "/me").json() == {"user": "ada", "cart": ["bait", "tea"]}
    assert_the_planted_session_is_dead(server, any_store, attacker, planted)


def test_a_planted_cookie_is_anonymous_after_a_remember_me_cookie_logs_the_victim_in(
    any_store, serve
) -> None:
    server = serve(login_app(any_store))
    attacker, planted = planted_session(server)
    victim = requests.Session()
    victim.post(server.url + "/login/ada?remember=1")
    victim.cookies.set(NAME, planted, domain="127.0.0.1", path="/")  # over the victim's own

    assert victim.get(server.url + "/me").json()["user"] == "ada"  # by the remember cookie
    assert cookie_in(victim) != planted
    assert_the_planted_session_is_dead(server, any_store, attacker, planted)


def test_login_signals_false_leaves_the_id_alone(serve) -> None:
    server = serve(login_app(login_signals=False))
    jar = requests.Session()
    jar.post(server.url + "/cart/tea")
    before = cookie_in(jar)
    jar.post(server.url + "/login/ada")
    assert id_in(cookie_in(jar)) == id_in(before)


def test_rotate_keeps_data_and_lifetime_under_a_new_id(serve) -> None:
    app = session_app(cookie={"max_age": 60})

    @app.post("/rotate")
    def rotate() -> str:
        session.cookie.max_age = 3600  # "remember me" chosen before login
        old = session.id
        session.rotate()
        return old

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    old = jar.post(server.url + "/rotate").text
    assert id_in(cookie_in(jar)) != old
    assert jar.get(server.url + "/read").json() == {"n": 1}
    assert "Max-Age=3600" in jar.post(server.url + "/rotate").headers["Set-Cookie"]


# -- logout destroys the entry, clears the cookie, and sticks ------------------------------


def test_logout_destroys_the_session_and_an_old_cookie_replayed_is_anonymous(
    any_store, serve
) -> None:
    server = serve(login_app(any_store))
    jar = requests.Session()
    jar.post(server.url + "/login/ada")
    stolen = cookie_in(jar)
    response = jar.post(server.url + "/logout")
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert any_store.get(id_in(stolen)) is None
    replay = requests.get(server.url + "/me", cookies={NAME: stolen})
    assert replay.json()["user"] is None


def test_logout_still_clears_flask_logins_remember_cookie(serve) -> None:
    server = serve(login_app())
    jar = requests.Session()
    jar.post(server.url + "/login/ada?remember=1")
    assert "remember_token" in jar.cookies
    jar.post(server.url + "/logout")
    assert "remember_token" not in jar.cookies
    assert jar.get(server.url + "/me").json()["user"] is None


def test_remember_me_logs_a_user_back_in_with_the_apps_secret_key(serve) -> None:
    server = serve(login_app())
    jar = requests.Session()
    jar.post(server.url + "/login/ada?remember=1")
    later = requests.Session()  # the browser was closed: only the remember cookie is left
    later.cookies.set("remember_token", jar.cookies["remember_token"])
    assert later.get(server.url + "/me").json()["user"] == "ada"


# -- 2. a request in flight never undoes a logout ------------------------------------------


@pytest.mark.parametrize("merge", [False, True], ids=["whole", "merge"])
@pytest.mark.parametrize("ending", ["logout", "login"])
def test_a_request_in_flight_cannot_bring_back_a_session_ended_meanwhile(
    every_store, serve, merge, ending
) -> None:
    app = login_app(every_store, merge=merge)
    server = serve(app)
    jar = requests.Session()
    jar.post(server.url + "/login/ada")
    old = cookie_in(jar)
    interrupted: list[dict[str, Any]] = []
    signals.session_interrupted.connect(lambda sender, **data: interrupted.append(data), weak=False)

    slow: dict[str, requests.Response] = {}
    thread = threading.Thread(
        target=lambda: slow.update(r=requests.post(server.url + "/slow", cookies={NAME: old}))
    )
    thread.start()
    assert app.config["LOADED"].wait(5)
    jar.post(server.url + ("/logout" if ending == "logout" else "/login/bob"))
    app.config["GO"].set()
    thread.join(10)
    signals.session_interrupted.receivers.clear()

    assert slow["r"].status_code == 200
    assert "Max-Age=0" in slow["r"].headers["Set-Cookie"]  # the old cookie is told to go
    assert every_store.get(id_in(old)) is None  # nothing was written back
    assert requests.get(server.url + "/me", cookies={NAME: old}).json()["user"] is None
    assert len(interrupted) == 1


def test_save_in_the_view_says_when_the_session_was_ended_meanwhile(serve) -> None:
    app = session_app()

    @app.post("/save-after-logout-elsewhere")
    def save() -> str:
        app.extensions["sessionlib"].store.destroy(session.id)
        session["n"] = 99
        session.save()
        return str(session.interrupted)

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    assert jar.post(server.url + "/save-after-logout-elsewhere").text == "True"
    assert jar.get(server.url + "/read").json() == {}


# -- 3. an absolute lifetime ---------------------------------------------------------------


def test_absolute_timeout_ends_a_session_however_active(every_store, serve) -> None:
    server = serve(login_app(every_store, absolute_timeout=1.5, rolling=True))
    jar = requests.Session()
    jar.post(server.url + "/login/ada")
    first = id_in(cookie_in(jar))
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:  # busy all along: rolling resets the idle clock
        assert jar.get(server.url + "/me").json()["user"] == "ada"
        time.sleep(0.2)
    time.sleep(0.5)
    assert jar.get(server.url + "/me").json()["user"] is None
    assert every_store.get(first) is None


def test_absolute_timeout_travels_in_the_entry_as_created_ms(
    redis_client, key_prefix, serve
) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    server = serve(session_app(store, absolute_timeout=3600))
    jar = requests.Session()
    started = time.time() * 1000
    jar.get(server.url + "/count")
    (entry,) = store.all().values()
    assert started - 5 <= entry["_created"] <= time.time() * 1000 + 5
    assert list(entry) == ["cookie", "_created", "n"]
    assert jar.get(server.url + "/read").json() == {"n": 1}  # hidden from the mapping


@pytest.mark.parametrize("merge", [False, True], ids=["whole", "merge"])
def test_an_entry_without_a_creation_time_starts_counting_at_its_first_use(
    any_store, serve, merge
) -> None:
    plain = serve(session_app(any_store))
    jar = requests.Session()
    jar.get(plain.url + "/count")  # written without absolute_timeout (or by Express)
    strict = serve(session_app(any_store, absolute_timeout=3600, merge=merge))
    assert jar.get(strict.url + "/read").json() == {"n": 1}
    (entry,) = any_store.all().values()
    assert abs(entry["_created"] / 1000 - time.time()) < 5
    jar.get(strict.url + "/count")  # the count goes on from there, never starting again
    (later,) = any_store.all().values()
    assert later["_created"] == entry["_created"] and later["n"] == 2


# -- 4. attributes come from today's settings, not the stored entry ------------------------


def test_a_session_created_before_a_setting_changed_gets_todays_attributes(serve) -> None:
    store = sessionlib.MemoryStore()
    old = serve(session_app(store, cookie={"max_age": 60, "http_only": False, "same_site": None}))
    jar = requests.Session()
    header = jar.get(old.url + "/count").headers["Set-Cookie"]
    assert "HttpOnly" not in header and "SameSite" not in header
    new = serve(session_app(store, cookie={"max_age": 60}))
    header = jar.get(new.url + "/count").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert jar.get(new.url + "/read").json() == {"n": 2}


def test_secure_auto_follows_the_request_not_the_first_one(serve) -> None:
    app = session_app(cookie={"max_age": 60, "secure": "auto"})
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    server = serve(app)
    jar = requests.Session()
    assert "Secure" not in jar.get(server.url + "/count").headers["Set-Cookie"]
    https = jar.get(server.url + "/count", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in https.headers["Set-Cookie"]


# -- 5. Flask's configuration --------------------------------------------------------------


def configured_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    sessionlib.SessionManager(app)

    @app.get("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/forever")
    def forever() -> str:
        session.permanent = True
        return "permanent"

    return app


def test_flask_settings_the_app_changed_are_the_defaults(serve) -> None:
    app = configured_app(
        SECRET_KEY="flask secret",
        SESSION_COOKIE_NAME="shop",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_DOMAIN="shop.test",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=2),
    )
    client = app.test_client()
    header = client.get("/count").headers["Set-Cookie"]
    assert header.startswith("shop=s%3A")
    assert "SameSite=Strict" in header and "Domain=shop.test" in header
    assert id_in(header.split(";")[0].partition("=")[2], "flask secret") is not None
    assert "Max-Age=7200" in client.get("/forever").headers["Set-Cookie"]
    interface = app.session_interface
    with app.test_request_context("/"):
        assert interface.get_cookie_name(app) == "shop"
        assert interface.get_cookie_samesite(app) == "Strict"
        assert interface.get_cookie_domain(app) == "shop.test"
        assert interface.get_cookie_httponly(app) is True
        assert interface.get_cookie_secure(app) is False


def test_flasks_unchanged_defaults_do_not_weaken_sessionlibs(serve) -> None:
    header = configured_app(SECRET_KEY="k").test_client().get("/count").headers["Set-Cookie"]
    assert header.startswith("connect.sid=") and "SameSite=Lax" in header


def test_an_explicit_option_wins_over_flasks_setting() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k", SESSION_COOKIE_NAME="from-config")
    sessionlib.SessionManager(app, name="from-option", secret="s")
    assert app.session_interface.get_cookie_name(app) == "from-option"


def test_secret_key_fallbacks_verify_cookies_signed_with_an_old_key() -> None:
    old = configured_app(SECRET_KEY="old key")
    store = old.extensions["sessionlib"].store
    client = old.test_client()
    client.get("/count")
    rotated = Flask(__name__)
    rotated.config.update(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["old key"])
    sessionlib.SessionManager(rotated, store=store)
    rotated.add_url_rule("/count", view_func=old.view_functions["count"])
    response = rotated.test_client()
    response.set_cookie(NAME, client.get_cookie(NAME).value)
    assert response.get("/count").text == "2"  # verified with the fallback
    fresh = rotated.test_client().get("/count").headers["Set-Cookie"]
    assert id_in(fresh.split(";")[0].partition("=")[2], "new key")  # signed with the new


def test_application_root_is_the_cookie_path(serve) -> None:
    app = configured_app(SECRET_KEY="k", APPLICATION_ROOT="/shop")
    with app.test_request_context("/shop/x"):
        assert app.session_interface.get_cookie_path(app) == "/shop"


def test_no_secret_anywhere_is_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="secret"):
        sessionlib.SessionManager(Flask(__name__))
    for wrong in (None, 5, [], ["ok", 5], [""]):
        with pytest.raises(ValueError, match="secret"):
            sessionlib.SessionManager(secret=wrong)


def test_flask_wtf_csrf_works_on_sessionlib(serve) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "wtf"
    sessionlib.SessionManager(app)
    CSRFProtect(app)
    app.add_url_rule("/form", "form", view_func=lambda: generate_csrf())
    app.add_url_rule("/submit", "submit", view_func=lambda: "accepted", methods=["POST"])
    server = serve(app)
    jar = requests.Session()
    token = jar.get(server.url + "/form").text
    assert jar.post(server.url + "/submit", data={"csrf_token": token}).text == "accepted"
    assert jar.post(server.url + "/submit", data={"csrf_token": "forged"}).status_code == 400
    assert requests.post(server.url + "/submit", data={"csrf_token": token}).status_code == 400


# -- 6, 7, 8. Flask's session attributes ---------------------------------------------------


def test_reading_modified_before_the_session_is_used_is_false(serve) -> None:
    app = session_app()
    seen: list[bool] = []
    app.after_request(lambda response: seen.append(session.modified) or response)
    server = serve(app)
    assert requests.get(server.url + "/").status_code == 200
    assert seen == [False]


def test_permanent_false_sends_a_browser_session_cookie(serve) -> None:
    app = session_app(cookie={"max_age": 600})

    @app.get("/forget-me")
    def forget_me() -> str:
        session.permanent = False
        return "until the browser closes"

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    header = jar.get(server.url + "/forget-me").headers["Set-Cookie"]
    assert "Expires" not in header and "Max-Age" not in header


def test_modified_true_forces_a_write(serve) -> None:
    store = CountingStore()
    app = session_app(store)

    @app.get("/force")
    def force() -> str:
        session.get("n")
        session.modified = True
        return "forced"

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    jar.get(server.url + "/force")
    assert store.writes == 2


# -- 9. two cookies of one name ------------------------------------------------------------


def test_of_several_signed_cookies_the_first_whose_session_exists_wins(serve) -> None:
    store = CountingStore()
    server = serve(session_app(store))
    jar = requests.Session()
    jar.get(server.url + "/count")
    real = id_in(jar.cookies[NAME])
    tossed = express_cookie("tossed-by-a-sibling-subdomain-000")
    header = {"Cookie": f"{NAME}={tossed}; {NAME}={express_cookie(real)}"}
    assert requests.get(server.url + "/read", headers=header).json() == {"n": 1}


def test_only_a_few_cookies_of_one_name_are_tried(serve) -> None:
    store = CountingStore()
    server = serve(session_app(store))
    many = "; ".join(
        f"{NAME}={express_cookie(f'unknown-{n:02d}-xxxxxxxxxxxxxxxxxx')}" for n in range(20)
    )
    requests.get(server.url + "/read", headers={"Cookie": many})
    assert store.reads <= 3


# -- 10, 11. Redis entries and prefixes ----------------------------------------------------


def test_a_redis_entry_nested_deeper_than_the_parser_allows_is_a_fresh_session(
    redis_client, key_prefix, serve, caplog
) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    server = serve(session_app(store))
    sid = "deeply-nested-entry-0123456789ab"
    redis_client.set(store.key(sid), '{"cookie": {}, "n": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with caplog.at_level(logging.WARNING, logger="sessionlib"):
        response = requests.get(server.url + "/read", cookies={NAME: express_cookie(sid)})
    assert response.status_code == 200 and response.json() == {}
    assert any(r.name == "sessionlib" for r in caplog.records)


def test_a_prefix_with_glob_characters_is_matched_literally(redis_client, key_prefix) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix + "app[1]:")
    redis_client.set(key_prefix + "app1:queue", "another app's key")
    store.set("a", {"cookie": {"originalMaxAge": None, "expires": None}})
    assert store.ids() == ["a"] and store.length() == 1
    store.clear()
    assert redis_client.get(key_prefix + "app1:queue") == b"another app's key"


# -- 12. cookie settings are refused when the manager is built -----------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"name": "a;b"}, "name"),
        ({"name": "a=b"}, "name"),
        ({"name": "a b"}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"cookie": {"domain": "a.test;x"}}, "domain"),
        ({"cookie": {"same_site": "None"}}, "secure"),
        ({"name": "__Host-sid", "cookie": {"secure": True, "path": "/app"}}, "path"),
        ({"name": "__Secure-sid"}, "secure"),
        ({"genid": "bogus!"}, "genid"),
        ({"resave": "yes"}, "resave"),
        ({"unset": "drop"}, "unset"),
        ({"max_size": 0}, "max_size"),
        ({"absolute_timeout": -1}, "absolute_timeout"),
        ({"proxy": "maybe"}, "proxy"),
        ({"store": object()}, "store"),
        ({"secret": ""}, "secret"),
        ({"secret": None}, "secret"),
    ],
)
def test_invalid_options_are_refused_when_the_manager_is_built(options, named) -> None:
    options.setdefault("secret", SECRET)
    with pytest.raises(ValueError, match=named):
        sessionlib.SessionManager(**options)


def test_host_prefixed_cookie_is_sent_with_its_rules(serve) -> None:
    app = session_app(name="__Host-sid", cookie={"secure": True}, proxy=True)
    header = serve(app)
    response = requests.get(header.url + "/count", headers={"X-Forwarded-Proto": "https"})
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("__Host-sid=") and "Secure" in set_cookie
    assert "Path=/" in set_cookie and "Domain" not in set_cookie


# -- 13, 14. custom stores and what signals carry ------------------------------------------


class DictStore(sessionlib.Store):
    """A custom store that hands out its own dicts, as a naive one would."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, sid):
        return self.data.get(sid)

    def set(self, sid, data):
        self.data[sid] = data

    def destroy(self, sid):
        self.data.pop(sid, None)

    def ids(self):
        return list(self.data)


def test_a_store_that_hands_out_its_own_dict_keeps_the_session(serve) -> None:
    server = serve(session_app(DictStore()))
    jar = requests.Session()
    jar.get(server.url + "/count")
    assert jar.get(server.url + "/read").json() == {"n": 1}
    assert jar.get(server.url + "/read").json() == {"n": 1}


def test_short_ids_never_reach_a_signal_whole(serve) -> None:
    seen: list[str] = []
    app = session_app(genid=lambda: "abcdefgh")
    engine = app.extensions["sessionlib"].engine
    for signal in (signals.session_created, signals.session_saved, signals.cookie_set):
        signal.connect(lambda sender, **data: seen.append(data["sid"]), sender=engine, weak=False)
    requests.get(serve(app).url + "/count")
    assert seen and all("abcdefgh" not in sid and sid == "ab…" for sid in seen)


# -- 15. express-session's own expectations -----------------------------------------------


def test_destroy_with_save_uninitialized_stores_and_sends_nothing_new(serve) -> None:
    store = CountingStore()
    app = session_app(store, save_uninitialized=True)

    @app.get("/logout")
    def logout() -> str:
        session.destroy()
        return "bye"

    server = serve(app)
    jar = requests.Session()
    jar.get(server.url + "/count")
    writes = store.writes
    response = jar.get(server.url + "/logout")
    assert store.writes == writes and store.length() == 0
    assert [h for h in set_cookies(response) if "Max-Age=0" not in h] == []


# -- options express has: proxy, cookie per request, bytes secrets, connect-redis's --------


@pytest.mark.parametrize(
    ("proxy", "proxy_fix", "header", "secure"),
    [
        (True, False, "https", True),
        (True, False, "http", False),
        (False, True, "https", False),  # ProxyFix believed it; proxy=False does not
        (None, True, "https", True),
        (None, False, "https", False),
    ],
)
def test_proxy_option_decides_whom_to_believe_about_https(serve, proxy, proxy_fix, header, secure):
    app = session_app(cookie={"secure": "auto"}, proxy=proxy)
    if proxy_fix:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    response = requests.get(serve(app).url + "/count", headers={"X-Forwarded-Proto": header})
    assert ("Secure" in response.headers["Set-Cookie"]) is secure


def test_cookie_settings_may_depend_on_the_request(serve) -> None:
    def per_request(req: Any) -> dict[str, Any]:
        return {"max_age": 3600 if req.args.get("remember") else None}

    server = serve(session_app(cookie=per_request))
    assert "Max-Age=3600" in requests.get(server.url + "/count?remember=1").headers["Set-Cookie"]
    assert "Max-Age" not in requests.get(server.url + "/count").headers["Set-Cookie"]


def test_a_bytes_secret_key_signs_the_cookie(serve) -> None:
    app = Flask(__name__)
    app.secret_key = b"\x00\xffbinary secret"
    sessionlib.SessionManager(app)
    app.add_url_rule("/count", view_func=lambda: session.setdefault("n", 1) and "ok")
    header = app.test_client().get("/count").headers["Set-Cookie"]
    assert id_in(header.split(";")[0].partition("=")[2], b"\x00\xffbinary secret")


def test_redis_store_disable_ttl_keeps_keys_for_good(redis_client, key_prefix) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix, disable_ttl=True)
    store.set("a", {"cookie": {"originalMaxAge": 60000, "expires": "2099-01-01T00:00:00Z"}})
    assert redis_client.ttl(store.key("a")) == -1
    store.destroy("a")


def test_redis_store_ttl_may_be_a_function_of_the_session(redis_client, key_prefix) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix, ttl=lambda data: 100 + data["n"])
    store.set("a", {"cookie": {"originalMaxAge": None, "expires": None}, "n": 23})
    assert 122 <= redis_client.ttl(store.key("a")) <= 123
    store.destroy("a")


def test_redis_store_takes_a_json_compatible_serializer(redis_client, key_prefix) -> None:
    import json

    class Sorted:
        loads = staticmethod(json.loads)

        @staticmethod
        def dumps(value: Any) -> str:
            return json.dumps(value, sort_keys=True)

    store = sessionlib.RedisStore(redis_client, prefix=key_prefix, serializer=Sorted)
    store.set("a", {"z": 1, "cookie": {"originalMaxAge": None, "expires": None}})
    assert redis_client.get(store.key("a")).startswith(b'{"cookie"')
    assert store.get("a")["z"] == 1 and store.ids() == ["a"]
    store.destroy("a")
    with pytest.raises(ValueError, match="serializer"):
        sessionlib.RedisStore(redis_client, prefix=key_prefix, serializer=object())
