"""Lesson 8, the capstone: the shop's specification and its tests, the shop's live server,
the story tables, the table of express-session's options, the checks and the quiz.

The rules live in one place, ``notebooks/capstone/test_shop.py``: each exercise's check
runs that file's tests for its rules against a shop built from the learner's functions
(``create_app`` finds the views by name), on a store of its own.
"""

from __future__ import annotations

import importlib.util
import inspect
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import flask
import pytest
import requests
from IPython.display import Markdown

from coursekit.exercises import exercise, question
from coursekit.live import LiveServer
from coursekit.recorder import Recorder as _Recorder
from coursekit.table import Table, shorten

ROOT = Path(__file__).resolve().parents[2]
CAPSTONE = ROOT / "notebooks" / "capstone"

__all__ = [
    "Recorder",
    "front_door",
    "index_table",
    "first_cookies",
    "options_table",
    "pages",
    "pytest_command",
    "run_rules",
    "serve_shop",
    "shopper",
    "spec",
    "spec_report",
    "spec_tests",
]


# -- the specification and its tests ------------------------------------------------------
def spec() -> Markdown:
    """SPEC.md, to read in the notebook (it is also open in a tab: capstone/SPEC.md)."""
    return Markdown((CAPSTONE / "SPEC.md").read_text())


_LOADED: dict[str, Any] = {}


def spec_tests() -> ModuleType:
    """``capstone/test_shop.py`` as a module (loaded again whenever the file changed)."""
    path = CAPSTONE / "test_shop.py"
    stamp = path.stat().st_mtime_ns
    if _LOADED.get("stamp") != stamp:
        spec_ = importlib.util.spec_from_file_location("capstone_test_shop", path)
        assert spec_ is not None and spec_.loader is not None
        module = importlib.util.module_from_spec(spec_)
        sys.modules["capstone_test_shop"] = module  # dataclasses look their module up
        spec_.loader.exec_module(module)
        _LOADED.update(stamp=stamp, module=module)
    return _LOADED["module"]


def rules(prefixes: Iterable[str] = "") -> list[tuple[str, Callable[[Any], None]]]:
    """The spec's tests, in file order, as (rule id, test); only those whose rule id
    starts with one of ``prefixes`` (all when empty)."""
    module = spec_tests()
    prefixes = tuple(prefixes)
    found = []
    for name, test in vars(module).items():
        if name.startswith("test_") and callable(test):
            rule = name.split("_")[1]
            if not prefixes or rule.startswith(prefixes):
                found.append((rule, test))
    return found


def run_rules(create_app: Callable[[Any, Any], Any], lib: Any, prefixes: Sequence[str]) -> None:
    """Start a shop of ``create_app(lib, store)`` on a store of its own and run the tests of
    the rules named by ``prefixes``: the first that fails raises, naming its rule."""
    tests = spec_tests()
    shop = tests.start(create_app, lib)
    try:
        for rule, test in rules(prefixes):
            try:
                test(shop)
            except pytest.skip.Exception:
                continue
            except NotImplementedError:
                raise
            except AssertionError as error:  # named after its rule, for the learner
                message = str(error)
                raise AssertionError(
                    message if message.startswith(rule) else f"{rule}: {message}"
                ) from None
            except Exception as error:  # a view that answered something else than the spec
                raise AssertionError(f"{rule}: {type(error).__name__}: {error}") from None
    finally:
        shop.server.stop()


def spec_report(create_app: Callable[[Any, Any], Any], lib: Any) -> Table:
    """Every rule of SPEC.md against a fresh shop of ``create_app``: a table, and one line
    that counts the rules passed."""
    tests = spec_tests()
    try:
        shop = tests.start(create_app, lib)
    except NotImplementedError as error:
        print(f"⏳ The shop can't start yet: {str(error) or 'shop_settings'} (exercise 8.1).")
        return Table(["rule", "test", "result"], [])
    rows, passed = [], 0
    try:
        for rule, test in rules():
            what = test.__name__.split("_", 2)[2].replace("_", " ")
            try:
                test(shop)
                result, passed = "✅", passed + 1
            except pytest.skip.Exception as skipped:
                result = f"skipped: {skipped}"
            except NotImplementedError as error:
                result = f"⏳ {shorten(error, 60)}"
            except AssertionError as error:
                result = f"❌ {shorten(error, 70)}"
            except Exception as error:
                result = f"❌ {type(error).__name__}: {shorten(error, 50)}"
            rows.append([rule, what, result])
    finally:
        shop.server.stop()
    print(
        f"{passed} of {len(rows)} rules of SPEC.md pass" + (" 🎉" if passed == len(rows) else ".")
    )
    return Table(["rule", "test", "result"], rows, "capstone/test_shop.py on your shop")


def pytest_command(server: LiveServer) -> str:
    """How to run the spec's tests with pytest, in a terminal, against ``server``."""
    try:
        path = (CAPSTONE / "test_shop.py").relative_to(Path.cwd())
    except ValueError:
        path = CAPSTONE / "test_shop.py"
    return f"SHOP_URL={server.url} python -m pytest {path} -p no:xdist"


# -- the shop's live server -----------------------------------------------------------------
class _Switch:
    """A WSGI app that hands each request to the app it holds now: swapping the app keeps
    the server, its port and every link to it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def _placeholder(reason: str) -> flask.Flask:
    app = flask.Flask("shop-not-built-yet")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def not_yet(path: str) -> Any:
        return {"error": f"not written yet: {reason}"}, 501

    return app


def serve_shop(create_app: Callable[[Any, Any], Any], lib: Any, store: Any) -> LiveServer:
    """Serve ``create_app(lib, store)`` as the live server "lesson08". Run again, it swaps
    in the new app and keeps the port; while ``shop_settings`` is a stub, every page says
    so (501)."""
    if not isinstance(store, lib.Store):  # made on an earlier load of the package
        store = lib.RedisStore(store.client, prefix=store.prefix)
    try:
        app = create_app(lib, store)
        print(f"The shop runs on {lib.__name__}, its sessions in {type(store).__name__}.")
    except NotImplementedError as error:
        app = _placeholder(str(error) or "shop_settings")
        print("Not built yet: every page answers 501 until shop_settings (exercise 8.1) is done.")
    running = LiveServer._running.get("lesson08")
    if running is not None and running.running and isinstance(running.app, _Switch):
        running.app.app = app
        return running
    return LiveServer(_Switch(app), name="lesson08").start()


def shop_app(server: Any) -> Any:
    """The Flask app a server (or a switch) runs."""
    app = getattr(server, "app", server)
    return app.app if isinstance(app, _Switch) else app


# -- the story --------------------------------------------------------------------------
class Recorder(_Recorder):
    """``coursekit.Recorder`` for the shop's server: given the server (or the app), and
    quiet when the shop is not built yet (an app without sessionlib records requests only)."""

    def __init__(self, app: Any) -> None:
        app = shop_app(app)
        if "sessionlib" in app.extensions:
            super().__init__(app)
            return
        self.app, self.engine, self.requests = app, None, []
        self._current, self._receivers, self._lock = {}, [], threading.Lock()

    def __enter__(self) -> Recorder:
        if self.engine is not None:
            super().__enter__()
            return self
        self._connect(flask.request_started, self._started, self.app)
        self._connect(flask.request_finished, self._finished, self.app)
        return self

    def diagram(self) -> Any:
        if self.engine is None:
            return Markdown("(no diagram: the shop is not built yet)")
        return super().diagram()


def shopper(server: Any) -> Any:
    """A browser for the shop's story: the spec's ``Browser``, except that a view not
    written yet (501), or one that failed, is an answer to show, never an exception."""
    browser_class = spec_tests().Browser

    class Shopper(browser_class):  # type: ignore[misc,valid-type]
        def answered(self, response: requests.Response) -> requests.Response:
            return response

        def token(self) -> str:
            if self.csrf is None:
                self.csrf = page_of(self.get("/csrf")).get("csrf") or ""
            return self.csrf

    return Shopper(server)


def page_of(response: requests.Response) -> dict[str, Any]:
    """The JSON a response carries, or ``{"error": ...}`` when it carries none."""
    return _json(response)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"error": f"{response.status_code}: {shorten(response.text, 40)}"}
    return body if isinstance(body, dict) else {"error": repr(body)}


def pages(rows: Iterable[tuple[str, requests.Response]], title: str | None = None) -> Table:
    """A table of the pages the shoppers saw: one (who, response) pair per row."""
    table = []
    for who, response in rows:
        page = _json(response)
        if "cart" not in page:
            table.append([who, response.status_code, "", "", "", page.get("error", "")])
            continue
        cart = ", ".join(f"{n} {item}" for item, n in page["cart"].items()) or "—"
        messages = " / ".join(page.get("messages", []))
        table.append(
            [who, response.status_code, page["user"] or "—", cart, page["total"], messages]
        )
    return Table(["who", "status", "user", "cart", "total", "messages"], table, title)


def store_writes(story: _Recorder) -> int:
    """How many times a recorded story wrote to the store (new sessions and stored ones)."""
    return sum(
        call["operation"] in ("set", "replace", "merge")
        for request in story.requests
        for call in request.store_calls()
    )


def max_age(response: requests.Response) -> int | None:
    """The Max-Age of the session cookie a response set, in seconds (None: no cookie)."""
    value = cookie_attribute(response, "Max-Age")
    return int(value) if value.isdigit() else None


def front_door(lib: Any) -> Table:
    """Each name ``import sessionlib`` gives an app: where it is defined, what it is."""
    rows = []
    for name in lib.__all__:
        thing = getattr(lib, name)
        where = thing.__name__ if inspect.ismodule(thing) else thing.__module__
        doc = (inspect.getdoc(thing) or "").split("\n")[0]
        rows.append([name, where, shorten(doc, 70)])
    return Table(["name", "defined in", "what it is"], rows, f"from {lib.__name__} import *")


def index_table(store: Any, user: str) -> Table:
    """The user's index (the Redis set of their session ids) and what each id opens."""
    key = "users:" + store.prefix + user
    rows = []
    for member in sorted(store.client.smembers(key)):
        sid = member.decode() if isinstance(member, bytes) else member
        data = store.get(sid)
        alive = (
            "—"
            if data is None
            else f"user {data.get('user')}, TTL {store.client.ttl(store.key(sid))} s"
        )
        rows.append([sid[:8] + "…", alive])
    ttl = store.client.ttl(key)
    return Table(["id in the index", "its session"], rows, f"SMEMBERS {key} (TTL {ttl} s)")


def same_site(table: Table, row: int) -> str:
    """The SameSite attribute in row ``row`` of a ``first_cookies`` table, or "(none)"."""
    attributes = table.rows[row][2]
    for part in attributes.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "samesite":
            return value
    return "(none)"


def cookie_attribute(response: requests.Response, name: str) -> str:
    """One attribute of the session cookie a response (or its redirects) set, or —."""
    for header in spec_tests().set_cookies(response):
        for part in header.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == name.lower():
                return value or "(set)"
    return "—"


# -- every express-session option --------------------------------------------------------
#: express-session's option, sessionlib's, express's default, how sessionlib differs, where
#: the course shows it (lesson numbers).
OPTIONS: list[tuple[str, str, str, str, str]] = [
    ("secret", "secret", "required", "also bytes; a list rotates: the first signs", "3, 8"),
    ("name", "name", '"connect.sid"', "same", "1, 8"),
    ("store", "store", "MemoryStore", "same idea: a Store subclass", "2, 7"),
    ("resave", "resave", "true (deprecated)", "same meaning, safer default", "4"),
    (
        "saveUninitialized",
        "save_uninitialized",
        "true (deprecated)",
        "same meaning, safer default",
        "4, 8",
    ),
    ("rolling", "rolling", "false", "same", "4, 5, 8"),
    (
        "genid",
        "genid",
        "uid-safe, 24 bytes",
        "genid() takes no request; 1-128 of A-Z a-z 0-9 _ -",
        "2, 8",
    ),
    (
        "unset",
        "unset",
        '"keep"',
        "DIFFERS: acts when a request empties the session (express: req.session = null)",
        "4",
    ),
    (
        "proxy",
        "proxy",
        "app's trust proxy",
        "None: the request (ProxyFix); True/False as express",
        "6, 8",
    ),
    ("cookie", "cookie", "{}", "same: settings, or a function of the request", "5, 8"),
    ("cookie.maxAge", "max_age", "null", "SECONDS, not milliseconds (or a timedelta)", "5, 8"),
    ("cookie.expires", "expires", "null", "an aware datetime, not a Date", "5, 8"),
    ("cookie.httpOnly", "http_only", "true", "same", "1, 6"),
    ("cookie.secure", "secure", "false", 'same, "auto" included', "1, 6, 8"),
    (
        "cookie.sameSite",
        "same_site",
        "not set",
        'default "Lax"; None leaves it out, "None" needs Secure',
        "1, 6, 8",
    ),
    ("cookie.domain", "domain", "not set", "same", "1, 8"),
    ("cookie.path", "path", '"/"', "same, matched per RFC 6265", "1, 8"),
    ("cookie.partitioned", "partitioned", "not set", "same (needs Secure)", "8"),
    ("cookie.priority", "priority", "not set", "same", "8"),
    ("(none)", "max_size", "—", "sessionlib's own: the most bytes of JSON a session may hold", "4"),
    ("(none)", "merge", "—", "sessionlib's own: save only the keys a request changed", "7"),
    (
        "(none)",
        "absolute_timeout",
        "—",
        "sessionlib's own: a session's lifetime, however active",
        "6, 8",
    ),
    (
        "(none)",
        "login_signals",
        "—",
        "sessionlib's own: follow Flask-Login's login and logout",
        "6",
    ),
]


def library_options(lib: Any) -> dict[str, Any]:
    """Every option the library takes, with its default, read from the library itself."""
    engine = {name: default for name, (default, _, _) in lib.engine.OPTIONS.items()}
    fields = inspect.signature(lib.cookie.CookieOptions).parameters
    return {"secret": "required", **engine, **{n: p.default for n, p in fields.items()}}


def options_table(lib: Any) -> Table:
    """express-session's options beside sessionlib's, the defaults read from ``lib``."""
    defaults = library_options(lib)
    shown = {
        "secret": "the app's SECRET_KEY",
        "store": "MemoryStore()",
        "genid": "32 URL-safe characters (192 bits)",
    }

    def spelled(name: str) -> str:
        if name in defaults and name not in inspect.signature(lib.cookie.CookieOptions).parameters:
            return f"{name}="
        return f'cookie={{"{name}": …}}'

    def default(name: str) -> str:
        value = shown.get(name, defaults.get(name))
        return f'"{value}"' if isinstance(value, str) and name not in shown else str(value)

    return Table(
        [
            "express-session",
            "sessionlib",
            "sessionlib default",
            "express default",
            "in sessionlib",
            "lessons",
        ],
        [
            [ex, spelled(ours), default(ours), ex_default, how, where]
            for ex, ours, ex_default, how, where in OPTIONS
        ],
        "express-session's options in sessionlib",
    )


def first_cookies(lib: Any, examples: Sequence[tuple[str, dict[str, Any], str]]) -> Table:
    """For each (label, SessionManager options, path): the Set-Cookie a throwaway app on
    ``lib`` sends for a new session, as if over HTTPS (``proxy=True``, X-Forwarded-Proto)."""
    rows = []
    for label, options, path in examples:
        demo = flask.Flask("lesson08-options")
        lib.SessionManager(demo, secret="throwaway", proxy=True, **options)

        @demo.get("/shop/add")
        def add() -> str:
            flask.session["n"] = 1
            return "ok"

        with LiveServer(demo) as site:
            response = requests.get(
                site.url + path, headers={"X-Forwarded-Proto": "https"}, timeout=10
            )
        value, _, attributes = response.headers.get("Set-Cookie", "—").partition(";")
        rows.append([label, shorten(unquote(value), 26), attributes.strip()])
    return Table(["SessionManager(...)", "cookie (decoded)", "attributes"], rows)


def option_examples() -> list[tuple[str, dict[str, Any], str]]:
    """The settings the shop did not need, each on a throwaway app."""
    in_two_hours = datetime.now(timezone.utc) + timedelta(hours=2)
    return [
        ("(defaults)", {}, "/shop/add"),
        ("genid=...", {"genid": lambda: "shop_" + secrets.token_urlsafe(24)}, "/shop/add"),
        ('cookie={"expires": in 2 h}', {"cookie": {"expires": in_two_hours}}, "/shop/add"),
        ('cookie={"path": "/shop"}', {"cookie": {"path": "/shop"}}, "/shop/add"),
        ('cookie={"domain": "shop.example"}', {"cookie": {"domain": "shop.example"}}, "/shop/add"),
        ('cookie={"priority": "High"}', {"cookie": {"priority": "High"}}, "/shop/add"),
        (
            "cookie=lambda request: ...",
            {
                "cookie": lambda request: {
                    "max_age": 30 * 86400 if request.args.get("remember") else 1800
                }
            },
            "/shop/add?remember=1",
        ),
    ]


# -- exercises ---------------------------------------------------------------------------
def _check(prefixes: Sequence[str]) -> Callable[[Any, Any], None]:
    def check(create_app: Any, lib: Any) -> None:
        run_rules(create_app, lib, prefixes)

    return check


exercise(
    "8.1",
    "the settings and the CSRF token (S2-S6, T1-T3)",
    hints=[
        "Each rule S2-S6 is one option: name=, rolling=, absolute_timeout=, proxy=, and "
        "cookie={...}; the secret is a list, the newest first.",
        'max_age counts seconds (IDLE). secure="auto" is Secure exactly when the request came '
        "over HTTPS, and proxy=True lets the proxy's X-Forwarded-Proto say so.",
        "csrf_token: the first time, keep secrets.token_urlsafe(32) under a key of the session; "
        "every time, return what is kept there.",
    ],
    uses_package=False,
)(_check(["S2", "S3", "S4", "S5", "S6", "T"]))

exercise(
    "8.2",
    "the CSRF guard (X1-X4)",
    hints=[
        'The token sent: request.headers.get("X-CSRF-Token") or request.form.get("csrf_token"). '
        "The one expected: what csrf_token() keeps in the session (without making one).",
        'A session without a token must refuse, even when nothing is sent: "" == "" is True.',
        "hmac.compare_digest takes two ASCII str or two bytes: compare the .encode() of both, so "
        "that a non-ASCII token is a 403 and not a 500. Return None to let the POST through.",
    ],
    uses_package=False,
)(_check(["X"]))

exercise(
    "8.3",
    "the cart (C1-C4)",
    hints=[
        'Keep the cart in the session as {item: count}: session.setdefault("cart", {}) is the '
        "dict to change, and sessionlib notices a change inside it (lesson 4).",
        "flash(...) keeps a message in the session; get_flashed_messages() in home reads and "
        "removes them. Return redirect('/') after a POST.",
        'home must not write to a session that has no cart: read it with session.get("cart", {}).',
    ],
    uses_package=False,
)(_check(["C"]))

exercise(
    "8.4",
    "login and checkout (L1-L7)",
    hints=[
        "USERS.get(user) is None for an unknown user: refuse before comparing, or an unknown "
        "user with an empty password logs in.",
        "session.rotate() moves the session to a new id and keeps its data; regenerate() would "
        "empty the cart. Then drop the old CSRF token.",
        "After rotate(), session.id is the new id: store.client.sadd(index_key(store, user), "
        "session.id), then expire the set after LIFETIME. The store is "
        'current_app.extensions["sessionlib"].store.',
    ],
    uses_package=False,
)(_check(["L"]))

exercise(
    "8.5",
    "logout (O1-O3)",
    hints=[
        "Logging out ends the session, not just its user: lesson 6's session.destroy().",
        "Whatever is written to the session after destroy() starts a new session, with a new "
        "cookie: no goodbye message.",
    ],
    uses_package=False,
)(_check(["O"]))

exercise(
    "8.6",
    "log out everywhere (E1-E5)",
    hints=[
        "store.client.smembers(index_key(store, user)) gives the ids (as bytes); store.get(sid) "
        "says whether one still exists, store.destroy(sid) ends it.",
        "Count only the sessions that still existed, delete the index, and end this request's "
        "session with session.destroy() too, so that its cookie goes.",
    ],
    uses_package=False,
)(_check(["E"]))


# -- quiz --------------------------------------------------------------------------------
question(
    8,
    'A logout that only does session.pop("user"): what is still true afterwards?',
    {
        "a": "the store has deleted the session",
        "b": "the old id still opens a live session, with its cart, in the store",
        "c": "the browser has deleted its cookie",
    },
    "b",
    "Only the key went: the id, its entry and everything else in it live on. A logout "
    "destroys the session (O1, O2).",
)
question(
    8,
    "Why does the shop's login call session.rotate() rather than session.regenerate()?",
    {
        "a": "rotate() keeps the old id working a little longer",
        "b": "regenerate() does not change the id",
        "c": "rotate() keeps the data (the cart) under the new id; regenerate() empties it",
    },
    "c",
    "Both give a new id and kill the old one; only rotate() keeps the session's data.",
)
question(
    8,
    "The CSRF token sits in the session and GET /csrf hands it out. Why can't another "
    "site's page read it and send it along?",
    {
        "a": "the same-origin policy: another site can make the browser send requests, but "
        "cannot read the shop's answers",
        "b": "the token is an HttpOnly cookie",
        "c": "the token is signed with the shop's secret",
    },
    "a",
    "A forged request rides on the victim's cookie, but without the token, which only the "
    "shop's own pages can read.",
)
question(
    8,
    "The shop must work in a third-party iframe with a partitioned (CHIPS) cookie. Which "
    "cookie settings?",
    {
        "a": '{"partitioned": True, "secure": True, "same_site": None}',
        "b": '{"partitioned": True, "secure": True, "same_site": "None"}',
        "c": '{"partitioned": True}',
    },
    "b",
    "Python's None leaves SameSite out. Chrome and Edge then treat the cookie as Lax (no "
    "cookie in a third-party iframe); other browsers do not, so say it. The string "
    '"None" writes SameSite=None, which needs Secure.',
)
question(
    8,
    "Which option means something else in sessionlib than in express-session?",
    {"a": "rolling", "b": "resave", "c": "name", "d": "unset"},
    "d",
    "express destroys on req.session = null, which Flask has no way to say; sessionlib "
    "destroys a session a request emptied.",
)
question(
    8,
    "Why does logout-everywhere read a per-user index instead of looping over store.all()?",
    {
        "a": "store.all() only returns the current user's sessions",
        "b": "store.all() deletes what it reads",
        "c": "store.all() reads every session of every user (a SCAN, then a GET each): the "
        "cost grows with the whole shop, not with one user",
    },
    "c",
    "The index holds just this user's ids: one SMEMBERS, then one call per session.",
)
