"""Lesson 6, security: the shop the lesson attacks, a recorder that gives each browser its
own lane, the experiments' helpers, and the exercises' checks, hints and quiz.

The checks judge behaviour over a Flask test client: each builds a small app on the
learner's package and asks it what a browser, an attacker or a thief would ask.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import flask
import requests
from flask import Flask, jsonify, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from ..diagrams import Mermaid
from ..exercises import exercise, judged, question
from ..recorder import signals_of
from ..setcookie import set_cookie_table as set_cookie_table  # for the notebook
from ..table import Table, shorten

COOKIE = "connect.sid"
SECRET = "lesson 06: not a real secret"
WHO = "X-Who"  # the header each jar names itself in; only the recorder reads it
session: Any = flask.session  # typed loosely: sessionlib's session has rotate(), destroy()...


# -- the learner's package as a check judges it -------------------------------------------


# -- browsers -------------------------------------------------------------------------------


def browser(who: str) -> requests.Session:
    """A cookie jar that names itself (in a header only the lesson's recorder reads)."""
    jar = requests.Session()
    jar.headers[WHO] = who
    return jar


def plant(jar: requests.Session, value: str) -> None:
    """Put a session cookie into a jar by hand, as an attacker or a thief does. No expiry:
    a script that replays a cookie ignores the Expires a browser would obey."""
    jar.cookies.set(COOKIE, value, domain="127.0.0.1", path="/")


def id_of(value: str | None) -> str | None:
    """The session id inside a cookie value (``s:<id>.<signature>``, percent-encoded)."""
    if not value:
        return None
    text = unquote(value)
    return text[2:].rpartition(".")[0] if text.startswith("s:") else None


def short(sid: str | None) -> str:
    """An id as the signals show it: a quarter of it, at most 8 characters."""
    return "—" if not sid else sid[: min(8, len(sid) // 4)] + "…"


# -- the shop ---------------------------------------------------------------------------------


class User(UserMixin):
    """Anyone is a user in this shop: the name is the id (a real app checks a password)."""

    def __init__(self, name: str) -> None:
        self.id = name


def shop(
    lib: Any,
    *,
    name: str = "shop",
    login_signals: bool = True,
    proxy_fix: bool = False,
    **options: Any,
) -> Flask:
    """The lesson's shop: visits, a cart, and a login through Flask-Login. ``lib`` is the
    sessionlib package it runs on; ``login_signals=False`` leaves the session id alone at
    Flask-Login's login and logout (what the shop does without sessionlib's help)."""
    app = Flask(f"lesson06-{name}")
    app.config["SECRET_KEY"] = SECRET  # sessionlib's secret, and Flask-Login's for remember-me
    options.setdefault("cookie", {"max_age": 3600})
    lib.SessionManager(app, login_signals=login_signals, **options)
    LoginManager(app).user_loader(User)

    @app.get("/")
    def home():
        session["visits"] = session.get("visits", 0) + 1
        return f"visit {session['visits']}"

    @app.post("/cart/add")
    def add_to_cart():
        cart = session.get("cart", [])  # the session is loaded here, at the start
        time.sleep(float(request.args.get("slow", 0)))  # ?slow=0.3: a slow request
        session["cart"] = [*cart, request.form["item"]]
        session.save()  # write now, so that we can tell whether it was written
        if session.interrupted:  # another request ended this session meanwhile
            return "not added: this session ended meanwhile", 409
        return f"added {request.form['item']}"

    @app.get("/cart")
    def cart():
        return jsonify(session.get("cart", []))

    @app.post("/login")
    def login():  # a real app checks the password first
        remember = request.form.get("remember") == "yes"
        login_user(User(request.form["user"]), remember=remember)
        return f"hello {current_user.id}"

    @app.get("/me")
    def me():
        return current_user.id if current_user.is_authenticated else "anonymous"

    @app.post("/logout")
    def logout():
        logout_user()
        return "bye"

    @app.get("/elsewhere")
    def elsewhere():  # for the browser: a page of "another site" posting to this one
        port = request.host.rpartition(":")[2]
        target = f"http://127.0.0.1:{port}/cart/add"
        return (
            "<p>This page stands for another site. Its form posts to the shop at "
            f"<code>{target}</code>.</p>"
            f"<form method='post' action='{target}'><input name='item' value='anvil'>"
            "<button>add an anvil to your cart, from another site</button></form>"
        )

    if proxy_fix:  # trust X-Forwarded-Proto from one proxy in front of the app
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    return app


def express_style(lib: Any) -> Any:
    """A MemoryStore that writes a stored session back whether or not it still exists, as
    express-session does (its ``store.set``, connect-redis's plain ``SET``)."""

    class ExpressStyleStore(lib.MemoryStore):
        def replace(self, sid: str, data: dict[str, Any]) -> bool:
            self.set(sid, data)
            return True

    return ExpressStyleStore()


# -- a recorder with a lane per browser -------------------------------------------------------


@dataclass
class Story:
    """One request: who sent it, what it did to the session, what went back."""

    who: str
    method: str
    path: str
    cookie_in: str | None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int | None = None
    cookies_out: list[str] = field(default_factory=list)


_KINDS = {
    "session_loaded": "loaded",
    "session_created": "created",
    "session_saved": "saved",
    "session_touched": "touched",
    "session_regenerated": "regenerated",
    "session_destroyed": "destroyed",
    "session_interrupted": "interrupted",
    "store_called": "store",
}


class Lanes:
    """Record what each request did, in the order it happened, with each browser in its own
    lane: ``with Lanes(app) as story: ...``, then ``story.diagram()`` or ``story.table()``.
    A request's lane is its ``X-Who`` header (``browser(...)`` sets it), else "Browser".
    On a Redis store, each store call shows the commands the client really sent."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.engine = app.extensions["sessionlib"].engine
        self.requests: list[Story] = []
        self.timeline: list[tuple[str, Story, str, dict[str, Any]]] = []
        self._current: dict[int, Story] = {}
        self._lock = threading.Lock()
        self._receivers: list[tuple[Any, Any]] = []
        self._sent: dict[int, list[tuple[Any, ...]]] = {}  # Redis commands, by thread
        self._client = self.engine.store.client if self._is_redis() else None
        self._wrapped: Any = None

    def __enter__(self) -> Lanes:
        self._connect(flask.request_started, self._started, self.app)
        self._connect(flask.request_finished, self._finished, self.app)
        signals = signals_of(self.app.extensions["sessionlib"].engine)
        for name, kind in _KINDS.items():
            self._connect(getattr(signals, name), self._receiver(kind), self.engine)
        if self._client is not None:  # listen to the client too: what it sends, by request
            self._wrapped = self._client.__dict__.get("execute_command")
            send = self._client.execute_command

            def execute_command(*args: Any, **options: Any) -> Any:
                with self._lock:
                    if threading.get_ident() in self._current:
                        self._sent.setdefault(threading.get_ident(), []).append(args)
                return send(*args, **options)

            self._client.execute_command = execute_command
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self._receivers.clear()
        if self._client is not None:
            if self._wrapped is None:
                del self._client.execute_command
            else:
                self._client.execute_command = self._wrapped

    def _connect(self, signal: Any, receiver: Any, sender: Any) -> None:
        signal.connect(receiver, sender=sender, weak=False)
        self._receivers.append((signal, receiver))

    def _started(self, sender: Any, **extra: Any) -> None:
        story = Story(
            request.headers.get(WHO, "Browser"),
            request.method,
            request.full_path.rstrip("?"),
            request.cookies.get(self.engine.name),
        )
        with self._lock:
            self.requests.append(story)
            self._current[threading.get_ident()] = story
            self.timeline.append(("start", story, "", {}))

    def _finished(self, sender: Any, response: flask.Response, **extra: Any) -> None:
        with self._lock:
            story = self._current.pop(threading.get_ident(), None)
            if story is not None:
                story.status = response.status_code
                story.cookies_out = response.headers.getlist("Set-Cookie")
                self.timeline.append(("end", story, "", {}))

    def _receiver(self, kind: str) -> Callable[..., None]:
        def receive(sender: Any, **data: Any) -> None:
            with self._lock:
                story = self._current.get(threading.get_ident())
                if kind == "store":  # the commands sent during this call, if on Redis
                    data = {**data, "sent": self._sent.pop(threading.get_ident(), [])}
                if story is not None:
                    story.events.append((kind, data))
                    self.timeline.append(("event", story, kind, data))

        return receive

    # -- rendering -------------------------------------------------------------------------
    def _is_redis(self) -> bool:
        return hasattr(self.engine.store, "client") and hasattr(self.engine.store, "key")

    def command(self, call: dict[str, Any]) -> str:
        """A store call as what it cost: the Redis commands sent, or a method call."""
        key, ttl, operation = call["key"], call.get("ttl"), call["operation"]
        if not self._is_redis():
            return f"{operation}({key})"
        if call.get("sent"):
            return ", ".join(self._redis_command(command) for command in call["sent"])
        ex = "" if ttl is None else f" EX {max(1, round(ttl))}"
        return {
            "get": f"GET {key}",
            "get_and_touch": f"GETEX {key}{ex}",
            "set": f"SET {key} …{ex}",
            "replace": f"SET {key} …{ex} XX",
            "touch": f"EXPIRE {key}{ex.replace(' EX', '')}",
            "destroy": f"DEL {key}",
            "merge": f"WATCH {key}, GET, MULTI, SET …{ex} XX, EXEC",
        }.get(operation, f"{operation} {key}")

    def _redis_command(self, command: tuple[Any, ...]) -> str:
        """A command as Redis would log it, with ids cut short and JSON left out."""
        prefix, words = self.engine.store.prefix, []
        for part in command:
            text = part.decode() if isinstance(part, bytes) else str(part)
            if text.startswith(prefix) and len(text) > len(prefix) + 8:
                text = prefix + short(text[len(prefix) :])
            words.append("…" if text.startswith("{") else text)
        return " ".join(words)

    def commands_of(self, number: int) -> list[str]:
        """What request ``number`` (1 for the first) cost: the Redis commands, or store calls."""
        calls = [data for kind, data in self.requests[number - 1].events if kind == "store"]
        if self._is_redis():  # each command the client sent
            return [self._redis_command(c) for call in calls for c in call.get("sent", [])]
        return [self.command(call) for call in calls]

    def _cookie_out(self, story: Story) -> str:
        parts = []
        for header in story.cookies_out:
            name, _, value = header.split(";", 1)[0].partition("=")
            if name != self.engine.name:
                parts.append(f"{name} cleared" if not value else f"{name} set")
            elif not value:
                parts.append("cookie cleared")
            else:
                parts.append(f"cookie {short(id_of(value))}")
        return ", ".join(parts)

    def diagram(self) -> Mermaid:
        """A sequence diagram: one lane per browser, then Flask, then the store."""
        lanes: dict[str, str] = {}
        for story in self.requests:
            lanes.setdefault(story.who, f"L{len(lanes)}")
        store = "Redis" if self._is_redis() else type(self.engine.store).__name__
        lines = ["sequenceDiagram"]
        lines += [f"    participant {lane} as {_safe(who)}" for who, lane in lanes.items()]
        lines += ["    participant F as Flask + sessionlib", f"    participant S as {store}"]
        for moment, story, kind, data in self.timeline:
            lane = lanes[story.who]
            if moment == "start":
                sid = id_of(story.cookie_in)
                cookie = f"cookie {short(sid)}" if sid else "no cookie"
                lines.append(f"    {lane}->>F: {story.method} {_safe(story.path)} ({cookie})")
            elif moment == "end":
                out = self._cookie_out(story)
                lines.append(f"    F-->>{lane}: {story.status}{', ' + out if out else ''}")
            elif kind == "store":
                lines.append(f"    F->>S: {_safe(self.command(data))}")
                if data.get("error"):
                    lines.append(f"    S--xF: {_safe(shorten(data['error'], 50))}")
                elif data.get("found") is not None:
                    lines.append(f"    S-->>F: {'session JSON' if data['found'] else 'nothing'}")
            else:
                lines.append(f"    Note over F: {_safe(describe(kind, data))}")
        return Mermaid("\n".join(lines))

    def table(self, title: str | None = None) -> Table:
        """One row per request: who, the request, cookie in, session events, store calls,
        status, cookies out."""
        rows = [
            [
                number,
                story.who,
                f"{story.method} {story.path}",
                short(id_of(story.cookie_in)),
                "; ".join(describe(k, d) for k, d in story.events if k != "store") or "—",
                "; ".join(self.command(d) for k, d in story.events if k == "store") or "—",
                story.status,
                self._cookie_out(story) or "—",
            ]
            for number, story in enumerate(self.requests, start=1)
        ]
        columns = ["#", "who", "request", "cookie in", "session", "store calls", "status"]
        return Table([*columns, "cookies out"], rows, title)


def describe(kind: str, data: dict[str, Any]) -> str:
    """A session event in a few words."""
    sid = data.get("sid")
    if kind == "loaded":
        if data.get("found"):
            return f"loaded {sid}"
        rejected = data.get("rejected")
        return f"cookie rejected: {rejected}" if rejected else "no session cookie"
    if kind == "created":
        return f"new session {sid}"
    if kind == "saved":
        return f"saved ({data['reason']})"
    if kind == "regenerated":
        kept = "data kept" if data.get("kept_data") else "data dropped"
        return f"new id: {data.get('old_sid')} → {sid} ({kept})"
    if kind == "destroyed":
        return f"destroyed {sid}"
    if kind == "interrupted":
        return f"{sid} is gone: nothing written"
    return kind


def _safe(text: str) -> str:
    """Mermaid message text: no characters that end or break a message line."""
    return str(text).replace(";", ",").replace("#", "")


# -- the experiments ------------------------------------------------------------------------


def who_is_who(site: Any, jars: dict[str, requests.Session]) -> Table:
    """Each jar's session id and what the site says to it."""
    rows = [
        [
            name,
            short(id_of(jar.cookies.get(COOKIE))),
            jar.get(site.url + "/me").text,
            jar.get(site.url + "/cart").text.strip(),
        ]
        for name, jar in jars.items()
    ]
    return Table(["jar", "session id in its cookie", "GET /me", "GET /cart"], rows)


def after_logout(site: Any) -> list[str]:
    """Alice logs in and fills her cart, a thief copies her cookie, Alice logs out: what
    the thief's copy still gets, and whether the old id is still in the store."""
    alice, thief = browser("Alice"), browser("Thief")
    alice.post(site.url + "/cart/add", data={"item": "teapot"})
    alice.post(site.url + "/login", data={"user": "alice"})
    plant(thief, alice.cookies[COOKIE])
    old_id = id_of(alice.cookies[COOKIE])
    alice.post(site.url + "/logout")
    store = site.app.extensions["sessionlib"].engine.store
    return [
        thief.get(site.url + "/me").text,
        thief.get(site.url + "/cart").text.strip(),
        "yes" if store.get(old_id) is not None else "no",
        "yes" if COOKIE in alice.cookies else "no",
    ]


def logout_table(sites: dict[str, Any]) -> Table:
    """``after_logout`` on each site, one row each."""
    rows = [[label, *after_logout(site)] for label, site in sites.items()]
    columns = ["the shop", "thief's GET /me", "thief's GET /cart", "old id stored?"]
    return Table([*columns, "Alice's jar keeps the cookie?"], rows, "After Alice logs out")


def race(site: Any) -> dict[str, str]:
    """Alice logs in. Tab A adds a teapot slowly (0.3 s); 0.1 s later tab B logs out; A
    finishes last. Then her browser asks who it is."""
    alice = browser("Alice")
    alice.post(site.url + "/login", data={"user": "alice"})
    with ThreadPoolExecutor(2) as pool:
        slow = site.url + "/cart/add?slow=0.3"
        tab_a = pool.submit(alice.post, slow, data={"item": "teapot"}, headers={WHO: "Tab A"})
        time.sleep(0.1)
        tab_b = pool.submit(alice.post, site.url + "/logout", headers={WHO: "Tab B"})
        a, b = tab_a.result(), tab_b.result()
    return {
        "tab A says": f"{a.status_code} {a.text}",
        "tab A's Set-Cookie": _set_cookie_word(a),
        "tab B says": b.text,
        "then GET /me": alice.get(site.url + "/me").text,
    }


def _set_cookie_word(response: requests.Response) -> str:
    headers = [h for h in response.raw.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]
    if not headers:
        return "—"
    value = headers[0].split(";", 1)[0].partition("=")[2]
    return "clears the cookie" if not value else f"sets the cookie again ({short(id_of(value))})"


def race_table(sites: dict[str, Any]) -> Table:
    """``race`` on each site (all at once: each has its own server), one row each."""
    with ThreadPoolExecutor(len(sites)) as pool:
        results = list(pool.map(race, sites.values()))
    rows = [[label, *result.values()] for label, result in zip(sites, results, strict=True)]
    columns = ["logout by", "tab A says", "tab A's Set-Cookie", "tab B says"]
    return Table([*columns, "then GET /me"], rows, "A logout while a slow request is in flight")


def thief_polls(sites: dict[str, Any], seconds: float = 2.0, every: float = 0.5) -> Table:
    """On each site Alice logs in and a thief copies her cookie. Every ``every`` seconds
    the thief asks GET /me; Alice's own browser (which obeys Expires) asks the first site."""
    alices = {label: browser("Alice") for label in sites}
    thieves = {label: browser("Thief") for label in sites}
    # The jar turns Max-Age=1 into an expiry of int(time.time()) + 1: the cookie dies at the
    # next turn of the clock's second. Log in just after one turns, so that it lives a second.
    time.sleep(1.05 - time.time() % 1)
    for label, site in sites.items():
        alices[label].post(site.url + "/login", data={"user": "alice"})
        plant(thieves[label], alices[label].cookies[COOKIE])
    first = next(iter(sites))
    start, rows = time.monotonic(), []
    for step in range(round(seconds / every) + 1):
        time.sleep(max(0.0, start + step * every - time.monotonic()))
        row = [f"{step * every:.1f}", alices[first].get(sites[first].url + "/me").text]
        row += [thieves[label].get(site.url + "/me").text for label, site in sites.items()]
        rows.append(row)
    columns = ["t (s)", f"Alice's browser, {first}"]
    columns += [f"thief polling, {label}" for label in sites]
    return Table(columns, rows, "A stolen cookie, replayed every half second")


def cookie_behaviour(app: Flask, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """Serve ``app`` and GET / twice with ``headers``: the first response's cookie
    attributes, and whether the jar sent the cookie back on the second request."""
    from ..live import LiveServer

    with LiveServer(app) as site:
        jar = requests.Session()
        first = jar.get(site.url + "/", headers=headers)
        second = jar.get(site.url + "/", headers=headers)
    header = first.headers.get("Set-Cookie")
    attributes = header.split(";", 1)[1].strip() if header else "— (no Set-Cookie at all)"
    return attributes, "yes" if "Cookie" in second.request.headers else "no"


def flags_table(
    lib: Any,
    settings: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    proxy_fix: bool = False,
) -> Table:
    """Each ``cookie={...}`` setting on the shop: the attributes sent, and whether the jar
    sends the cookie back over plain http (or the error that refuses the setting)."""
    rows = []
    for setting in settings:
        try:
            app = shop(lib, name="flags", cookie=setting, proxy_fix=proxy_fix)
        except ValueError as error:
            rows.append([f"cookie={setting}", f"refused: {shorten(error, 70)}", "—"])
            continue
        rows.append([f"cookie={setting}", *cookie_behaviour(app, headers)])
    return Table(["SessionManager(...)", "Set-Cookie attributes", "jar sends it back?"], rows)


def elsewhere_links(server: Any) -> Any:
    """Links for the browser: the shop at 127.0.0.1, and its page "of another site" at
    localhost (another site to the browser, though the same server)."""
    from IPython.display import HTML

    shop_url, other = f"{server.url}/", f"http://localhost:{server.port}/elsewhere"
    return HTML(
        f'<a href="{shop_url}" target="_blank" rel="noopener">1. the shop: {shop_url}</a><br>'
        f'<a href="{other}" target="_blank" rel="noopener">2. another site: {other}</a>'
    )


# -- CSRF -----------------------------------------------------------------------------------


def bank(lib: Any, token: Callable[[], str], valid: Callable[[Any], bool]) -> Flask:
    """A bank on ``lib`` with Flask-Login: GET /form shows the form's CSRF token
    (``token()``), POST /transfer is refused with 400 unless ``valid(sent)``."""
    app = Flask("lesson06-bank")
    app.config["SECRET_KEY"] = SECRET
    lib.SessionManager(app, cookie={"max_age": 3600})
    LoginManager(app).user_loader(User)

    @app.get("/form")
    def form():
        return token()

    @app.post("/transfer")
    def transfer():
        if not valid(request.form.get("csrf")):
            return "refused: bad CSRF token", 400
        return "sent"

    @app.post("/login")
    def login():
        login_user(User(request.form["user"]))
        return "hello"

    @app.post("/logout")
    def logout():
        logout_user()
        return "bye"

    @app.errorhandler(NotImplementedError)
    def not_done(error):
        return "exercise 6.6 is not done yet", 501

    return app


def wtf_bank(lib: Any) -> Flask:
    """The bank with Flask-WTF's tokens (kept in the session as ``csrf_token``)."""
    from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf

    def valid(sent: Any) -> bool:
        try:
            validate_csrf(sent)
        except ValidationError:
            return False
        return True

    return bank(lib, generate_csrf, valid)


def forged_transfer(site: Any) -> Table:
    """Fixation, then CSRF: the attacker reads a form in his session, plants the session in
    the victim's browser, she logs in, and a page of his makes her browser post his token."""
    attacker, victim = browser("Attacker"), browser("Victim")
    form = attacker.get(site.url + "/form")
    if form.status_code != 200 or COOKIE not in attacker.cookies:
        return Table(["step", "answer"], [["GET /form", f"{form.status_code} {form.text}"]])
    token, planted = form.text, attacker.cookies[COOKIE]
    plant(victim, planted)
    victim.post(site.url + "/login", data={"user": "alice"})
    ids = f"{short(id_of(planted))} → {short(id_of(victim.cookies.get(COOKIE)))}"
    forged = victim.post(site.url + "/transfer", data={"csrf": token})
    own = victim.post(site.url + "/transfer", data={"csrf": victim.get(site.url + "/form").text})
    return Table(
        ["step", "answer"],
        [
            ["1. the attacker reads a form: its token", shorten(token, 30)],
            ["2-3. planted; the victim logs in: her session's id", ids],
            ["4. her browser posts the attacker's token", f"{forged.status_code} {forged.text}"],
            ["her own form's token still works", f"{own.status_code} {own.text}"],
        ],
    )


# -- checks -------------------------------------------------------------------------------


def _app(lib: Any, store: Any = None, **options: Any) -> Flask:
    """A bare app on ``lib`` for a check: exceptions reach the check (testing mode)."""
    app = Flask("lesson06-check")
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    options.setdefault("cookie", {"max_age": 3600})
    lib.SessionManager(app, store=store, **options)
    return app


def _cookie(client: Any) -> str | None:
    found = client.get_cookie(COOKIE)
    return None if found is None else found.value


def _set_cookies(response: Any, name: str = COOKIE) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def _clears(response: Any, name: str = COOKIE) -> bool:
    """The response tells the browser to drop cookie ``name``."""
    return any(h.startswith(name + "=;") for h in _set_cookies(response, name))


def _with_cookie(app: Flask, value: str) -> Any:
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


@exercise(
    "6.1",
    "regenerate(): a new id, the old one destroyed; keep_data keeps the data",
    [
        "The old id must die in the store: call_store(session, 'destroy', old) when the store "
        "holds it (it came with the cookie, session._cookie_id, or this request saved it, "
        "session._saved[0]).",
        "generate(session, 'regenerated') gives the session a new id and an empty session. "
        "Keep what you need from the old one (session._data, session._cookie, "
        "session._created) before you call it.",
        "A new id is a change that must be stored and sent: after generate(), put back the "
        "old session._loaded. With keep_data, put the data, cookie and creation time back.",
    ],
)
def check_regenerate(lib: Any) -> None:
    lib = judged(lib, "regenerate")
    store = lib.MemoryStore()
    app = _app(lib, store)

    @app.post("/add")
    def add():
        session["cart"] = [*session.get("cart", []), "teapot"]
        return session.id

    @app.post("/<how>")
    def change_id(how: str):
        before = session.id
        if how == "rotate":
            session.rotate()
        else:
            session.regenerate()
        session["user"] = "alice"
        return jsonify(before=before, after=session.id)

    @app.post("/only-regenerate")
    def only_regenerate():  # writes nothing after the new id
        before = session.id
        session.regenerate()
        return jsonify(before=before, after=session.id)

    @app.post("/save-then-rotate")
    def save_then_rotate():
        session["n"] = 1
        session.save()
        before = session.id
        session.rotate()
        return jsonify(before=before, after=session.id)

    @app.get("/read")
    def read():
        return jsonify(dict(session))

    for how in ("rotate", "regenerate"):
        browser_ = app.test_client()
        browser_.post("/add")
        old_cookie = _cookie(browser_)
        ids = browser_.post(f"/{how}").get_json()
        assert ids["after"] != ids["before"], f"after session.{how}() the id is the same"
        assert store.get(ids["before"]) is None, (
            f"after session.{how}() the old id is still in the store: whoever planted it is "
            "still in the session"
        )
        stored = store.get(ids["after"])
        assert stored is not None, f"after session.{how}() the new id was never stored"
        assert id_of(_cookie(browser_)) == ids["after"], (
            f"after session.{how}() the browser did not get the new id in its cookie"
        )
        if how == "rotate":
            assert stored.get("cart") == ["teapot"], (
                "rotate() (keep_data=True) lost the data: the cart is gone after the login"
            )
        else:
            assert "cart" not in stored, (
                "regenerate() (keep_data=False) kept the data: it starts afresh, as express's"
            )
        assert stored.get("user") == "alice", "what the view wrote after the new id was lost"
        replay = _with_cookie(app, old_cookie).get("/read").get_json()
        assert replay == {}, f"the old cookie still opens a session after {how}(): {replay}"
    carol = app.test_client()
    carol.post("/add")
    ids = carol.post("/only-regenerate").get_json()
    assert store.get(ids["after"]) is not None and id_of(_cookie(carol)) == ids["after"], (
        "a view that only calls session.regenerate() stored no new id and sent no cookie: "
        "a new id is a change, so put the old session._loaded back after generate()"
    )
    ids = app.test_client().post("/save-then-rotate").get_json()
    assert store.get(ids["before"]) is None, (
        "a session saved earlier in this request (session.save()) kept its old id in the "
        "store: session._saved says what this request stored"
    )


@exercise(
    "6.2",
    "destroy(): the entry deleted, the cookie expired, the request carries on afresh",
    [
        "Three things: delete the entry (call_store(session, 'destroy', sid)) when the store "
        "holds it, mark the cookie for deletion (session._dead_cookie), and carry on with a "
        "new, empty session (generate(session, 'destroyed')).",
        "The store holds the session when it came with the cookie (session._cookie_id) or "
        "this request saved it (session._saved[0]). Set session._cookie_id = None and "
        "session._destroyed = True: the browser's cookie is no longer this session's.",
    ],
)
def check_destroy(lib: Any) -> None:
    lib = judged(lib, "destroy")
    store = lib.MemoryStore()
    app = _app(lib, store)

    @app.post("/login")
    def login():
        session.update(user="alice", cart=["teapot"])
        return session.id

    @app.post("/logout")
    def logout():
        before = session.id
        session.destroy()
        return jsonify(before=before, after=session.id, data=dict(session))

    @app.post("/logout-then-write")
    def logout_then_write():
        before = session.id
        session.destroy()
        session["flash"] = "you are logged out"
        return jsonify(before=before, after=session.id)

    @app.post("/save-then-destroy")
    def save_then_destroy():
        session["n"] = 1
        session.save()
        before = session.id
        session.destroy()
        return before

    @app.get("/read")
    def read():
        return jsonify(dict(session))

    alice = app.test_client()
    alice.post("/login")
    old_cookie = _cookie(alice)
    response = alice.post("/logout")
    ids = response.get_json()
    assert store.get(ids["before"]) is None, (
        "after destroy() the session is still in the store: a copy of the cookie still works"
    )
    assert ids["data"] == {}, f"after destroy() the request still sees the old data: {ids['data']}"
    assert ids["after"] != ids["before"], "after destroy() the request carries on under the old id"
    assert _clears(response), (
        "the logout's response does not expire the cookie: the browser keeps sending it"
    )
    replay = _with_cookie(app, old_cookie).get("/read").get_json()
    assert replay == {}, f"the old cookie still opens a session after destroy(): {replay}"

    bob = app.test_client()
    bob.post("/login")
    ids = bob.post("/logout-then-write").get_json()
    assert ids["after"] != ids["before"], "a write after destroy() went to the old id"
    stored = store.get(ids["after"])
    assert stored is not None and stored.get("flash"), (
        "what the view wrote after destroy() (a flash message) was not stored as a new session"
    )
    assert store.get(ids["before"]) is None, "a write after destroy() brought the old id back"
    assert id_of(_cookie(bob)) == ids["after"], "the browser did not get the new session's cookie"

    before = app.test_client().post("/save-then-destroy").text
    assert store.get(before) is None, (
        "a session saved earlier in this request (session.save()) stayed in the store: "
        "session._saved says what this request stored"
    )

    eager = _app(lib, lib.MemoryStore(), save_uninitialized=True)  # saves even empty sessions
    eager.post("/login")(login)
    eager.post("/logout")(logout)
    dora = eager.test_client()
    dora.post("/login")
    assert _clears(dora.post("/logout")), (
        "with save_uninitialized=True the logout's response sent a new cookie instead of "
        "deleting the old one: set session._destroyed = True, so that the empty session "
        "after the logout is not saved"
    )


@exercise(
    "6.3",
    "follow_flask_login: rotate at login, destroy at logout, Flask-Login's remember cookie cleared",
    [
        "Each receiver runs inside the request, so flask.session is the request's session: "
        "check it is a sessionlib Session (isinstance), then call its method.",
        "At login the data must stay (Flask-Login has just written _user_id): rotate(), not "
        "regenerate(). At logout everything goes: destroy().",
        "logout_user() writes session['_remember'] = 'clear' before it sends the signal, and "
        "reads it after the view to delete its remember cookie: take it out before destroy() "
        "and put it into the new session after.",
    ],
)
def check_follow_flask_login(lib: Any) -> None:
    lib = judged(lib, "follow_flask_login", "_rotate_at_login", "_destroy_at_logout")
    store = lib.MemoryStore()
    app = _app(lib, store)
    LoginManager(app).user_loader(User)

    @app.post("/add")
    def add():
        session["cart"] = ["teapot"]
        return session.id

    @app.post("/login")
    def login():
        login_user(User("alice"), remember=request.args.get("remember") == "yes")
        return session.id

    @app.post("/logout")
    def logout():
        logout_user()
        return "bye"

    @app.get("/me")
    def me():
        return current_user.id if current_user.is_authenticated else "anonymous"

    @app.get("/read")
    def read():
        return jsonify({k: v for k, v in session.items() if not k.startswith("_")})

    alice = app.test_client()
    before = alice.post("/add").text
    after = alice.post("/login").text
    assert after != before, "login_user() kept the session id: session fixation is still open"
    assert store.get(before) is None, "after login_user() the old id is still in the store"
    assert alice.get("/me").text == "alice", (
        "after login_user() the user is not logged in: the receiver dropped Flask-Login's "
        "_user_id (rotate() keeps the data, regenerate() does not)"
    )
    assert alice.get("/read").get_json() == {"cart": ["teapot"]}, "the cart was lost at login"
    logged_in_cookie = _cookie(alice)
    response = alice.post("/logout")
    assert store.get(after) is None, (
        "after logout_user() the session is still in the store: removing the user's keys "
        "(or a new id) is not a logout"
    )
    assert _clears(response), "the logout's response does not expire the session cookie"
    assert alice.get("/read").get_json() == {}, "after the logout the cart is still there"
    thief = _with_cookie(app, logged_in_cookie)
    assert thief.get("/me").text == "anonymous", "a copy of the cookie is still logged in"

    bob = app.test_client()
    bob.post("/login?remember=yes")
    assert bob.get_cookie("remember_token") is not None, "Flask-Login set no remember cookie"
    response = bob.post("/logout")
    assert _clears(response, "remember_token"), (
        "logout_user() could not clear its remember cookie: Flask-Login reads "
        "session['_remember'] after the view, and destroy() threw it away"
    )

    shop_only = _app(lib, lib.MemoryStore(), cookie={"max_age": 3600, "path": "/shop"})
    LoginManager(shop_only).user_loader(User)
    shop_only.post("/help/logout")(logout)  # outside the cookie's path
    try:
        shop_only.test_client().post("/help/logout")
    except NotImplementedError:
        raise
    except Exception as error:
        raise AssertionError(
            "a logout on a URL outside the session cookie's path failed "
            f"({type(error).__name__}: {error}). There flask.session is not a sessionlib "
            "Session: check isinstance(flask.session, Session) first"
        ) from None


def _entry(sid: str, created_ago: float | None, saved_ago: float = 1.0) -> dict[str, Any]:
    """A stored session as express keeps it: saved ``saved_ago`` s ago with a 1-hour max age,
    begun ``created_ago`` s ago (``_created`` in ms; None: no ``_created``)."""
    from datetime import datetime, timezone

    now = time.time()
    expires = datetime.fromtimestamp(now - saved_ago + 3600, timezone.utc)
    cookie = {
        "originalMaxAge": 3600000,
        "expires": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "httpOnly": True,
        "path": "/",
        "sameSite": "lax",
    }
    entry: dict[str, Any] = {"cookie": cookie, "user": "alice"}
    if created_ago is not None:
        entry["_created"] = round((now - created_ago) * 1000)
    return entry


@exercise(
    "6.4",
    "outlived(): a session ends absolute_timeout seconds after it began, however active",
    [
        "session.engine.absolute_timeout is the limit in seconds, or None (no limit).",
        "session._created is when the session began, in seconds since 1970 (time.time()'s "
        "clock); the last request, the last save and the cookie's expiry do not matter.",
    ],
)
def check_outlived(lib: Any) -> None:
    import sessionlib

    lib = judged(lib, "outlived")
    for timeout in (500, None):
        store = lib.MemoryStore()
        app = _app(lib, store, absolute_timeout=timeout, rolling=True)

        @app.get("/me")
        def me():
            return session.get("user", "anonymous")

        for name, created_ago in (("old", 1000.0), ("young", 100.0), ("express", None)):
            store.set(name, _entry(name, created_ago))
            cookie = sessionlib.signing.cookie_value(name, SECRET)
            says = _with_cookie(app, cookie).get("/me").text
            alive = timeout is None or created_ago is None or created_ago < timeout
            if alive:
                assert says == "alice", (
                    f"a session begun {created_ago} s ago ended with absolute_timeout="
                    f"{timeout}: it ended too early (both are in seconds)"
                    if created_ago is not None
                    else "a session whose entry has no _created ended at its first request"
                )
            else:
                assert says == "anonymous", (
                    f"a session begun {created_ago:.0f} s ago, last used a second ago, is still "
                    f"alive with absolute_timeout={timeout}: count from when it began "
                    "(session._created), not from its last request"
                )


@exercise(
    "6.5",
    "production cookie settings",
    [
        "The keys of cookie={...}: http_only, secure, same_site, max_age (in seconds).",
        "secure=True sends no cookie at all over plain http; one value makes the cookie Secure "
        "exactly when the request came over HTTPS.",
    ],
    uses_package=False,
)
def check_production_cookie(production_cookie: Callable[[], dict[str, Any]]) -> None:
    import sessionlib

    options = production_cookie()
    assert isinstance(options, dict), "return a dict: the cookie={...} option"

    def first_cookie(app: Flask, **environ: Any) -> str:
        response = app.test_client().get("/", **environ)
        found = _set_cookies(response)
        return found[0] if found else ""

    app = shop(sessionlib, name="check", cookie=options, proxy_fix=True)
    behind = first_cookie(app, headers={"X-Forwarded-Proto": "https"})
    assert behind, "behind the proxy the shop sent no session cookie"
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in behind, f"behind the proxy the cookie lacks {flag}: {behind}"
    assert "Max-Age=" in behind, "the cookie needs an expiry: max_age, in seconds"
    max_age = int(behind.split("Max-Age=")[1].split(";")[0])
    assert max_age == 8 * 3600, f"Max-Age={max_age}: 8 hours is 28800 seconds"
    laptop = first_cookie(shop(sessionlib, name="check", cookie=options))
    assert laptop, "on the laptop (plain http) the shop sent no cookie: the session can't start"
    assert "Secure" not in laptop, "on plain http the cookie must not be Secure"


def _sid(client: Any) -> str | None:
    import sessionlib

    value = _cookie(client)
    return None if value is None else sessionlib.unsign(unquote(value)[2:], SECRET)


@exercise(
    "6.6",
    "a CSRF token bound to the session",
    [
        "A token kept in the session's data survives rotation (that is what rotation is "
        "for). Keep, beside the token, the id it was made for, and make a new token when "
        "session.id is not that id.",
        "csrf_ok must say False when the session has no token at all, and for anything "
        "sent that is not exactly its token (compare with hmac.compare_digest).",
    ],
    uses_package=False,
)
def check_csrf(token: Callable[[], str], valid: Callable[[Any], bool]) -> None:
    import sessionlib

    app = bank(sessionlib, token, valid)
    app.testing = True

    def post(client: Any, sent: Any) -> int:
        data = {} if sent is None else {"csrf": sent}
        return done(client.post("/transfer", data=data)).status_code

    def form(client: Any) -> str:
        return done(client.get("/form")).text

    def done(response: Any) -> Any:
        if response.status_code == 501:  # the bank's answer to NotImplementedError
            raise NotImplementedError
        return response

    alice = app.test_client()
    assert post(alice, None) == 400, "a session that never had a form accepted no token at all"
    first = form(alice)
    assert isinstance(first, str) and len(first) >= 16, "the token is too short to be unguessable"
    sid = _sid(alice)
    assert sid is not None, "the form left no session behind: keep the token in the session"
    assert sid not in first, "the token shows the session id: a page's script can read it"
    assert post(alice, first) == 200, "the form's own token was refused"
    assert form(alice) == first, "a second form got another token (one per session)"
    assert post(alice, first) == 200, "a second form made the first one's token invalid"
    for wrong in (None, "", first[:-1], first + "x", "x" * len(first)):
        assert post(alice, wrong) == 400, f"a wrong token was accepted: {wrong!r}"
    bob = app.test_client()
    assert post(bob, first) == 400, "another session's token was accepted"
    assert form(bob) != first, "two sessions got the same token"

    victim = app.test_client()
    before = form(victim)
    victim.post("/login", data={"user": "alice"})
    assert post(victim, before) == 400, (
        "a token from before the login still works after it, under the new id: the attacker "
        "who planted the session read it. Bind the token to the session id"
    )
    after = form(victim)
    assert after != before and post(victim, after) == 200, (
        "after the login a new form's token fails"
    )
    victim.post("/logout")
    assert post(victim, after) == 400, "after the logout the old token still works"


# -- quiz -----------------------------------------------------------------------------------

question(
    6,
    "An attacker planted his session id in Alice's browser. What must happen at her login?",
    {
        "a": "Nothing: her password proves who she is.",
        "b": "The cookie gets SameSite=Strict.",
        "c": "The session gets a new id; its data may stay (rotation).",
        "d": "The secret is rotated.",
    },
    "c",
    "The id is the bearer token, and the attacker holds the old one. A new id at login leaves "
    "him with nothing; the cart can stay.",
)
question(
    6,
    "Which logout keeps a request already in flight from logging the user back in?",
    {
        "a": "Destroying the entry, with writes that refuse to recreate it (SET ... XX).",
        "b": "Removing the user's key from the session.",
        "c": "Expiring the cookie.",
        "d": "Rotating the id.",
    },
    "a",
    "The slow request writes the whole session back when it ends. Only an entry that is gone, "
    "and a write that refuses to bring it back, keep the logout.",
)
question(
    6,
    "A fixed (not rolling) session with max_age of 30 minutes, on Redis. A thief replays a "
    "stolen cookie every minute. Without absolute_timeout, when does it stop working?",
    {
        "a": "30 minutes after the login.",
        "b": "When Alice closes her browser.",
        "c": "30 minutes after the thief's first request.",
        "d": "Never: each load restarts the key's TTL.",
    },
    "d",
    "Each load is a GETEX that restarts the TTL, rolling or not; only an absolute lifetime, "
    "counted from the session's start, ends it.",
)
question(
    6,
    'What is the difference between same_site=None and same_site="None"?',
    {
        "a": "None: both send SameSite=None.",
        "b": 'None sends no SameSite attribute (the browser decides); "None" sends the cookie '
        "cross-site, and needs Secure.",
        "c": 'None means Lax; "None" means Strict.',
        "d": '"None" sends no attribute; None needs Secure.',
    },
    "b",
    "Python's None leaves the attribute out (Chrome then treats the cookie as Lax); the "
    'string "None" asks for cross-site use, which browsers accept only with Secure.',
)
question(
    6,
    'secure="auto" behind a TLS-ending proxy, without ProxyFix: what does the cookie get?',
    {
        "a": "Secure: the browser used HTTPS.",
        "b": "No cookie at all.",
        "c": "Secure and SameSite=None.",
        "d": "No Secure: Flask sees the proxy's plain HTTP.",
    },
    "d",
    '"auto" follows request.is_secure. Without ProxyFix Flask ignores X-Forwarded-Proto, '
    "so the request looks like plain HTTP.",
)
question(
    6,
    "Flask-WTF keeps its CSRF secret in the session, and login rotates the id keeping the "
    "data. What does that leave open?",
    {
        "a": "Nothing: the id changed.",
        "b": "The token leaks the session id.",
        "c": "An attacker who planted the session knows a token that still works after login.",
        "d": "SameSite stops working.",
    },
    "c",
    "Rotation keeps the data, the token included: renew it at login, or bind it to the id.",
)
