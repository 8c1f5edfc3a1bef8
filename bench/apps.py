"""The Flask apps the benchmark drives: one per session layer, the same three routes each.

``/count`` reads and increments a counter (a modifying request), ``/read`` only reads it
(a read-only request), ``/noop`` never looks at the session.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, session
from flask.sessions import SecureCookieSession, SessionInterface
from werkzeug.http import dump_cookie
from werkzeug.sansio.http import parse_cookie

import sessionlib

SECRET = "bench secret, not for production"
LIFETIME = timedelta(days=31)  # Flask-Session's default permanent lifetime, used for all


def _session_routes(app: Flask) -> Flask:
    @app.get("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/read")
    def read() -> str:
        return str(session.get("n", 0))

    @app.get("/noop")
    def noop() -> str:
        return "ok"

    return app


_bare_counter = {"n": 0}


def bare() -> Flask:
    """A Flask route and no session at all (no secret key: Flask's session is a no-op)."""
    app = Flask("bare")

    @app.get("/count")
    def count() -> str:
        _bare_counter["n"] = _bare_counter.get("n", 0) + 1
        return str(_bare_counter["n"])

    @app.get("/read")
    def read() -> str:
        return str(_bare_counter.get("n", 0))

    return app


def flask_cookie() -> Flask:
    """Flask's built-in signed-cookie session (itsdangerous), default settings."""
    app = Flask("flask_cookie")
    app.secret_key = SECRET
    return _session_routes(app)


def flask_session_redis(
    client: Any, refresh_each_request: bool = True, key_prefix: str = "session:"
) -> Flask:
    """Flask-Session on a Redis client, its defaults (permanent, refresh on every request)."""
    from flask_session import Session as FlaskSession

    app = Flask("flask_session_redis")
    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=client,
        SESSION_KEY_PREFIX=key_prefix,
        SESSION_REFRESH_EACH_REQUEST=refresh_each_request,
        PERMANENT_SESSION_LIFETIME=LIFETIME,
    )
    FlaskSession(app)
    return _session_routes(app)


def flask_session_cachelib() -> Flask:
    """Flask-Session on cachelib's in-process ``SimpleCache`` (no network at all)."""
    from cachelib import SimpleCache
    from flask_session import Session as FlaskSession

    app = Flask("flask_session_cachelib")
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=SimpleCache(threshold=1_000_000),
        PERMANENT_SESSION_LIFETIME=LIFETIME,
    )
    FlaskSession(app)
    return _session_routes(app)


def sessionlib_app(store: sessionlib.Store, **options: Any) -> Flask:
    """sessionlib with its defaults and a cookie that lives as long as Flask-Session's."""
    app = Flask("sessionlib")
    options.setdefault("cookie", {"max_age": LIFETIME.total_seconds()})
    sessionlib.SessionManager(app, secret=SECRET, name="sid", store=store, **options)
    return _session_routes(app)


# -- the floor: the least a server-side session layer can do ---------------------------
class FloorInterface(SessionInterface):
    """The least work any server-side session layer does in Flask, to price the rest.

    Find the cookie, check its HMAC (key prepared once), read and parse the JSON; after a
    change, write the JSON back and re-send the cookie with a fresh expiry. Nothing else:
    no expiry in the store's data, no touch, no save rules, no change detection beyond
    Flask's own ``modified`` flag, no error handling. A measuring stick, not a library.
    """

    def __init__(self, read: Callable[[str], Any], write: Callable[[str, str], Any]) -> None:
        self.read, self.write = read, write
        self.mac = hmac.new(SECRET.encode(), digestmod="sha256")

    def _signature(self, sid: str) -> str:
        mac = self.mac.copy()
        mac.update(sid.encode())
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession:
        header = request.environ.get("HTTP_COOKIE")
        signed = parse_cookie(header).get("sid") if header else None
        if signed:
            sid, _, signature = signed.rpartition(".")
            if hmac.compare_digest(self._signature(sid), signature):
                text = self.read(sid)
                if text is not None:
                    found = SecureCookieSession(json.loads(text))
                    found.sid = sid
                    return found
        fresh = SecureCookieSession()
        fresh.sid = secrets.token_urlsafe(24)
        return fresh

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if session.accessed:
            response.headers["Vary"] = "Cookie"
        if session.modified:
            self.write(session.sid, json.dumps(dict(session)))
            value = session.sid + "." + self._signature(session.sid)
            cookie = dump_cookie(
                "sid", value, max_age=LIFETIME, httponly=True, samesite="Lax", path="/"
            )
            response.headers.add("Set-Cookie", cookie)


def floor(read: Callable[[str], Any], write: Callable[[str, str], Any]) -> Flask:
    """The floor layer on a store given as a read and a write function."""
    app = Flask("floor")
    app.session_interface = FloorInterface(read, write)
    return _session_routes(app)


def floor_in_process() -> Flask:
    """The floor on a dict of JSON strings (what MemoryStore is, minus expiry)."""
    held: dict[str, str] = {}
    return floor(held.get, held.__setitem__)


def floor_redis(client: Any, key_prefix: str) -> Flask:
    """The floor on Redis: ``GETEX ... EX`` on every returning request (the touch a session
    needs), ``SET ... EX`` after a change: the commands sessionlib sends."""
    seconds = int(LIFETIME.total_seconds())

    def read(sid: str) -> Any:
        return client.getex(key_prefix + sid, ex=seconds)

    def write(sid: str, text: str) -> Any:
        return client.set(key_prefix + sid, text, ex=seconds)

    return floor(read, write)
