"""The Flask side of the Express interop story: a Flask app on sessionlib whose sessions
an Express app on express-session + connect-redis (``interop/express/server.js``) can
read and write, and the other way round.

Both apps must agree on the secret, the cookie name, the Redis database and the key
prefix; ``create_app`` takes the same defaults as ``server.js`` (``"keyboard cat"``,
``"sid"``, ``"sess:"``). The routes are the same on both sides:

- ``GET /whoami``  -> ``{"side": "flask", "id": <session id>, "data": {...}}``
- ``POST /login``  ``{"user": "ada"}``: regenerate the session, then store the user
- ``POST /set``    ``{"key": value, ...}``: merge the keys into the session
- ``POST /logout`` destroy the session (sessionlib also expires the cookie)

Run it alone with ``REDIS_URL=redis://127.0.0.1:6379/0 python interop/flask_app.py``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request, session

import sessionlib

SECRET = "keyboard cat"
NAME = "sid"
PREFIX = "sess:"

__all__ = ["create_app", "SECRET", "NAME", "PREFIX"]


def create_app(
    redis_client: Any, *, prefix: str = PREFIX, ttl: int = 86400, **options: Any
) -> Flask:
    """A Flask app whose sessions live in ``redis_client`` the way connect-redis keeps them.

    ``prefix`` and ``ttl`` go to ``sessionlib.RedisStore`` (connect-redis's ``prefix`` and
    ``ttl``); every other keyword goes to ``sessionlib.SessionManager`` (``secret``,
    ``name``, ``rolling``, ``cookie={"max_age": ...}``, ...).
    """
    options.setdefault("secret", SECRET)
    options.setdefault("name", NAME)
    app = Flask(__name__)
    sessionlib.SessionManager(
        app, store=sessionlib.RedisStore(redis_client, prefix=prefix, ttl=ttl), **options
    )

    def report() -> dict[str, Any]:
        return {"side": "flask", "id": session.id, "data": dict(session)}

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(report())

    @app.post("/login")
    def login() -> Any:
        session.regenerate()  # a new id at login: no session fixation
        session["user"] = (request.get_json(silent=True) or {}).get("user")
        return jsonify(report())

    @app.post("/set")
    def set_keys() -> Any:
        for key, value in (request.get_json(silent=True) or {}).items():
            if key != "cookie":
                session[key] = value
        return jsonify(report())

    @app.post("/logout")
    def logout() -> Any:
        session.destroy()
        return jsonify({"side": "flask", "id": None, "data": {}})

    return app


if __name__ == "__main__":  # pragma: no cover - a manual run beside server.js
    import redis

    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    port = int(os.environ.get("PORT", "5000"))
    create_app(client, cookie={"max_age": 3600}).run(host="127.0.0.1", port=port)
