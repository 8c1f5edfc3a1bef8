"""Lesson 4, the session middleware: the lesson's app and experiments, the checks of
exercises 4.1-4.3 (the rules that decide each request's store write, touch and Set-Cookie)
and the quiz.

Every app here runs on the package it is given (``lib``): the learner's own, or the
reference. The checks drive such an app through Flask's test client, count the store's
calls per request and read the Set-Cookie headers: they judge what the rules do, never
how they are written.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import requests
from flask import Flask, current_app, request, session
from IPython.display import Markdown

from coursekit.exercises import exercise, judged, question
from coursekit.live import LiveServer
from coursekit.recorder import Recorder, RequestStory, signals_of
from coursekit.table import Table

SECRET = "keyboard cat"
COOKIE = "connect.sid"


# -- the lesson's routes: each shown in the notebook where it is first used ------------------
def nothing() -> str:
    return "this view never uses the session"


def peek() -> str:
    return f"n = {session.get('n')}"  # reads the session, changes nothing


def count() -> str:
    session["n"] = session.get("n", 0) + 1  # a change at the top level
    return f"n = {session['n']}"


def cart_add() -> str:
    session.setdefault("cart", []).append(request.args["item"])  # a list changed in place
    return ", ".join(session["cart"])


def cart_show() -> str:
    return ", ".join(session.get("cart", []))


def start_job() -> str:
    session["job"] = "queued"
    session.save()  # stored now: a worker may read it before this request ends
    return "queued"


def wizard() -> str:
    session["step"] = 1
    session.save()  # step 1 is stored now...
    session["step"] = 2  # ...and step 2 at the end of the request
    return "step 2"


report_started, other_tab_done = threading.Event(), threading.Event()


def report() -> dict[str, Any]:
    before = session.get("n")
    report_started.set()  # a slow request: another tab of the same browser runs now
    other_tab_done.wait(timeout=5)
    session.reload()  # read the store again
    return {"before": before, "after": session.get("n")}


ROUTES: dict[str, tuple[str, Callable[..., Any]]] = {
    "/nothing": ("GET", nothing),
    "/peek": ("GET", peek),
    "/count": ("GET", count),
    "/cart/add": ("GET", cart_add),
    "/cart": ("GET", cart_show),
    "/job": ("POST", start_job),
    "/wizard": ("POST", wizard),
    "/report": ("GET", report),
}


def show_routes(*paths: str) -> Markdown:
    """The source of the lesson app's routes at ``paths``, as the app declares them."""
    blocks = []
    for path in paths:
        method, view = ROUTES[path]
        blocks.append(f'@app.{method.lower()}("{path}")\n{inspect.getsource(view).strip()}')
    return Markdown("```python\n" + "\n\n\n".join(blocks) + "\n```")


def make_app(lib: Any, **options: Any) -> tuple[Flask, Any]:
    """The lesson's routes on ``lib`` (your package, or the reference) under any options;
    the cookie lives 600 s unless ``cookie`` says otherwise. Returns the app and its store."""
    options.setdefault("cookie", {"max_age": 600})
    store = options.pop("store", None) or lib.MemoryStore()
    app = Flask("lesson04")
    lib.SessionManager(app, secret=SECRET, store=store, **options)
    for path, (method, view) in ROUTES.items():
        app.add_url_rule(path, view.__name__, view, methods=[method])
    return app, store


def plain_store(lib: Any) -> Any:
    """A MemoryStore that can't restart a session's life while reading it, like a custom
    store that implements only ``get``, ``set``, ``destroy`` and ``touch``."""

    class PlainStore(lib.MemoryStore):
        touches_on_get = False

        def get_and_touch(self, sid: str, seconds: float | None) -> Any:
            return self.get(sid)

    return PlainStore()


# -- recording ---------------------------------------------------------------------------------
def writes(story: RequestStory) -> int:
    """How many times one recorded request wrote the session to the store."""
    return sum(call["operation"] in ("set", "replace", "merge") for call in story.store_calls())


def outcome(story: RequestStory) -> str:
    """'write', 'cookie', both, or '—' for one recorded request."""
    parts = ["write"] * writes(story) + (["cookie"] if story.set_cookie else [])
    return " + ".join(parts) or "—"


# -- the experiments ---------------------------------------------------------------------------
def lazy_loading(server: LiveServer, app: Flask) -> Recorder:
    """A browser gets a session, then asks for /nothing and /peek with its cookie."""
    jar = requests.Session()
    jar.get(server.url + "/count")
    with Recorder(app) as recording:
        jar.get(server.url + "/nothing")
        jar.get(server.url + "/peek")
    return recording


def flask_cart_app() -> Flask:
    """The same /cart views on Flask's own session (a signed cookie, no store)."""
    app = Flask("lesson04-flask")
    app.secret_key = SECRET
    app.add_url_rule("/cart/add", "cart_add", cart_add)
    app.add_url_rule("/cart", "cart_show", cart_show)
    return app


def fill_carts(servers: dict[str, LiveServer], items: list[str]) -> dict[str, str]:
    """Add ``items`` one request at a time on each server; the cart the next request finds
    (what was saved, not what the last add held in memory)."""
    carts = {}
    for name, server in servers.items():
        shopper = requests.Session()
        for item in items:
            shopper.get(f"{server.url}/cart/add", params={"item": item})
        carts[name] = shopper.get(f"{server.url}/cart").text
    return carts


def forgotten_session(server: LiveServer, app: Flask, store: Any) -> tuple[str, str, Recorder]:
    """A browser's session is deleted from the store (it expired, or a logout elsewhere);
    the browser comes back with its cookie. Returns the id before, the id after, and the
    recording of the return."""
    jar = requests.Session()
    jar.get(server.url + "/count")
    before = session_id(jar)
    store.destroy(before)
    with Recorder(app) as recording:
        jar.get(server.url + "/count")
    return before, session_id(jar), recording


def session_id(jar: requests.Session) -> str:
    """The id in a jar's session cookie (``s:`` + id + ``.`` + signature, percent-encoded)."""
    return unquote(jar.cookies[COOKIE])[2:].rpartition(".")[0]


def first_write(server: LiveServer, app: Flask) -> Recorder:
    """A new visitor's first change, then a returning visitor's change."""
    jar = requests.Session()
    with Recorder(app) as recording:
        jar.get(server.url + "/count")
        jar.get(server.url + "/count")
    return recording


def write_operations(recording: Recorder) -> tuple[str, ...]:
    """The store operation of each write the recorded requests made, in order."""
    return tuple(
        call["operation"]
        for story in recording.requests
        for call in story.store_calls()
        if call["operation"] in ("set", "replace", "merge")
    )


SCRIPT = [
    ("/nothing", "no cookie yet; the view ignores the session"),
    ("/peek", "no cookie yet; the view reads the session"),
    ("/count", "the first change"),
    ("/peek", "has a cookie; reads only"),
    ("/nothing", "has a cookie; ignores the session"),
    ("/count", "a change at the top level"),
    ("/cart/add?item=apple", "a change inside a list"),
    ("/cart/add?item=pear", "another change inside a list"),
]
CONFIGS = {
    "defaults": {},
    "save_uninitialized=True": {"save_uninitialized": True},
    "resave=True": {"resave": True},
    "rolling=True": {"rolling": True},
}


def script_table_of_requests() -> Table:
    return Table(["#", "request", "what it does"], [[n, *s] for n, s in enumerate(SCRIPT, 1)])


def run_script(lib: Any, **options: Any) -> Recorder:
    """SCRIPT with one new cookie jar against a new app under ``options``; its recording."""
    app, _ = make_app(lib, **options)
    with LiveServer(app) as live, Recorder(app) as recording:
        browser = requests.Session()
        for path, _ in SCRIPT:
            browser.get(live.url + path)
    return recording


def run_all_configurations(lib: Any) -> dict[str, Recorder]:
    return {name: run_script(lib, **options) for name, options in CONFIGS.items()}


def totals(recordings: dict[str, Recorder]) -> dict[str, int]:
    """Store writes over the whole script, by configuration."""
    return {name: sum(map(writes, rec.requests)) for name, rec in recordings.items()}


def script_table(recordings: dict[str, Recorder]) -> Table:
    rows = [
        [n, path, *[outcome(rec.requests[n - 1]) for rec in recordings.values()]]
        for n, (path, _) in enumerate(SCRIPT, start=1)
    ]
    cookies = {
        name: sum(s.set_cookie is not None for s in r.requests) for name, r in recordings.items()
    }
    rows.append(
        ["", "writes / cookies", *[f"{totals(recordings)[n]} / {cookies[n]}" for n in recordings]]
    )
    return Table(["#", "request", *recordings], rows, "Store writes and Set-Cookie, per request")


def save_in_view(server: LiveServer, app: Flask) -> Recorder:
    worker = requests.Session()
    with Recorder(app) as recording:
        worker.post(server.url + "/job")
        worker.post(server.url + "/wizard")
    return recording


def report_while_another_tab_counts(server: LiveServer) -> dict[str, Any]:
    """A slow /report reads n; meanwhile another tab with the same cookie counts; then
    /report reloads. Returns what /report saw before and after its reload()."""
    from concurrent.futures import ThreadPoolExecutor

    tab = requests.Session()
    tab.get(server.url + "/count")  # n = 1
    report_started.clear()
    other_tab_done.clear()
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(requests.get, server.url + "/report", cookies=tab.cookies.get_dict())
        report_started.wait(timeout=5)
        tab.get(server.url + "/count")  # the other tab: n = 2
        other_tab_done.set()
        return slow.result().json()


def read_only_requests(lib: Any) -> dict[str, Recorder]:
    """A read-only request on a store that restarts a session's life while reading it
    (MemoryStore) and on one that can't (PlainStore)."""
    recordings = {}
    for name, store in [("MemoryStore", lib.MemoryStore()), ("PlainStore", plain_store(lib))]:
        app, _ = make_app(lib, store=store)
        with LiveServer(app) as live:
            jar = requests.Session()
            jar.get(live.url + "/count")
            with Recorder(app) as recordings[name]:
                jar.get(live.url + "/peek")
    return recordings


def store_calls(recordings: dict[str, Recorder]) -> Table:
    rows = [
        [name, "; ".join(rec._command(c) for c in rec.requests[0].store_calls())]
        for name, rec in recordings.items()
    ]
    return Table(["store", "store calls of one read-only request"], rows)


# -- the checks ----------------------------------------------------------------------------------
def save_only() -> str:
    session.save()  # stores the session as it is, no change
    return "saved"


def force() -> str:
    session.modified = True  # no change, but asks for a write
    return "forced"


def undo() -> str:
    session["n"] = session.get("n", 0) + 1
    session.save()
    session["n"] -= 1  # back to what was loaded, but the store holds n + 1 now
    return f"n = {session['n']}"


def ended_elsewhere() -> str:
    current_app.extensions["sessionlib"].store.destroy(session.id)  # a logout in another tab
    session["late"] = True
    session.save()  # refused: the entry is gone (session.interrupted)
    return "too late"


def logout() -> str:
    session.destroy()
    return "logged out"


def forget_me() -> str:
    session.permanent = False  # from now on a browser-session cookie
    return "forgotten"


def remember() -> str:
    session.cookie.max_age = 3600  # this session only: an hour
    return "remembered"


def gone() -> str:
    current_app.extensions["sessionlib"].store.destroy(session.id)  # a logout in another tab
    session["n"] = session.get("n", 0) + 1
    return "changed"


CHECK_ROUTES = [save_only, force, undo, ended_elsewhere, logout, forget_me, remember, gone]


@dataclass
class Result:
    """One request of a check: the store calls it made, the reasons it was saved for, its
    Set-Cookie headers and its body."""

    calls: list[str]
    reasons: list[Any]
    cookies: list[str]
    text: str

    @property
    def writes(self) -> list[str]:
        return [call for call in self.calls if call in ("set", "replace", "merge")]

    @property
    def touches(self) -> int:
        return self.calls.count("touch")

    @property
    def sets_cookie(self) -> bool:
        """One Set-Cookie that carries a session (not one that deletes the cookie)."""
        return len(self.cookies) == 1 and not deletes(self.cookies[0])

    @property
    def deletes_cookie(self) -> bool:
        return len(self.cookies) == 1 and deletes(self.cookies[0])


def deletes(header: str) -> bool:
    return "Max-Age=0" in header


@dataclass
class Probe:
    """The lesson's routes and a few more on ``lib``, through Flask's test client (fast, and
    the learner's exceptions reach the check), with the store's calls logged per request."""

    lib: Any
    plain: bool = False
    https: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    reasons: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.options.setdefault("cookie", {"max_age": 600})
        self.store = counting_store(self.lib, self.calls, self.plain)
        self.app, _ = make_app(self.lib, store=self.store, **self.options)
        for view in CHECK_ROUTES:
            path = "/" + view.__name__.replace("_", "-")
            self.app.add_url_rule(path, view.__name__, view)
        self.app.testing = True  # the view's and the library's exceptions reach the check
        engine = self.app.extensions["sessionlib"].engine
        signals_of(engine).session_saved.connect(self._saved, sender=engine, weak=False)

    def _saved(self, sender: Any, **data: Any) -> None:
        self.reasons.append(data.get("reason"))

    def visitor(self) -> Visitor:
        return Visitor(self, self.app.test_client())


@dataclass
class Visitor:
    """One browser: a cookie jar of its own."""

    probe: Probe
    client: Any

    def get(self, path: str) -> Result:
        probe = self.probe
        probe.calls.clear()
        probe.reasons.clear()
        base = "https://localhost" if probe.https else "http://localhost"
        method = ROUTES.get(path.partition("?")[0], ("GET",))[0]
        response = self.client.open(path, method=method, base_url=base)
        cookies = response.headers.getlist("Set-Cookie")
        return Result(list(probe.calls), list(probe.reasons), cookies, response.get_data(True))


def counting_store(lib: Any, calls: list[str], plain: bool = False) -> Any:
    """A MemoryStore that logs each call's name in ``calls``; ``plain``: one that can't
    restart a session's life while reading it."""

    class CountingStore(lib.MemoryStore):
        touches_on_get = not plain

        def get(self, sid: str) -> Any:
            calls.append("get")
            return super().get(sid)

        def get_and_touch(self, sid: str, seconds: float | None) -> Any:
            if plain:
                return self.get(sid)
            calls.append("get_and_touch")
            return super().get_and_touch(sid, seconds)

        def set(self, sid: str, data: Any) -> None:
            calls.append("set")
            super().set(sid, data)

        def replace(self, sid: str, data: Any) -> bool:
            calls.append("replace")
            return super().replace(sid, data)

        def merge(self, sid: str, data: Any, changed: Any, removed: Any) -> bool:
            calls.append("merge")
            return super().merge(sid, data, changed, removed)

        def touch(self, sid: str, data: Any) -> None:
            calls.append("touch")
            super().touch(sid, data)

        def destroy(self, sid: str) -> None:
            calls.append("destroy")
            super().destroy(sid)

    return CountingStore()


REASONS = ("modified", "resave", "save_uninitialized", "manual")  # "manual": save() in a view


def _wrote(result: Result, count: int, reason: str | None, case: str) -> None:
    """Assert that one request wrote ``count`` times, the last time for ``reason``."""
    done = len(result.writes)
    assert done == count, f"{case}: {_writes(count)} expected; your rules made {_writes(done)}."
    for given in result.reasons:
        assert given in REASONS, (
            f"{case}: save_reason returned {given!r}. Return the reason as a string "
            f"('modified', 'resave' or 'save_uninitialized'), or None: no write."
        )
    if reason is not None:
        assert result.reasons[-1] == reason, (
            f"{case}: the store was written for the reason {result.reasons[-1]!r}, not {reason!r}."
        )


def _writes(n: int) -> str:
    return {0: "no store write", 1: "one store write", 2: "two store writes"}.get(n, f"{n} writes")


@exercise(
    "4.1",
    "save_reason: when the store is written",
    hints=[
        "Two kinds of session need different rules: one the browser's cookie brought "
        "(`session.new` is False) and one made during this request. Which option speaks to "
        "each kind?",
        "Start with the cases where nothing needs writing, whatever the options: another "
        "request ended the session (`session.interrupted`), or the store already holds "
        "exactly `now` (compare `session._saved` with `now`). Only "
        "`session.modified = True` (`session._forced`) asks for a write anyway.",
        "The reason is 'modified' when the view changed the session (`modified`) or the store "
        "holds some other state of it (`session._saved is not None`). A session made by "
        "`destroy()` (`session._destroyed`) is never stored just for save_uninitialized.",
    ],
)
def check_save_reason(lib: Any) -> None:
    lib = judged(lib, "save_reason")
    visitor = Probe(lib).visitor()
    _wrote(visitor.get("/peek"), 0, None, "defaults, a new visitor's /peek (nothing put in it)")
    _wrote(visitor.get("/count"), 1, "modified", "defaults, a new visitor's /count")
    _wrote(visitor.get("/peek"), 0, None, "defaults, a returning visitor's /peek (no change)")
    _wrote(visitor.get("/count"), 1, "modified", "defaults, a returning visitor's /count")
    _wrote(visitor.get("/cart/add?item=tea"), 1, "modified", "a change inside a list")
    _wrote(visitor.get("/force"), 1, "modified", "`session.modified = True`, no change")
    case = "/job: a change, then save() in the view; the end of the request"
    _wrote(visitor.get("/job"), 1, "manual", case + " has nothing left to write")
    _wrote(visitor.get("/wizard"), 2, "modified", "/wizard: a change, save(), another change")
    visitor.get("/count")
    undone = visitor.get("/undo")
    assert visitor.get("/peek").text == undone.text, (
        "/undo adds 1 to n, save()s, then takes 1 away: the session ends as it was loaded, "
        "but the store holds n + 1 from the save(). The end of the request must write it."
    )
    case = (
        "/ended-elsewhere: another request destroyed the session, and the view's save() (one "
        "write) was refused (session.interrupted). The end of the request must not write "
        "again (it would be refused too)"
    )
    _wrote(visitor.get("/ended-elsewhere"), 1, None, case)

    visitor = Probe(lib, options={"save_uninitialized": True}).visitor()
    case = "save_uninitialized=True, a new visitor's /peek"
    _wrote(visitor.get("/peek"), 1, "save_uninitialized", case)
    _wrote(visitor.get("/peek"), 0, None, "save_uninitialized=True, a returning /peek")
    _wrote(
        visitor.get("/logout"),
        0,
        None,
        "save_uninitialized=True, /logout (destroy()): the new, empty session that replaces "
        "the destroyed one is not stored (the visitor just logged out)",
    )

    visitor = Probe(lib, options={"resave": True}).visitor()
    case = "resave=True, a new visitor's /peek (resave rewrites what the store holds)"
    _wrote(visitor.get("/peek"), 0, None, case)
    visitor.get("/count")
    _wrote(visitor.get("/peek"), 1, "resave", "resave=True, a returning visitor's /peek")
    case = "resave=True, /save-only: save() in the view rewrote it; the end of the request"
    _wrote(visitor.get("/save-only"), 1, "manual", case + " must not write it again")
    case = "resave=True, a returning visitor's /count: a change is written as 'modified'"
    _wrote(visitor.get("/count"), 1, "modified", case + ", whatever resave says")


@exercise(
    "4.2",
    "should_touch: when an unchanged session's expiry is moved",
    hints=[
        'A touch tells the store "this session is still in use". Which sessions does the '
        "store hold at all? (`session.new`)",
        "MemoryStore and RedisStore restart a session's life while reading it (GETEX), and "
        "any write (a save() in the view) sets it too: `session._fresh_ttl` says one did.",
        "A save() refused because another request ended the session (`session.interrupted`) "
        "leaves nothing to touch.",
    ],
)
def check_should_touch(lib: Any) -> None:
    lib = judged(lib, "should_touch")
    probe = Probe(lib, plain=True)  # a store that can't restart a session's life on a read
    visitor = probe.visitor()
    result = visitor.get("/peek")
    assert result.touches == 0, (
        "a new visitor's /peek: this session is not in the store (nothing was put in it), "
        "so there is nothing to touch."
    )
    visitor.get("/count")
    assert visitor.get("/peek").touches == 1, (
        "a store that can't restart a session's life while reading it, a returning /peek: "
        "the unchanged session must be touched, or it expires while in use."
    )
    assert probe.visitor().get("/save-only").touches == 0, (
        "a new visitor's /save-only: the view's save() stored the new session during this "
        "request; a touch after that write is a wasted store call."
    )
    assert visitor.get("/job").touches == 0, (
        "/job: the view's save() wrote the session, with its expiry, during this request; "
        "a touch after that write is a wasted store call."
    )
    assert visitor.get("/ended-elsewhere").touches == 0, (
        "/ended-elsewhere: another request destroyed the session and the view's save() was "
        "refused (session.interrupted); there is nothing left to touch."
    )

    visitor = Probe(lib).visitor()  # MemoryStore: the read restarts the session's life
    visitor.get("/count")
    assert visitor.get("/peek").touches == 0, (
        "MemoryStore, a returning /peek: reading the session already restarted its life in "
        "the store (session._fresh_ttl); a touch would be a second, useless store call."
    )
    visitor.get("/remember")
    assert visitor.get("/peek").touches == 1, (
        "a session that lives 3600 s (its own cookie.max_age), not the settings' 600 s: the "
        "read restarted it at 600 s, so it must be touched with its own expiry."
    )


@exercise(
    "4.3",
    "should_set_cookie: when the response carries the cookie",
    hints=[
        "For a new session the question is: does the store hold it now? A cookie naming a "
        "session the store doesn't have is useless (compare `session._saved` with the id).",
        "For a session the cookie brought: `rolling` resends it every time; otherwise only a "
        "change to a cookie with an expiry (now, or when it was loaded: "
        "`session._was_persistent`) tells the browser something new.",
        "Two reasons to send nothing at all, whatever else holds: the write found the "
        "session gone (`session.interrupted`), and a Secure cookie over plain HTTP "
        "(`session._cookie.secure`, `session.is_secure`).",
    ],
)
def check_should_set_cookie(lib: Any) -> None:
    lib = judged(lib, "should_set_cookie")
    visitor = Probe(lib).visitor()
    result = visitor.get("/peek")
    assert not result.cookies, (
        "defaults, a new visitor's /peek: nothing was stored; a cookie would name a session "
        "the store doesn't have."
    )
    assert visitor.get("/count").sets_cookie, (
        "a new visitor's /count stored a new session: the browser must learn its id."
    )
    assert not visitor.get("/peek").cookies, (
        "a returning visitor's /peek (no change, rolling off): the browser's cookie is right."
    )
    assert visitor.get("/count").sets_cookie, (
        "a returning visitor's /count: the session changed and its cookie has an expiry; "
        "resend it so the browser's expiry moves with the store's."
    )
    result = visitor.get("/forget-me")
    assert result.sets_cookie and "Max-Age" not in result.cookies[0], (
        "/forget-me sets `session.permanent = False`: the cookie loses its expiry, and the "
        "browser must be told, or it keeps the old one (session._was_persistent)."
    )
    assert Probe(lib).visitor().get("/save-only").sets_cookie, (
        "a new visitor's /save-only: the view's save() stored this new session, without "
        "changing it; the browser must learn its id."
    )

    visitor = Probe(lib, options={"cookie": {}}).visitor()  # a browser-session cookie
    assert visitor.get("/count").sets_cookie, "a new session, stored: the browser learns its id."
    assert not visitor.get("/count").cookies, (
        "a cookie without an expiry (a browser-session cookie), a returning /count: the "
        "browser's cookie already carries the id and has no expiry to update; a Set-Cookie "
        "on every change only costs bytes."
    )
    assert visitor.get("/remember").sets_cookie, (
        "/remember gives a browser-session cookie an expiry (session.cookie.max_age = 3600): "
        "the browser must learn it, or it drops the cookie when it closes."
    )

    visitor = Probe(lib, options={"rolling": True}).visitor()
    assert not visitor.get("/peek").cookies, (
        "rolling=True, a new visitor's /peek: rolling resends the cookie of a session the "
        "store holds; this one was never stored."
    )
    visitor.get("/count")
    assert visitor.get("/nothing").sets_cookie, (
        "rolling=True, a returning /nothing: every response to a browser with a session "
        "carries its cookie, even when the view ignored the session."
    )

    visitor = Probe(lib, options={"save_uninitialized": True}).visitor()
    assert visitor.get("/peek").sets_cookie, (
        "save_uninitialized=True, a new visitor's /peek: the empty session was stored; the "
        "browser must learn its id."
    )
    assert visitor.get("/logout").deletes_cookie, (
        "save_uninitialized=True, /logout: destroy() stored nothing new, so the response "
        "must delete the browser's cookie, not hand it a new one."
    )

    visitor = Probe(lib).visitor()
    visitor.get("/count")
    assert visitor.get("/gone").deletes_cookie, (
        "/gone: another request destroyed this session while the view ran, so the write "
        "was refused (session.interrupted). The cookie must be deleted, not set again."
    )

    secure = {"cookie": {"max_age": 600, "secure": True}}
    assert not Probe(lib, options=secure).visitor().get("/count").cookies, (
        "a Secure cookie, over plain HTTP: it would travel in the clear and browsers drop "
        "it; send it only over HTTPS (as express-session does)."
    )
    assert Probe(lib, https=True, options=secure).visitor().get("/count").sets_cookie, (
        "a Secure cookie, over HTTPS, a new session stored: the browser must learn its id."
    )


# -- the quiz ------------------------------------------------------------------------------------
question(
    4,
    "Under the defaults, a view never touches `session`, and the browser sends a valid "
    "session cookie. How many store calls does the request cost?",
    {"a": "none", "b": "one: a read", "c": "two: a read and a touch"},
    "a",
    "The session is loaded on first use; a view that never uses it costs the store nothing "
    "(with rolling=True the engine loads it, to resend the cookie).",
)
question(
    4,
    "Under the defaults, a new visitor's first request only reads the session. What happens?",
    {
        "a": "an empty session is stored and a cookie sent",
        "b": "the session is stored, but no cookie is sent",
        "c": "nothing is stored and no cookie is sent",
    },
    "c",
    "save_uninitialized=False: a new session is stored, and its cookie sent, once something "
    "is put in it. Crawlers and one-page visitors cost nothing.",
)
question(
    4,
    "Why is resave=True risky besides the extra writes?",
    {
        "a": "two overlapping requests of one user both write the whole session, so the "
        "slower one undoes the other's change",
        "b": "it sends a Set-Cookie on every response",
        "c": "it turns off the touch, so sessions expire while in use",
    },
    "a",
    "Every request rewrites the whole session, changed or not: the last write wins.",
)
question(
    4,
    "A view runs `session['cart'].append('pear')`. Is the change stored?",
    {
        "a": "no, not unless the view also sets `session.modified = True`",
        "b": "yes: the engine compares the session's JSON at the end with what was loaded",
        "c": "only with resave=True",
    },
    "b",
    "The state compared is the id, the lifetime and the data's JSON, so a change anywhere "
    "inside is a change (Flask's own session only sees assignments).",
)
question(
    4,
    "A returning visitor's session changes; its cookie has no max_age; rolling is off. "
    "Does the response carry a Set-Cookie?",
    {
        "a": "yes, every change resends the cookie",
        "b": "no: the browser's cookie already carries the id, and it has no expiry to move",
        "c": "only with save_uninitialized=True",
    },
    "b",
    "A Set-Cookie tells the browser something new: a new id, or a new expiry. A "
    "browser-session cookie has neither to learn.",
)
question(
    4,
    "While a request runs, another one (a logout in another tab) destroys the session. The "
    "first request then changes the session. What does sessionlib do at its end?",
    {
        "a": "it writes the session back: the last write wins",
        "b": "it raises an error, a 500",
        "c": "it writes nothing, deletes the cookie and sets `session.interrupted`",
    },
    "c",
    "A loaded session is written with replace: only while it is still stored (SET ... XX "
    "on Redis). A logout sticks.",
)
