"""Lesson 4's exercises: each check passes the solution, says "not done yet" to the stub,
and refuses the plausible wrong answers (several of them express-session's own choices,
which sessionlib corrects)."""

from __future__ import annotations

import textwrap

import pytest
import support

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson4


def engine_cell(code: str) -> tuple[str, str]:
    return ("engine", textwrap.dedent(code))


STUBS = {
    "4.1": """
        def save_reason(session, now, modified):
            # YOUR CODE HERE
            raise NotImplementedError()
        """,
    "4.2": """
        def should_touch(session):
            # YOUR CODE HERE
            raise NotImplementedError()
        """,
    "4.3": """
        def should_set_cookie(session, modified):
            # YOUR CODE HERE
            raise NotImplementedError()
        """,
}

WRONG_SAVE_REASONS = {
    "saves unmodified new sessions (express's saveUninitialized: true)": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified or session.new:
                return "modified"
            return "resave" if session.engine.resave else None
        """,
    "forgets resave": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified:
                return "modified"
            if session.new and session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
    "one rule for new and stored sessions": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if modified:
                return "modified"
            if session.engine.resave:
                return "resave"
            if session.engine.save_uninitialized:
                return "save_uninitialized"
            return None
        """,
    "new sessions by express's test, stored ones by modified alone": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            engine = session.engine
            if session.new and not engine.save_uninitialized:
                return "modified" if modified else None
            if modified:
                return "modified"
            if session.new:
                return "save_uninitialized"
            return "resave" if engine.resave else None
        """,
    "ignores session.modified = True": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now:
                return None
            if session._saved is not None or modified:
                return "modified"
            if not session.new:
                return "resave" if session.engine.resave else None
            if session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
    "stores the empty session that replaces a destroyed one": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified:
                return "modified"
            if not session.new:
                return "resave" if session.engine.resave else None
            if session.engine.save_uninitialized:
                return "save_uninitialized"
            return None
        """,
    "asks resave before asking what the store already holds": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if not session.new and session.engine.resave:
                return "resave"
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified:
                return "modified"
            if session.new and session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
    "only looks at modified, not at what save() left in the store": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if modified:
                return "modified"
            if not session.new:
                return "resave" if session.engine.resave else None
            if session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
    "returns True instead of a reason": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified:
                return True
            if not session.new:
                return True if session.engine.resave else None
            if session.engine.save_uninitialized and not session._destroyed:
                return True
            return None
        """,
    "returns False for no write": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return False
            if session._saved is not None or modified:
                return "modified"
            if not session.new:
                return "resave" if session.engine.resave else False
            if session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return False
        """,
    "writes again after another request ended the session": """
        def save_reason(session, now, modified):
            if session._saved == now and not session._forced:
                return None
            if session._saved is not None or modified:
                return "modified"
            if not session.new:
                return "resave" if session.engine.resave else None
            if session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
    "asks resave before asking whether the session changed": """
        def save_reason(session, now, modified):
            if session.interrupted:
                return None
            if session._saved == now and not session._forced:
                return None
            if not session.new and session.engine.resave:
                return "resave"
            if session._saved is not None or modified:
                return "modified"
            if session.new and session.engine.save_uninitialized and not session._destroyed:
                return "save_uninitialized"
            return None
        """,
}

WRONG_SHOULD_TOUCH = {
    "touches whenever nothing was written at the end (express's shouldTouch)": """
        def should_touch(session):
            return not session.new
        """,
    "always touches": """
        def should_touch(session):
            return True
        """,
    "never touches": """
        def should_touch(session):
            return False
        """,
    "touches after a save() in the view": """
        def should_touch(session):
            return not session.new and not session.interrupted
        """,
    "touches a session another request ended": """
        def should_touch(session):
            return not (session.new or session._fresh_ttl)
        """,
    "touches again what the read already touched": """
        def should_touch(session):
            return not session.new and session._saved == session._loaded
        """,
    "touches new sessions the store doesn't hold": """
        def should_touch(session):
            return not (session._fresh_ttl or session.interrupted)
        """,
}

WRONG_SET_COOKIES = {
    "express's shouldSetCookie, word for word": """
        def should_set_cookie(session, modified):
            engine = session.engine
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return engine.save_uninitialized or modified
            return engine.rolling or (session._cookie.expires_at is not None and modified)
        """,
    "a cookie for a browser-session cookie on every change": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            return session.engine.rolling or modified
        """,
    "a cookie after an interrupted write": """
        def should_set_cookie(session, modified):
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return session.engine.rolling or (modified and persistent)
        """,
    "a Secure cookie over plain HTTP": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return session.engine.rolling or (modified and persistent)
        """,
    "no cookie at all over plain HTTP": """
        def should_set_cookie(session, modified):
            if session.interrupted or not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return session.engine.rolling or (modified and persistent)
        """,
    "forgets rolling": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return modified and persistent
        """,
    "rolling before asking whether the session is new": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.engine.rolling:
                return True
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return modified and persistent
        """,
    "forgets a cookie that just lost its expiry": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            return session.engine.rolling or (modified and session._cookie.expires_at is not None)
        """,
    "never tells the browser of an expiry a view gave its cookie": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return session._saved is not None and session._saved[0] == session._id
            return session.engine.rolling or (modified and session._was_persistent)
        """,
    "a cookie for every new session that was modified": """
        def should_set_cookie(session, modified):
            if session.interrupted:
                return False
            if session._cookie.secure and not session.is_secure:
                return False
            if session.new:
                return modified
            persistent = session._cookie.expires_at is not None or session._was_persistent
            return session.engine.rolling or (modified and persistent)
        """,
}


@pytest.mark.parametrize("exercise", ["4.1", "4.2", "4.3"])
def test_the_solution_passes(exercise: str, tmp_path) -> None:
    assert verdict(exercise, support.package_with(tmp_path)) == PASS


@pytest.mark.parametrize("exercise", ["4.1", "4.2", "4.3"])
def test_the_stub_is_not_done_yet(exercise: str, tmp_path) -> None:
    lib = support.package_with(tmp_path, engine_cell(STUBS[exercise]))
    assert verdict(exercise, lib) == TODO


def _refused(exercise: str, code: str, tmp_path) -> str:
    result = verdict(exercise, support.package_with(tmp_path, engine_cell(code)))
    assert result.startswith(WRONG), result
    return result


@pytest.mark.parametrize("code", WRONG_SAVE_REASONS.values(), ids=WRONG_SAVE_REASONS)
def test_save_reason_refuses(code: str, tmp_path) -> None:
    _refused("4.1", code, tmp_path)


@pytest.mark.parametrize("code", WRONG_SHOULD_TOUCH.values(), ids=WRONG_SHOULD_TOUCH)
def test_should_touch_refuses(code: str, tmp_path) -> None:
    _refused("4.2", code, tmp_path)


@pytest.mark.parametrize("code", WRONG_SET_COOKIES.values(), ids=WRONG_SET_COOKIES)
def test_should_set_cookie_refuses(code: str, tmp_path) -> None:
    _refused("4.3", code, tmp_path)


def test_a_wrong_answer_is_told_what_the_server_did(tmp_path) -> None:
    code = WRONG_SHOULD_TOUCH["touches after a save() in the view"]
    assert "save()" in _refused("4.2", code, tmp_path)


def test_in_a_notebook_each_check_judges_its_own_function(tmp_path, monkeypatch) -> None:
    """In a notebook the checks get the learner's package (``coursekit.mine``, or as the
    lesson's checks see it). Each says "not done yet" while its own function is a stub,
    and judges that function alone: a neighbour still a stub, or wrong, changes nothing."""
    from coursekit import package

    mine = tmp_path / "my_sessionlib"
    package.export(package.lesson_notebooks(package.LESSONS), mine)  # the learner copies
    monkeypatch.setitem(package._STARTED, "package", mine)
    exercises = ("4.1", "4.2", "4.3")
    assert [verdict(e) for e in exercises] == [TODO] * 3
    assert [verdict(e, package.mine(4, quiet=True)) for e in exercises] == [TODO] * 3

    package.write_cell(mine, "engine", textwrap.dedent(WRONG_SHOULD_TOUCH["always touches"]))
    assert [verdict(e)[: len(WRONG)] for e in exercises] == [TODO, WRONG, TODO]

    solved = support.package_with(tmp_path)  # the reference: its save_reason is the solution
    package.write_cell(mine, "engine", _source_of(solved.engine.save_reason))
    assert verdict("4.1") == PASS  # though should_touch is wrong and should_set_cookie a stub
    assert verdict("4.1", package.mine(4, quiet=True)) == PASS


def _source_of(function) -> str:
    import inspect

    return inspect.getsource(function)
