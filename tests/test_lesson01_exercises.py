"""Lesson 1's exercises: each check passes the solution, says "not done yet" to the stub,
and refuses the wrong answers a learner plausibly writes. Both exercises are written in
the notebook, so the answers here are functions, as a learner would write them there.

Also the SameSite experiment's server side: what it records, and that the lesson says so
in one line when no browser has been there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import flask
import pytest
import requests

from coursekit.exercises import PASS, TODO, WRONG, verdict
from coursekit.lessons import lesson01

pytestmark = pytest.mark.lesson1


def stub(*args: Any) -> Any:
    raise NotImplementedError()


def wrong(id: str, answer: Callable[..., Any]) -> str:
    result = verdict(id, answer)
    assert result.startswith(WRONG), f"{answer.__name__} was not refused: {result}"
    return result


# -- 1.1 promote yourself ------------------------------------------------------------------


def promote(jar):
    jar.cookies.set("role", "teacher", domain="127.0.0.1", path="/")


def promote_without_domain(jar):
    jar.cookies.set("role", "teacher")


def promote_by_item(jar):
    jar.cookies["role"] = "teacher"


def promote_for_grades_only(jar):
    jar.cookies.set("role", "teacher", domain="127.0.0.1", path="/grades")


def promote_on_localhost(jar):
    jar.cookies.set("role", "teacher", domain="localhost", path="/")


def promote_with_a_header(jar):
    jar.headers["Cookie"] = "role=teacher"


def promote_with_a_header_keeping_the_user(jar):
    jar.headers["Cookie"] = f"user={jar.cookies['user']}; role=teacher"


def promote_the_user(jar):
    jar.cookies.set("user", "teacher", domain="127.0.0.1", path="/")


def promote_capitalised(jar):
    jar.cookies.set("role", "Teacher", domain="127.0.0.1", path="/")


def promote_after_clearing_the_jar(jar):
    jar.cookies.clear()
    jar.cookies.set("role", "teacher", domain="127.0.0.1", path="/")


def promote_by_logging_in_again(jar):
    server = lesson01.check_server()
    jar.get(server.url + "/login", params={"user": "teacher"})


def promote_by_deleting_the_role(jar):
    jar.cookies.clear("127.0.0.1", "/", "role")


def promote_by_replacing_every_cookie(jar):
    for cookie in jar.cookies:
        cookie.value = "teacher"


def promote_replacing_the_cookie_for_any_host(jar):
    """Drops the role cookie and sets one for any host: still one role cookie, still ada."""
    del jar.cookies["role"]
    jar.cookies.set("role", "teacher")


def test_1_1_passes_the_solution_and_waits_for_the_stub() -> None:
    assert verdict("1.1", promote) == PASS
    assert verdict("1.1", stub) == TODO


def test_1_1_passes_other_right_edits() -> None:
    assert verdict("1.1", promote_replacing_the_cookie_for_any_host) == PASS


@pytest.mark.parametrize(
    "answer",
    [
        promote_without_domain,
        promote_by_item,
        promote_for_grades_only,
        promote_on_localhost,
        promote_with_a_header,
        promote_with_a_header_keeping_the_user,
        promote_the_user,
        promote_capitalised,
        promote_after_clearing_the_jar,
        promote_by_logging_in_again,
        promote_by_deleting_the_role,
        promote_by_replacing_every_cookie,
    ],
)
def test_1_1_refuses(answer: Callable[..., Any]) -> None:
    wrong("1.1", answer)


def test_1_1_says_when_a_second_role_cookie_was_added() -> None:
    assert "2 role cookies" in wrong("1.1", promote_without_domain)
    assert "keep the user" in wrong("1.1", promote_after_clearing_the_jar)


# -- 1.2 set a cookie with attributes ------------------------------------------------------


def lang_app(**attributes: Any) -> Callable[[], flask.Flask]:
    """``make_lang_app`` as a learner writes it, with these keyword arguments to
    ``set_cookie`` (the right ones unless given; ``None`` leaves one out)."""
    chosen = {"path": "/docs", "max_age": 60, "httponly": True, "samesite": "Strict"}
    chosen.update(attributes)
    chosen = {key: value for key, value in chosen.items() if value is not None}

    def make_lang_app():
        app = flask.Flask("lang")

        @app.get("/lang")
        def lang():
            response = flask.make_response("language saved")
            response.set_cookie("lang", "fr", **chosen)
            return response

        return app

    make_lang_app.__name__ = (
        "make_lang_app(" + ", ".join(f"{k}={v!r}" for k, v in attributes.items()) + ")"
    )
    return make_lang_app


def make_lang_app_by_hand():
    """Writes the header by hand: the lesson says not to, but it does what was asked."""
    app = flask.Flask("lang")

    @app.get("/lang")
    def lang():
        response = flask.make_response("language saved")
        response.headers["Set-Cookie"] = (
            "lang=fr; Max-Age=60; HttpOnly; Path=/docs; SameSite=Strict"
        )
        return response

    return app


def make_lang_app_on_the_wrong_route():
    app = flask.Flask("lang")

    @app.get("/")
    def lang():
        response = flask.make_response("language saved")
        response.set_cookie(
            "lang", "fr", path="/docs", max_age=60, httponly=True, samesite="Strict"
        )
        return response

    return app


def make_lang_app_with_another_name():
    app = flask.Flask("lang")

    @app.get("/lang")
    def lang():
        response = flask.make_response("language saved")
        response.set_cookie(
            "language", "fr", path="/docs", max_age=60, httponly=True, samesite="Strict"
        )
        return response

    return app


def make_lang_app_in_the_session():
    app = flask.Flask("lang")

    @app.get("/lang")
    def lang():
        flask.session["lang"] = "fr"
        return "language saved"

    return app


def make_lang_app_without_a_route():
    return flask.Flask("lang")


def make_lang_app_returning_the_response():
    response = flask.make_response("language saved") if flask.has_app_context() else None
    return response


def test_1_2_passes_the_solution_and_waits_for_the_stub() -> None:
    assert verdict("1.2", lang_app()) == PASS
    assert verdict("1.2", stub) == TODO


@pytest.mark.parametrize(
    "answer",
    [
        lang_app(samesite="strict"),  # werkzeug writes it as Strict
        lang_app(max_age=timedelta(seconds=60)),
        make_lang_app_by_hand,  # behaviour is what is checked, not how it was written
    ],
)
def test_1_2_passes_other_right_answers(answer: Callable[..., Any]) -> None:
    assert verdict("1.2", answer) == PASS


@pytest.mark.parametrize(
    "answer",
    [
        lang_app(samesite="Lax"),
        lang_app(samesite=None),
        lang_app(samesite="None", secure=True),
        lang_app(max_age=60_000),  # express's maxAge counts milliseconds
        lang_app(max_age=None),  # a browser-session cookie
        lang_app(max_age=None, expires=60),  # a date in 1970: gone at once
        lang_app(max_age=6),
        lang_app(path="/docs/"),  # then /docs itself doesn't get it
        lang_app(path=None),  # Path=/: sent everywhere
        lang_app(path="/doc"),
        lang_app(httponly=None),
        lang_app(secure=True),  # never sent over http://
        make_lang_app_on_the_wrong_route,
        make_lang_app_with_another_name,
        make_lang_app_in_the_session,
        make_lang_app_without_a_route,
        make_lang_app_returning_the_response,
    ],
)
def test_1_2_refuses(answer: Callable[..., Any]) -> None:
    wrong("1.2", answer)


def test_1_2_says_what_is_wrong() -> None:
    assert "seconds" in wrong("1.2", lang_app(max_age=60_000))
    assert "Secure" in wrong("1.2", lang_app(secure=True))
    assert "/docs" in wrong("1.2", lang_app(path="/docs/"))
    assert "strictest" in wrong("1.2", lang_app(samesite="Lax"))


# -- the SameSite experiment, server side ----------------------------------------------------


def test_the_cookie_server_records_which_samesite_cookies_arrived_and_who_started_it() -> None:
    """What a browser's requests put into the table, here sent by hand with the headers a
    browser would send from a page on another site."""
    from coursekit import LiveServer

    app = lesson01.make_app()
    with LiveServer(app) as server:
        assert lesson01.samesite_table(app) is None  # no browser yet: one line instead
        browser = requests.Session()
        browser.headers["User-Agent"] = "Mozilla/5.0 (X11) Gecko/20100101 Firefox/128.0"
        page = browser.get(server.url + "/samesite/")
        names = {cookie.name for cookie in browser.cookies}
        assert names == set(lesson01.SAMESITE_COOKIES) and "Secure" in page.headers["Set-Cookie"]
        browser.get(
            server.url + "/samesite/record",
            params={"page": "http://localhost:1234", "how": "image"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        table = lesson01.samesite_table(app)
    assert table is not None
    (row,) = table.rows
    assert row[:4] == ["Firefox 128", "localhost:1234 (another site)", "image", "cross-site"]
    # requests ignores SameSite, so all went along but none, which is Secure (http:// here)
    assert row[4:] == ["✔", "✔", "—", "✔"]


def test_the_cookie_server_keeps_a_record_of_browser_requests_only() -> None:
    from coursekit import LiveServer

    app = lesson01.make_app()
    with LiveServer(app) as server:
        requests.get(server.url + "/login", params={"user": "ada"})  # not a browser
        assert lesson01.browser_requests(app) is None
        browser = requests.Session()
        browser.headers["User-Agent"] = "Mozilla/5.0 Chrome/130.0.0.0 Safari/537.36"
        browser.get(server.url + "/login", params={"user": "ada"})
        browser.cookies.set("role", "teacher", domain="127.0.0.1", path="/")
        browser.get(server.url + "/grades")
        table = lesson01.browser_requests(app)
    assert table is not None
    assert table.column("request") == ["GET /login?user=ada", "GET /grades"]
    assert table.column("status") == ["200", "200"]
    assert "role=teacher" in table.column("cookies received")[1]


def test_without_playwright_the_lesson_says_so_in_one_line(monkeypatch, capsys) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "playwright" else real(name, *a),
    )
    lesson01.drive_headless_browser(None, None)  # type: ignore[arg-type]
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "No browser driven" in printed


# -- the quiz -----------------------------------------------------------------------------------


def test_the_quiz_has_about_five_questions_each_with_its_answer_among_the_choices() -> None:
    from coursekit.exercises import _QUIZZES, _load

    _load(1)
    questions = _QUIZZES[1]
    assert 4 <= len(questions) <= 7
    for q in questions:
        assert q.answer in q.choices and q.why
