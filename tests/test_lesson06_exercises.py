"""Lesson 6's checks pass the solutions, say "not done yet" to a stub, and refuse the wrong
answers a learner plausibly writes (each written out as a learner would)."""

from __future__ import annotations

import hmac
import secrets

import pytest
import support
from flask import session

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson6

NOTEBOOK = "06_security.ipynb"


def answered(tmp_path, function: str, body: str | None):
    """The package with ``function``'s hole filled with ``body`` (None: the stub)."""
    module, code = support.export_cell(NOTEBOOK, function)
    return support.package_with(tmp_path, (module, support.fill_hole(code, function, body)))


def solution(tmp_path):
    return support.package_with(tmp_path)


def assert_wrong(result: str) -> None:
    assert result.startswith(WRONG), result


# -- 6.1 regenerate ------------------------------------------------------------------------

REGENERATE_WRONG = {
    "keeps the old entry": """
        loaded, data = session._loaded, session._data
        cookie, created = session._cookie, session._created
        generate(session, "regenerated")
        session._loaded = loaded
        if keep_data:
            session._data, session._cookie, session._created = data, cookie, created
    """,
    "destroys the new id instead of the old (wrong order)": """
        loaded, data = session._loaded, session._data
        cookie, created = session._cookie, session._created
        generate(session, "regenerated")
        call_store(session, "destroy", session._id)
        session._loaded = loaded
        if keep_data:
            session._data, session._cookie, session._created = data, cookie, created
    """,
    "rotation drops the data": """
        old, loaded = session._id, session._loaded
        if old in (session._cookie_id, session._saved and session._saved[0]):
            call_store(session, "destroy", old)
        generate(session, "regenerated")
        session._loaded = loaded
    """,
    "always keeps the data": """
        old, loaded = session._id, session._loaded
        if old in (session._cookie_id, session._saved and session._saved[0]):
            call_store(session, "destroy", old)
        data, cookie, created = session._data, session._cookie, session._created
        generate(session, "regenerated")
        session._loaded = loaded
        session._data, session._cookie, session._created = data, cookie, created
    """,
    "destroys only the id the cookie brought": """
        old, loaded = session._id, session._loaded
        if old == session._cookie_id:
            call_store(session, "destroy", old)
        data, cookie, created = session._data, session._cookie, session._created
        generate(session, "regenerated")
        session._loaded = loaded
        if keep_data:
            session._data, session._cookie, session._created = data, cookie, created
    """,
    "empties the data, keeps the id": """
        call_store(session, "destroy", session._id)
        if not keep_data:
            session._data.clear()
    """,
    "forgets to put _loaded back (a bare regenerate() is never stored)": """
        old = session._id
        if old in (session._cookie_id, session._saved and session._saved[0]):
            call_store(session, "destroy", old)
        data, cookie, created = session._data, session._cookie, session._created
        generate(session, "regenerated")
        if keep_data:
            session._data, session._cookie, session._created = data, cookie, created
    """,
}


def test_regenerate_solution_passes(tmp_path):
    assert verdict("6.1", solution(tmp_path)) == PASS


def test_regenerate_stub_is_not_done(tmp_path):
    assert verdict("6.1", answered(tmp_path, "regenerate", None)) == TODO


@pytest.mark.parametrize("body", REGENERATE_WRONG.values(), ids=REGENERATE_WRONG)
def test_regenerate_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("6.1", answered(tmp_path, "regenerate", body)))


# -- 6.2 destroy --------------------------------------------------------------------------

DESTROY_WRONG = {
    "only empties the data": """
        session._data.clear()
    """,
    "leaves the cookie": """
        sid = session._id
        if sid in (session._cookie_id, session._saved and session._saved[0]):
            call_store(session, "destroy", sid)
        session._cookie_id, session._destroyed = None, True
        generate(session, "destroyed")
    """,
    "expires the cookie, keeps the entry": """
        session._dead_cookie = True
        session._cookie_id, session._destroyed = None, True
        generate(session, "destroyed")
    """,
    "carries on with the old session": """
        sid = session._id
        call_store(session, "destroy", sid)
        session._dead_cookie = True
        session._cookie_id, session._destroyed = None, True
    """,
    "destroys only the id the cookie brought": """
        sid = session._id
        if sid == session._cookie_id:
            call_store(session, "destroy", sid)
        session._dead_cookie = session._dead_cookie or session._cookie_id is not None
        session._cookie_id, session._destroyed = None, True
        generate(session, "destroyed")
    """,
    "forgets _destroyed (save_uninitialized stores a new session)": """
        sid = session._id
        if sid in (session._cookie_id, session._saved and session._saved[0]):
            call_store(session, "destroy", sid)
        session._dead_cookie = session._dead_cookie or session._cookie_id is not None
        session._cookie_id = None
        generate(session, "destroyed")
    """,
}


def test_destroy_solution_passes(tmp_path):
    assert verdict("6.2", solution(tmp_path)) == PASS


def test_destroy_stub_is_not_done(tmp_path):
    assert verdict("6.2", answered(tmp_path, "destroy", None)) == TODO


@pytest.mark.parametrize("body", DESTROY_WRONG.values(), ids=DESTROY_WRONG)
def test_destroy_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("6.2", answered(tmp_path, "destroy", body)))


# -- 6.3 follow_flask_login -------------------------------------------------------------

ROTATE = """
    if isinstance(flask.session, Session):
        flask.session.rotate()
"""
DESTROY = """
    if isinstance(flask.session, Session):
        remember = flask.session.get("_remember")
        flask.session.destroy()
        if remember is not None:
            flask.session["_remember"] = remember
"""
FLASK_LOGIN_WRONG = {
    "regenerates at login (drops Flask-Login's _user_id)": (
        "_rotate_at_login",
        """
        if isinstance(flask.session, Session):
            flask.session.regenerate()
        """,
    ),
    "keeps the id at login": ("_rotate_at_login", "pass"),
    "rotates at logout too": (
        "_destroy_at_logout",
        """
        if isinstance(flask.session, Session):
            flask.session.rotate()
        """,
    ),
    "logout only removes the user key (Flask-Login's own)": ("_destroy_at_logout", "pass"),
    "destroy loses _remember": (
        "_destroy_at_logout",
        """
        if isinstance(flask.session, Session):
            flask.session.destroy()
        """,
    ),
    "no isinstance test (a logout outside the cookie's path fails)": (
        "_destroy_at_logout",
        """
        remember = flask.session.get("_remember")
        flask.session.destroy()
        if remember is not None:
            flask.session["_remember"] = remember
        """,
    ),
}


def flask_login_package(tmp_path, rotate: str | None, destroy: str | None):
    module, code = support.export_cell(NOTEBOOK, "follow_flask_login")
    code = support.fill_hole(code, "_rotate_at_login", rotate)
    code = support.fill_hole(code, "_destroy_at_logout", destroy)
    return support.package_with(tmp_path, (module, code))


def test_follow_flask_login_solution_passes(tmp_path):
    assert verdict("6.3", solution(tmp_path)) == PASS
    assert verdict("6.3", flask_login_package(tmp_path, ROTATE, DESTROY)) == PASS


def test_follow_flask_login_stub_is_not_done(tmp_path):
    assert verdict("6.3", flask_login_package(tmp_path, None, None)) == TODO


@pytest.mark.parametrize("wrong", FLASK_LOGIN_WRONG.values(), ids=FLASK_LOGIN_WRONG)
def test_follow_flask_login_wrong_answers_are_refused(tmp_path, wrong):
    function, body = wrong
    rotate, destroy = (body, DESTROY) if function == "_rotate_at_login" else (ROTATE, body)
    assert_wrong(verdict("6.3", flask_login_package(tmp_path, rotate, destroy)))


# -- 6.4 outlived --------------------------------------------------------------------------

OUTLIVED_WRONG = {
    "measured from the last request": """
        timeout, cookie = session.engine.absolute_timeout, session._cookie
        if timeout is None or cookie.expires_at is None:
            return False
        last_saved = cookie.expires_at - cookie.original_max_age
        return time.time() - last_saved >= timeout
    """,
    "the idle timeout instead": """
        left = session._cookie.max_age
        return left is not None and left <= 0
    """,
    "milliseconds against seconds": """
        timeout = session.engine.absolute_timeout
        return timeout is not None and time.time() * 1000 - session._created >= timeout
    """,
    "the timeout taken as milliseconds": """
        timeout = session.engine.absolute_timeout
        return timeout is not None and time.time() - session._created >= timeout * 1000
    """,
    "forgets that there may be no limit": """
        return time.time() - session._created >= session.engine.absolute_timeout
    """,
    "never ends": """
        return False
    """,
}


def test_outlived_solution_passes(tmp_path):
    assert verdict("6.4", solution(tmp_path)) == PASS


def test_outlived_stub_is_not_done(tmp_path):
    assert verdict("6.4", answered(tmp_path, "outlived", None)) == TODO


@pytest.mark.parametrize("body", OUTLIVED_WRONG.values(), ids=OUTLIVED_WRONG)
def test_outlived_wrong_answers_are_refused(tmp_path, body):
    assert_wrong(verdict("6.4", answered(tmp_path, "outlived", body)))


# -- 6.5 production cookie settings ------------------------------------------------------


def production(**changes):
    options = {"http_only": True, "secure": "auto", "same_site": "Lax", "max_age": 8 * 3600}
    options.update(changes)
    options = {k: v for k, v in options.items() if v is not ...}
    return lambda: options


def test_production_cookie_solution_passes():
    assert verdict("6.5", production()) == PASS
    assert verdict("6.5", production(http_only=..., same_site=...)) == PASS  # the defaults


def test_production_cookie_stub_is_not_done():
    def production_cookie():
        raise NotImplementedError()

    assert verdict("6.5", production_cookie) == TODO


@pytest.mark.parametrize(
    "changes",
    [
        {"secure": True},  # no cookie at all on the laptop
        {"secure": False},  # not Secure behind the proxy
        {"max_age": 8 * 3600 * 1000},  # milliseconds, as express's maxAge
        {"max_age": 8 * 60},  # minutes for seconds
        {"max_age": ...},  # a browser-session cookie: no end
        {"http_only": False},
        {"same_site": "None"},  # refused by SessionManager: needs secure=True
        {"same_site": "Strict"},
        {"same_site": None},  # no SameSite at all
    ],
    ids=str,
)
def test_production_cookie_wrong_answers_are_refused(changes):
    assert_wrong(verdict("6.5", production(**changes)))


# -- 6.6 a CSRF token bound to the session -----------------------------------------------


def csrf_token():
    stored = session.get("csrf")
    if stored is None or stored[0] != session.id:
        stored = [session.id, secrets.token_urlsafe(32)]
        session["csrf"] = stored
    return stored[1]


def csrf_ok(sent):
    stored = session.get("csrf")
    if not isinstance(sent, str) or stored is None or stored[0] != session.id:
        return False
    return hmac.compare_digest(stored[1].encode(), sent.encode())


def hmac_of_id():  # another right answer: derived from the id with a secret of the session's
    key = session.setdefault("csrf_key", secrets.token_hex(32))
    return hmac.new(key.encode(), session.id.encode(), "sha256").hexdigest()


def hmac_ok(sent):
    return "csrf_key" in session and hmac.compare_digest(hmac_of_id(), str(sent))


def plain_token():  # the usual token: kept in the data, so it survives rotation
    return session.setdefault("csrf", secrets.token_urlsafe(32))


def plain_ok(sent):
    return session.get("csrf") is not None and hmac.compare_digest(session["csrf"], str(sent))


def id_as_token():  # "the id is secret and bound to the session already"
    session["csrf"] = session.id
    return session.id


def id_ok(sent):
    return sent == session.id


GLOBAL = secrets.token_urlsafe(32)


def new_each_time():
    session["csrf"] = [session.id, secrets.token_urlsafe(32)]
    return session["csrf"][1]


def none_is_equal(sent):  # None == None when the session has no token
    stored = session.get("csrf")
    return (stored and stored[0] == session.id and stored[1]) == sent or (not stored and not sent)


CSRF_WRONG = {
    "a token kept in the data (survives the login)": (plain_token, plain_ok),
    "the session id as the token": (id_as_token, id_ok),
    "one token for everybody": (
        lambda: session.setdefault("csrf", GLOBAL),
        lambda sent: sent == GLOBAL,
    ),
    "a new token for every form": (new_each_time, csrf_ok),
    "no token matches no token": (csrf_token, none_is_equal),
    "accepts anything": (csrf_token, lambda sent: True),
}


def test_csrf_solutions_pass():
    assert verdict("6.6", csrf_token, csrf_ok) == PASS
    assert verdict("6.6", hmac_of_id, hmac_ok) == PASS


def test_csrf_stub_is_not_done():
    def stub(*args):
        raise NotImplementedError()

    assert verdict("6.6", stub, stub) == TODO


@pytest.mark.parametrize("answer", CSRF_WRONG.values(), ids=CSRF_WRONG)
def test_csrf_wrong_answers_are_refused(answer):
    assert_wrong(verdict("6.6", *answer))


def test_quiz_has_about_five_questions_each_with_its_answer_among_the_choices():
    from coursekit.exercises import _QUIZZES, quiz

    quiz(6, {})
    assert 5 <= len(_QUIZZES[6]) <= 7
    assert all(q.answer in q.choices for q in _QUIZZES[6])
