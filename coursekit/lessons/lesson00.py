"""Lesson 0, stateless HTTP: the lesson's app and routes, a listing of the learner's own
package, the checks of exercises 0.1 to 0.3 with their hints, and the quiz.

The routes are on a Flask Blueprint, ``routes``, so that the notebook can show each one
(``coursekit.show_source(lesson00.count)``) where the lesson first uses it, and the
checks can serve the same routes on a server of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
import requests
from flask import session

import sessionlib

from ..exercises import exercise, question
from ..live import LiveServer
from ..table import Table, shorten

__all__ = ["ATTRIBUTES", "SECRET", "check_server", "make_app", "package_table", "routes"]

SECRET = "lesson 00: not a real secret"

routes = flask.Blueprint("lesson00", __name__)


@routes.get("/count")
def count():
    """How many times has *this visitor* been here? The answer lives in their session."""
    session["visits"] = session.get("visits", 0) + 1
    return str(session["visits"])


@routes.get("/peek")
def peek():
    """The visits so far, without counting this one: reads the session, writes nothing."""
    return str(session.get("visits", 0))


def make_app(store: sessionlib.Store | None = None) -> flask.Flask:
    """The lesson's app: server-side sessions kept in ``store``, and the lesson's routes."""
    app = flask.Flask("lesson00")
    if store is None:
        store = sessionlib.MemoryStore()
    sessionlib.SessionManager(app, secret=SECRET, store=store)
    app.register_blueprint(routes)
    return app


# -- the learner's own package -------------------------------------------------------------


def package_table(folder: Path) -> Table:
    """What is in the learner's package: each module, the lessons that write it, and the
    pieces that still hold a hole (``raise NotImplementedError()``) for the learner."""
    from ..package import chunks

    rows = []
    by_module: dict[str, list[Any]] = {}
    for chunk in chunks(folder):
        by_module.setdefault(chunk.module, []).append(chunk)
    for module, parts in sorted(by_module.items(), key=lambda item: _order(item[1])):
        lessons = sorted({part.lesson for part in parts})
        holes = sorted(name for part in parts if part.unfinished for name in part.names)
        rows.append(
            [
                module,
                ", ".join(str(n) for n in lessons),
                len((folder / module).read_text().splitlines()),
                ", ".join(holes) or "— (complete)",
            ]
        )
    return Table(
        ["file", "lesson", "lines", "holes for you to fill"],
        rows,
        f"{folder.name}/, your copy of the library ({folder})",
    )


def _order(parts: list[Any]) -> tuple[int, str]:
    return (min(part.lesson for part in parts), parts[0].module)


# -- the checks' own server ----------------------------------------------------------------

_CHECK: dict[str, Any] = {}


def check_server() -> tuple[LiveServer, flask.Flask, sessionlib.Store]:
    """A server with the lesson's routes, for the checks alone (started again if stopped):
    the learner's experiments on the notebook's server never change what a check sees."""
    server = _CHECK.get("server")
    if server is None or not server.running:
        store = sessionlib.MemoryStore()
        app = make_app(store)
        server = LiveServer(app, name="lesson00-check").start()
        _CHECK.update(server=server, app=app, store=store)
    return server, _CHECK["app"], _CHECK["store"]


# -- exercise 0.1 ----------------------------------------------------------------------------


@exercise(
    "0.1",
    "count with one jar",
    hints=[
        "A jar is requests.Session(). Which requests in your function go through it?",
        "Make the jar inside the function, once per call, and use it for every visit.",
        "The server answers text: turn each answer into a number with int(...).",
    ],
    uses_package=False,
)
def check_visit_counts(visit_counts: Any) -> None:
    from ..recorder import Recorder

    server, app, _ = check_server()
    url = server.url + "/count"
    with Recorder(app) as story:
        counts = visit_counts(url, 4)
    assert isinstance(counts, list), f"return a list of numbers, not {type(counts).__name__}"
    assert all(type(n) is int for n in counts), f"the counts should be ints; got {counts!r}"
    assert len(counts) == 4, f"4 visits should give 4 numbers; got {counts}"
    assert counts != [1, 1, 1, 1], "every visit was a first visit: nothing kept the cookie"
    assert counts == [1, 2, 3, 4], f"a new visitor's 4 visits should count 1 to 4; got {counts}"
    cookies = [request.cookie_in is not None for request in story.requests]
    assert cookies == [False, True, True, True], (
        f"the server received {len(cookies)} request(s), not 4 visits from one new visitor"
    )
    again = visit_counts(url, 2)
    assert again == [1, 2], f"a second call should be a new visitor, starting at 1; got {again}"
    assert visit_counts(url, 1) == [1], "one visit should answer [1]"


# -- exercise 0.2 ----------------------------------------------------------------------------

#: Attributes: a Set-Cookie header has them, a Cookie header never does.
ATTRIBUTES = {"path", "domain", "expires", "max-age", "secure", "httponly", "samesite"}


@exercise(
    "0.2",
    "the header that carries you",
    hints=[
        "Set-Cookie travels in responses (server to jar); Cookie travels in requests "
        "(jar to server). Which one does the exercise ask for?",
        "A response remembers the request that produced it: response.request, with its .headers.",
        "Make one new jar, send the first request through it, then read the Cookie header of "
        "the second request.",
    ],
    uses_package=False,
)
def check_second_cookie_header(second_cookie_header: Any) -> None:
    from ..recorder import Recorder

    server, app, _ = check_server()
    with Recorder(app) as story:
        header = second_cookie_header(server.url + "/count")
    received = [request.cookie_in for request in story.requests]
    assert header is not None, (
        "your function returned None: did the request you read carry a Cookie header?"
    )
    assert isinstance(header, str), (
        f"return the header's text (a str), not {type(header).__name__}: {shorten(header, 50)}"
    )
    names = {part.partition("=")[0].strip().lower() for part in header.split(";")}
    if names & ATTRIBUTES:
        raise AssertionError(
            "that header carries attributes (Path, HttpOnly, SameSite...): it is a "
            "Set-Cookie, what the server sent. The exercise asks what the jar sent back"
        )
    assert len(received) >= 2, (
        f"the server received {len(received)} request(s): make two, with one jar"
    )
    assert received[0] is None, "the first request already carried a cookie: use a new jar"
    assert received[1] is not None, "the server's second request came without any cookie"
    assert "=" in header, "a Cookie header is name=value pairs: return the whole header"
    assert header == received[1], (
        "that is not the Cookie header the server received on the second request"
    )


# -- exercise 0.3 ----------------------------------------------------------------------------


@exercise(
    "0.3",
    "what forgetful clients cost the server",
    hints=[
        "Don't work the answer out: measure it. store.length() counts the sessions now.",
        "Read store.length() once before the requests and once after them.",
        "A client that forgets is requests.get(url), not a jar.",
    ],
    uses_package=False,
)
def check_sessions_left(sessions_left_by_plain_requests: Any) -> None:
    server, _, store = check_server()
    other = requests.Session()  # somebody else's session, already in the store
    other.get(server.url + "/count")
    added = sessions_left_by_plain_requests(server.url + "/count", 5, store)
    assert type(added) is int, f"return a number of sessions (an int); got {added!r}"
    assert added != 1, "only 1 new session: were those 5 visits from one jar?"
    assert added == 5, f"5 cookie-less visits to /count should add 5 sessions; you said {added}"
    read_only = sessions_left_by_plain_requests(server.url + "/peek", 4, store)
    assert read_only == 0, (
        f"on /peek, which only reads the session, your function says {read_only}: "
        "measure the store rather than assume"
    )
    assert sessions_left_by_plain_requests(server.url + "/count", 1, store) == 1, (
        "one visit to /count should add 1 session"
    )


# -- the quiz ----------------------------------------------------------------------------------

question(
    0,
    "HTTP is stateless. What does that mean?",
    {
        "a": "a server may not keep any data between requests",
        "b": "each request stands alone: nothing in HTTP ties it to an earlier one unless "
        "the client sends something that does",
        "c": "the connection is closed after every request",
        "d": "responses can't be cached",
    },
    "b",
    "Servers keep plenty (a store of sessions, for one); what HTTP lacks is a built-in link "
    "between one request and the next. A cookie is how the client provides one.",
)
question(
    0,
    "Which header gives the client a cookie, and which brings it back?",
    {
        "a": "Cookie in the response; Set-Cookie in the next request",
        "b": "Set-Cookie in the request; Cookie in the response",
        "c": "Set-Cookie in the response; Cookie in the next request",
        "d": "Cookie both ways",
    },
    "c",
    "The server sends Set-Cookie in a response; the jar sends Cookie in later requests.",
)
question(
    0,
    "Three requests.get(url + '/count') calls answer 1, 1, 1. Why?",
    {
        "a": "the server forgets sessions after each response",
        "b": "the session store is full",
        "c": "/count only counts visits from browsers",
        "d": "requests.get keeps no cookies, so each request comes without the session cookie "
        "and starts a new session",
    },
    "d",
    "The sessions exist (the store table showed them), but nobody sent their ids back.",
)
question(
    0,
    "In a server-side session, what does the browser's cookie hold?",
    {
        "a": "the session id, signed",
        "b": "the session's data, e.g. {'visits': 3}",
        "c": "the data, encrypted",
        "d": "nothing: the server recognises the browser by its IP address",
    },
    "a",
    "connect.sid is s: + the id + . + a signature; the data stays in the store, keyed by id.",
)
question(
    0,
    "A crawler that keeps no cookies visits /peek (which only reads the session) 1,000 "
    "times. How many sessions does it leave in the store?",
    {"a": "1", "b": "1,000", "c": "0", "d": "it depends on the crawler's IP address"},
    "c",
    "sessionlib stores a new session only once something was written to it (express-session's "
    "saveUninitialized: false); /count, which writes, would have left 1,000.",
)
