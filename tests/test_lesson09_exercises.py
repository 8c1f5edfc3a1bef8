"""Lesson 9's exercises, sessions shared with Express: each check passes the solution, says
"not done yet" to a stub, and refuses the plausible wrong answers, against the stand-in
and, when Node.js and a Redis server are there, against the real Express app; and the
stand-in behaves as the real Express app does."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fakeredis
import pytest
import requests
from flask import session

import coursekit
import sessionlib
from coursekit.exercises import _QUIZZES, PASS, TODO, WRONG, verdict
from coursekit.lessons import lesson09

pytestmark = pytest.mark.lesson9

SECRET, NAME, MAX_AGE = "keyboard cat", "sid", 600


class Sides:
    """An Express side and a Flask app on the reference package, on one Redis."""

    def __init__(self, express: Any) -> None:
        self.express = express
        app = lesson09.flask_app(
            sessionlib,
            express.redis,
            secret=SECRET,
            name=NAME,
            prefix=express.prefix,
            cookie={"max_age": MAX_AGE},
        )
        self.flask = coursekit.LiveServer(app).start()


def _real_express(prefix: str) -> Any:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not on PATH")
    if os.environ.get("REDIS_URL"):
        url, client = os.environ["REDIS_URL"], coursekit.redis_client()
    else:
        server = lesson09.private_redis()
        if server is None:
            pytest.skip("no REDIS_URL and no redis-server for Express")
        url, client = server.url, server.client
    return lesson09.ExpressApp(
        url, client, secret=SECRET, name=NAME, prefix=prefix, max_age=MAX_AGE
    )


@pytest.fixture(scope="module", params=["stand-in", "express"])
def sides(request: pytest.FixtureRequest) -> Iterator[Sides]:
    prefix = f"lesson9-tests:{uuid.uuid4().hex[:8]}:sess:"  # only this module's keys
    if request.param == "stand-in":
        express = lesson09.ExpressStandIn(
            fakeredis.FakeRedis(), secret=SECRET, name=NAME, prefix=prefix, max_age=MAX_AGE
        )
    else:
        express = _real_express(prefix)
    both = Sides(express)
    yield both
    both.flask.stop()
    express.stop()
    keys = list(express.redis.scan_iter(match=prefix + "*"))
    if keys:
        express.redis.delete(*keys)


# -- 9.1: keys Express can't see ----------------------------------------------------------
def solution_invisible(keys: list[str], flask_url: str, express: Any) -> set[str]:
    jar = requests.Session()
    jar.post(flask_url + "/set", json={key: 1 for key in keys})
    shown = express.whoami(jar)["data"]
    return {key for key in keys if key not in shown}


def stub_invisible(keys: list[str], flask_url: str, express: Any) -> set[str]:
    raise NotImplementedError()


def shown_instead(keys: list[str], flask_url: str, express: Any) -> set[str]:
    jar = requests.Session()
    jar.post(flask_url + "/set", json={key: 1 for key in keys})
    shown = express.whoami(jar)["data"]
    return {key for key in keys if key in shown}


def asks_flask(keys: list[str], flask_url: str, express: Any) -> set[str]:
    jar = requests.Session()
    jar.post(flask_url + "/set", json={key: 1 for key in keys})
    shown = jar.get(flask_url + "/whoami").json()["data"]
    return {key for key in keys if key not in shown}


def only_the_id(keys: list[str], flask_url: str, express: Any) -> set[str]:
    return {"id", "req"} & set(keys)


def no_return(keys: list[str], flask_url: str, express: Any) -> None:
    jar = requests.Session()
    jar.post(flask_url + "/set", json={key: 1 for key in keys})
    print(express.whoami(jar)["data"])


def the_methods_only(keys: list[str], flask_url: str, express: Any) -> set[str]:
    methods = {"save", "touch", "regenerate", "destroy", "reload", "resetMaxAge"}
    return methods & set(keys)


def writes_through_express(keys: list[str], flask_url: str, express: Any) -> set[str]:
    jar = requests.Session()
    express.set(jar, **{key: 1 for key in keys})
    shown = express.whoami(jar)["data"]
    return {key for key in keys if key not in shown}


def a_guessed_list(keys: list[str], flask_url: str, express: Any) -> set[str]:
    """The well-known names, from memory: id, req, the Session methods, a few of Object's."""
    known = {"id", "req", "save", "touch", "destroy", "regenerate", "reload", "resetMaxAge"}
    known |= {"constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"}
    return known & set(keys)


def test_9_1_passes_the_solution(sides: Sides) -> None:
    assert verdict("9.1", solution_invisible, sides.flask.url, sides.express) == PASS


def test_9_1_a_stub_is_not_done_yet(sides: Sides) -> None:
    assert verdict("9.1", stub_invisible, sides.flask.url, sides.express) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        shown_instead,
        asks_flask,
        only_the_id,
        no_return,
        the_methods_only,
        writes_through_express,
        a_guessed_list,
    ],
    ids=lambda f: f.__name__,
)
def test_9_1_refuses_wrong_answers(sides: Sides, answer: Callable[..., Any]) -> None:
    assert verdict("9.1", answer, sides.flask.url, sides.express).startswith(WRONG)


def test_9_1_says_to_write_through_flask_when_express_is_asked_to_write(sides: Sides) -> None:
    result = verdict("9.1", writes_through_express, sides.flask.url, sides.express)
    assert result.startswith(WRONG) and "Flask app's POST /set" in result, result


def test_the_stand_in_hides_exactly_what_express_hides(sides: Sides) -> None:
    probes = sorted((lesson09.EXPRESS_OWN - {"cookie"}) | {"cart", "theme", "user", "__id"})
    hidden = solution_invisible(probes, sides.flask.url, sides.express)
    assert hidden == set(lesson09.EXPRESS_OWN) - {"cookie"}, sorted(hidden)


# -- 9.2: a login moves from Express to Flask ---------------------------------------------
def solution_welcome() -> Any:
    user = session.get("user")
    if user is None:
        return {"error": "log in first"}, 401
    if session.get("flask_seen"):
        return {"user": user, "rotated": False}
    session.rotate()
    session["flask_seen"] = True
    return {"user": user, "rotated": True}


def stub_welcome() -> Any:
    raise NotImplementedError()


def regenerates() -> Any:
    user = session.get("user")
    if user is None:
        return {"error": "log in first"}, 401
    if session.get("flask_seen"):
        return {"user": user, "rotated": False}
    session.regenerate()
    session["flask_seen"] = True
    return {"user": user, "rotated": True}


def rotates_every_time() -> Any:
    user = session.get("user")
    if user is None:
        return {"error": "log in first"}, 401
    session.rotate()
    return {"user": user, "rotated": True}


def marks_with_a_name_express_has(name: str) -> Callable[[], Any]:
    def welcome() -> Any:
        user = session.get("user")
        if user is None:
            return {"error": "log in first"}, 401
        if session.get(name):
            return {"user": user, "rotated": False}
        session.rotate()
        session[name] = True
        return {"user": user, "rotated": True}

    welcome.__name__ = f"marks_with_{name}"
    return welcome


def no_login_check() -> Any:
    user = session.get("user")
    if session.get("flask_seen"):
        return {"user": user, "rotated": False}
    session.rotate()
    session["flask_seen"] = True
    return {"user": user, "rotated": True}


def keeps_the_id() -> Any:
    user = session.get("user")
    if user is None:
        return {"error": "log in first"}, 401
    rotated = not session.get("flask_seen")
    session["flask_seen"] = True
    return {"user": user, "rotated": rotated}


def test_9_2_passes_the_solution(sides: Sides) -> None:
    assert verdict("9.2", solution_welcome, sessionlib, sides.express) == PASS


def test_9_2_a_stub_is_not_done_yet(sides: Sides) -> None:
    assert verdict("9.2", stub_welcome, sessionlib, sides.express) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        regenerates,
        rotates_every_time,
        marks_with_a_name_express_has("id"),
        marks_with_a_name_express_has("save"),
        no_login_check,
        keeps_the_id,
    ],
    ids=lambda f: f.__name__,
)
def test_9_2_refuses_wrong_answers(sides: Sides, answer: Callable[[], Any]) -> None:
    result = verdict("9.2", answer, sessionlib, sides.express)
    assert result.startswith(WRONG), result


# -- the lesson's machinery ---------------------------------------------------------------
def test_the_recorded_login_is_what_cookie_value_writes() -> None:
    value = sessionlib.signing.cookie_value(lesson09.RECORDED_ID, SECRET)
    assert value == lesson09.RECORDED_COOKIE


def test_the_stand_in_signs_its_cookies_as_express_does() -> None:
    express = lesson09.ExpressStandIn(
        fakeredis.FakeRedis(), secret=SECRET, name=NAME, prefix="sess:", max_age=MAX_AGE
    )
    jar = requests.Session()
    sid = express.login(jar, "ada")["id"]
    assert jar.cookies.get(NAME) == sessionlib.signing.cookie_value(sid, SECRET)
    assert express.whoami(jar)["data"] == {"user": "ada"}


def test_the_stand_in_is_used_when_asked_and_says_why(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SESSIONLIB_EXPRESS", "stand-in")
    monkeypatch.setitem(lesson09._RUNNING, "express", None)
    side = lesson09.express_side(secret=SECRET, name=NAME, prefix="t9:sess:", max_age=MAX_AGE)
    assert side.kind == "stand-in"
    assert (
        "Express side: the Python stand-in (SESSIONLIB_EXPRESS=stand-in)" in capsys.readouterr().out
    )


def test_a_second_setup_reuses_the_running_express_side(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SESSIONLIB_EXPRESS", "stand-in")
    monkeypatch.setitem(lesson09._RUNNING, "express", None)
    first = lesson09.express_side(secret=SECRET, name=NAME, prefix="t9b:sess:", max_age=MAX_AGE)
    again = lesson09.express_side(secret=SECRET, name=NAME, prefix="t9b:sess:", max_age=MAX_AGE)
    assert again is first


def test_the_flask_side_runs_on_the_package_it_is_given(tmp_path) -> None:
    module = lesson09.flask_module(sessionlib)
    assert module.sessionlib is sessionlib
    app = lesson09.flask_app(sessionlib, fakeredis.FakeRedis(), welcome=stub_welcome)
    assert app.test_client().get("/welcome").status_code == 501


def test_the_quiz_has_about_five_questions_each_with_its_answer_among_the_choices() -> None:
    verdict("9.1", stub_invisible, "", None)  # loads the lesson's module
    questions = _QUIZZES[9]
    assert 5 <= len(questions) <= 7
    assert len({q.answer for q in questions}) > 1, "not every answer is the same letter"
    for q in questions:
        assert q.answer in q.choices and q.why
