"""The Flask apps the benchmark drives: one per session layer, the same three routes each.

``/count`` reads and increments a counter (a modifying request), ``/read`` only reads it
(a read-only request), ``/noop`` never looks at the session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, session

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
