"""Helpers the test modules share: a call-counting store, a small session app, Set-Cookie
and cookie-value helpers, an unreachable Redis, and the solutions' export cells with one
hole answered differently.

A plain module, not a plugin: pytest puts ``tests/`` on ``sys.path``, so test modules
``from support import ...``.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import re
import shutil
import socket
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import nbformat
import redis
import requests
from flask import Flask, jsonify, request
from flask import session as flask_session
from redis.backoff import NoBackoff
from redis.retry import Retry

import sessionlib

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
SECRET = "keyboard cat"  # express-session's own tests use it too
session: Any = flask_session  # flask's proxy; typed loosely for the sessionlib methods


# -- a store that counts -------------------------------------------------------------------


class CountingStore(sessionlib.MemoryStore):
    """A ``MemoryStore`` that counts the calls made to it, by operation."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: Counter[str] = Counter()

    def _called(self, operation: str, sid: str) -> None:
        """Every call passes here first; a subclass can record more."""
        self.calls[operation] += 1

    def get(self, sid):
        self._called("get", sid)
        return super().get(sid)

    def get_and_touch(self, sid, ttl):
        self._called("get_and_touch", sid)
        return super().get_and_touch(sid, ttl)

    def set(self, sid, data):
        self._called("set", sid)
        return super().set(sid, data)

    def replace(self, sid, data):
        self._called("replace", sid)
        return super().replace(sid, data)

    def merge(self, sid, data, changed, removed):
        self._called("merge", sid)
        return super().merge(sid, data, changed, removed)

    def touch(self, sid, data):
        self._called("touch", sid)
        return super().touch(sid, data)

    def destroy(self, sid):
        self._called("destroy", sid)
        return super().destroy(sid)

    @property
    def reads(self) -> int:
        return self.calls["get"] + self.calls["get_and_touch"]

    @property
    def writes(self) -> int:
        """Writes of every kind: new sessions (set), stored ones (replace, merge)."""
        return self.calls["set"] + self.calls["replace"] + self.calls["merge"]


# -- an app --------------------------------------------------------------------------------


def session_app(store: sessionlib.Store | None = None, **options: Any) -> Flask:
    """A Flask app on sessionlib (secret ``SECRET`` unless given) with the routes most
    tests start from: ``/`` never uses the session, ``/read`` returns it as JSON, ``/id``
    returns its id and ``/count`` increments ``n``. Tests add their own routes."""
    options.setdefault("secret", SECRET)
    app = Flask(__name__)
    sessionlib.SessionManager(app, store=store, **options)

    @app.get("/")
    def index():
        return "this route never uses the session"

    @app.get("/read")
    def read():
        return jsonify(dict(session))

    @app.get("/id")
    def session_id():
        return session.id

    @app.get("/count")
    def count():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    return app


# -- Set-Cookie headers --------------------------------------------------------------------


def login_app(store: sessionlib.Store, **options: Any) -> Flask:
    """Login-style routes: ``/login`` (regenerate, store the user), ``/me``, ``/set``
    (merge the JSON body into the session), ``/logout`` (destroy); 503 when Redis is down."""
    app = Flask(__name__)
    sessionlib.SessionManager(
        app, secret=SECRET, name="sid", store=store, cookie={"max_age": 60}, **options
    )

    @app.errorhandler(sessionlib.StoreUnavailable)
    def unavailable(error: Exception) -> Any:
        return "sessions are unavailable", 503

    @app.post("/login")
    def login() -> Any:
        session.regenerate()
        session["user"] = request.json["user"]
        return jsonify(user=session["user"], sid=session.id)

    @app.get("/me")
    def me() -> Any:
        return jsonify(data=dict(session), sid=session.id)

    @app.post("/set")
    def set_values() -> Any:
        for key, value in request.json.items():
            session[key] = value
        return jsonify(sid=session.id)

    @app.post("/logout")
    def logout() -> Any:
        session.destroy()
        return jsonify(user=None)

    return app


def set_cookies(response: requests.Response) -> list[str]:
    """Every Set-Cookie header of the response, unmerged."""
    return response.raw.headers.getlist("Set-Cookie")


def the_set_cookie(response: requests.Response) -> str:
    """The response's one Set-Cookie header (fails if there are none or several)."""
    headers = set_cookies(response)
    assert len(headers) == 1, headers
    return headers[0]


def attributes(header: str) -> dict[str, str]:
    """The attributes of a Set-Cookie header, by lower-case name ('' for flags)."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts}


def cookie_value(header: str) -> str:
    """The value a Set-Cookie header sets, as sent (percent-encoded)."""
    return header.split(";", 1)[0].partition("=")[2]


# -- signed cookie values ------------------------------------------------------------------


def id_in(value: str, secret: str | list[str] = SECRET) -> str | None:
    """The session id inside a cookie value (``s:`` + signed id, maybe percent-encoded),
    or None when none of ``secret`` signed it."""
    text = unquote(value)
    assert text.startswith("s:"), value
    return sessionlib.unsign(text[2:], secret)


def express_cookie(sid: str, secret: str = SECRET) -> str:
    """The cookie value express-session (and sessionlib) sends for ``sid``, computed here as
    cookie-signature does (not with the code under test, which may be a learner's stub)."""
    mac = hmac.digest(secret.encode(), sid.encode(), "sha256")
    signed = sid + "." + base64.b64encode(mac).decode().rstrip("=")
    return quote("s:" + signed, safe="-_.!~*'()")


def with_cookie(value: str) -> dict[str, str]:
    """Request headers that send ``value`` as the ``connect.sid`` cookie, past any jar."""
    return {"Cookie": f"connect.sid={value}"}


# -- ports and an unreachable Redis --------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_redis() -> redis.Redis:
    """A client for a port nobody listens on; one attempt, no retry back-off."""
    return redis.Redis(
        host="127.0.0.1", port=free_port(), socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )


# -- a package with one cell answered differently (for the exercises' wrong answers) ------


def package_with(tmp_path: Any, *cells: tuple[str, str]) -> Any:
    """``sessionlib`` as the solutions write it, but with each ``(module, code)`` cell in
    place of the cell that defines the same names: what a learner who wrote ``code`` has.
    Loaded under a fresh name, so tests can hold several side by side."""
    from coursekit import package

    number = next(_variants)
    copy = Path(tmp_path) / f"variant{number}"
    shutil.copytree(package.REFERENCE, copy)
    for module, code in cells:
        assert package.write_cell(copy, module, code), f"no cell of {module} defines that"
    texts = {path.relative_to(copy).as_posix(): path.read_text() for path in copy.rglob("*.py")}
    return package.load_package(texts, name=f"variant{number}")


_variants = itertools.count()


HOLE = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.M | re.S
)


def export_cell(notebook: str, name: str) -> tuple[str, str]:
    """The export cell of ``solutions/<notebook>`` that defines ``name``: (module, code)."""
    for cell in nbformat.read(SOLUTIONS / notebook, as_version=4).cells:
        directive, _, code = cell.source.partition("\n")
        if cell.cell_type == "code" and directive.startswith("#| export"):
            if re.search(rf"^(def|class) {name}\b", code, re.M):
                return directive.split()[2], code
    raise LookupError(name)


def fill_hole(code: str, function: str, body: str | None) -> str:
    """``code`` with the hole of ``function`` filled with ``body``, as a learner writes it
    (dedented, at the hole's indentation); None: the stub of the learner's copy."""
    start = re.search(rf"^\s*def {function}\(", code, re.M).start()
    hole = HOLE.search(code, start)
    indent = hole["indent"]
    if body is None:
        filled = f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"
    else:
        filled = textwrap.indent(textwrap.dedent(body).strip("\n"), indent) + "\n"
    return code[: hole.start()] + filled + code[hole.end() :]
