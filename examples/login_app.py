"""A small Flask app on sessionlib: login, logout, a counter and a cart.

It shows the session's security habits in one place:

- ``/login`` calls ``session.rotate()`` before it stores the user, so an id an
  attacker planted before login (session fixation) is dead afterwards;
- ``/logout`` calls ``session.destroy()``: the session is gone from the store and the
  response expires the cookie;
- the app sits behind werkzeug's ``ProxyFix``, so with ``cookie={"secure": "auto"}``
  the cookie is Secure when the proxy says the client used HTTPS (``X-Forwarded-Proto``);
- a store outage (``sessionlib.StoreUnavailable``) is a ``503``, not a ``500``.

Run it: ``python examples/login_app.py`` (MemoryStore), or with ``REDIS_URL`` set, on Redis.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Flask, abort, jsonify, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

import sessionlib

#: Demo accounts. A real app keeps password hashes (``werkzeug.security``) in a database.
USERS = {"alice": "wonderland", "bob": "builder"}


def create_app(store: sessionlib.Store | None = None, **options: Any) -> Flask:
    """The app, with sessions in ``store`` (default ``MemoryStore()``).

    ``options`` go to ``sessionlib.SessionManager`` and override these defaults:
    ``secret`` from ``SESSION_SECRET`` (else a development secret), ``name="sid"``,
    ``cookie={"max_age": 3600, "secure": "auto"}``.
    """
    app = Flask(__name__)
    # One proxy in front (nginx, a load balancer) sets X-Forwarded-For/-Proto/-Host.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    settings: dict[str, Any] = {
        "secret": os.environ.get("SESSION_SECRET", "development secret: change me"),
        "name": "sid",
        "cookie": {"max_age": 3600, "secure": "auto"},
    }
    settings.update(options)
    sessionlib.SessionManager(app, store=store or sessionlib.MemoryStore(), **settings)

    @app.errorhandler(sessionlib.StoreUnavailable)
    def store_unavailable(error: sessionlib.StoreUnavailable) -> tuple[Any, int, dict[str, str]]:
        app.logger.warning("session store unavailable: %s", error)
        body = jsonify(error="sessions are unavailable, try again shortly")
        return body, 503, {"Retry-After": "5"}

    @app.get("/")
    def home() -> Any:
        return jsonify(user=session.get("user"))

    @app.post("/login")
    def login() -> Any:
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        expected = USERS.get(username)
        if expected is None or not hmac.compare_digest(expected, password):
            abort(401)
        session.rotate()  # a new id, the cart kept: whatever id the browser had before is dead
        session["user"] = username
        return jsonify(user=username)

    @app.post("/logout")
    def logout() -> Any:
        session.destroy()  # gone from the store; the response expires the cookie
        return jsonify(user=None)

    @app.route("/counter", methods=["GET", "POST"])
    def counter() -> Any:
        if request.method == "POST":
            session["count"] = session.get("count", 0) + 1
        return jsonify(count=session.get("count", 0))

    @app.get("/cart")
    def cart() -> Any:
        return jsonify(cart=session.get("cart", {}))

    @app.post("/cart/<item>")
    def add_to_cart(item: str) -> Any:
        cart = session.setdefault("cart", {})
        cart[item] = cart.get(item, 0) + int(request.form.get("quantity", 1))
        return jsonify(cart=cart)

    @app.delete("/cart/<item>")
    def remove_from_cart(item: str) -> Any:
        cart = session.get("cart", {})
        cart.pop(item, None)
        session["cart"] = cart
        return jsonify(cart=cart)

    return app


def _store_from_environment() -> sessionlib.Store:
    url = os.environ.get("REDIS_URL")
    if not url:
        return sessionlib.MemoryStore()
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Fail within a second when Redis is down or hung (redis-py retries 10 times by default).
    client = redis.Redis.from_url(
        url, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    return sessionlib.RedisStore(client)


if __name__ == "__main__":
    create_app(_store_from_environment()).run(port=5000)
