"""The Flask apps the HTTP benchmark serves: one variant per process, chosen by
``BENCH_VARIANT``; Redis at ``BENCH_REDIS_URL`` (each variant under its own key prefix).

Every variant has ``GET /count`` (the measured route) and ``GET /peek`` (the counter without
changing it, for the check after a run):

- ``bare``: no session (no secret key, so Flask's session is a no-op); ``/count`` answers "ok".
- ``redis2``: no session; ``/count`` sends two redis-py commands (GET, then SET ... EX of a
  fixed key), the Redis work of a session read and write without any session code.
- ``cookie``: Flask's built-in signed-cookie session; ``/count`` increments ``n`` in it.
- ``flask_session``: Flask-Session 0.8 with ``SESSION_TYPE="redis"`` (its defaults).
- ``sessionlib``: ``sessionlib.SessionManager`` with ``RedisStore``.

``BENCH_REDIS_OPTIONS`` (JSON) adds keyword arguments to every ``redis.Redis`` made here,
e.g. ``{"socket_keepalive": false}``, so a run can try client settings.
"""

from __future__ import annotations

import json
import os
from typing import Any

import redis
from flask import Flask, session

VARIANTS = ("bare", "redis2", "cookie", "flask_session", "sessionlib")
MAX_AGE = 86400


def redis_client() -> redis.Redis:
    options = json.loads(os.environ.get("BENCH_REDIS_OPTIONS") or "{}")
    return redis.Redis.from_url(os.environ["BENCH_REDIS_URL"], **options)


def create(variant: str) -> Flask:
    if variant not in VARIANTS:
        raise ValueError(f"BENCH_VARIANT must be one of {VARIANTS}, not {variant!r}")
    app = Flask(f"bench_{variant}")
    run_id = os.environ.get("BENCH_RUN_ID", "0")

    if variant in ("bare", "redis2"):
        client = redis_client() if variant == "redis2" else None
        key = f"bench-http:{run_id}:redis2"

        @app.get("/count")
        def count() -> Any:
            if client is not None:
                client.get(key)
                client.set(key, "1", ex=MAX_AGE)
            return "ok"

        @app.get("/peek")
        def peek() -> Any:
            return "ok"

        return app

    if variant == "cookie":
        app.secret_key = "bench secret"
        app.config["PERMANENT_SESSION_LIFETIME"] = MAX_AGE
    elif variant == "flask_session":
        from flask_session import Session

        app.config.update(
            SECRET_KEY="bench secret",
            SESSION_TYPE="redis",
            SESSION_REDIS=redis_client(),
            SESSION_KEY_PREFIX=f"bench-http:{run_id}:fs:",
            PERMANENT_SESSION_LIFETIME=MAX_AGE,
        )
        Session(app)
    else:
        import sessionlib

        store = sessionlib.RedisStore(redis_client(), prefix=f"bench-http:{run_id}:sl:")
        sessionlib.SessionManager(
            app, secret="bench secret", name="sid", store=store, cookie={"max_age": MAX_AGE}
        )

    @app.get("/count")
    def count() -> Any:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/peek")
    def peek() -> Any:
        return str(session.get("n", 0))

    return app


app = create(os.environ.get("BENCH_VARIANT", "bare"))
