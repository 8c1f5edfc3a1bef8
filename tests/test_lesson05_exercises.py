"""Lesson 5's exercises: each check passes the solution, says "not done yet" to the stub,
and refuses the plausible wrong answers."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone

import pytest
import support
from flask import request, session

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson5

THIRTY_DAYS = 30 * 24 * 3600

# The Expiry cell with one method written differently. The solution's bodies, as the
# learner would write them, are the defaults; each wrong answer replaces one.
GETTER = """\
        return None if self.expires_at is None else self.expires_at - time.time()
"""
SETTER = """\
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = None if seconds is None else _whole_ms(time.time() + seconds)
"""
RESET = """\
        if self.original_max_age is not None and not self.fixed:
            self.expires_at = _whole_ms(time.time() + self.original_max_age)
"""
STUB = """\
        # YOUR CODE HERE
        raise NotImplementedError()
"""


def expiry_cell(getter: str = GETTER, setter: str = SETTER, reset: str = RESET) -> tuple[str, str]:
    """The ``Expiry`` cell of ``cookie`` (and its ``_whole_ms``) with these method bodies."""
    code = f"""
@dataclass
class Expiry:
    original_max_age: float | None = None
    expires_at: float | None = None
    fixed: bool = False

    @property
    def max_age(self) -> float | None:
{getter}
    @max_age.setter
    def max_age(self, seconds: float | timedelta | None) -> None:
{setter}
    @property
    def expires(self) -> datetime | None:
        if self.expires_at is None:
            return None
        return datetime.fromtimestamp(self.expires_at, timezone.utc)

    @expires.setter
    def expires(self, moment: datetime | None) -> None:
        self.expires_at = None if moment is None else _whole_ms(moment.timestamp())
        self.fixed, self.original_max_age = moment is not None, self.max_age

    def reset_max_age(self) -> None:
{reset}
    def load_expiry(self, stored: Any, fixed: bool) -> None:
        if not isinstance(stored, dict):
            raise ValueError("no cookie object")
        original, expires = stored.get("originalMaxAge"), stored.get("expires")
        if original is not None:
            self.original_max_age = original / 1000
        if expires is not None:
            moment = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
            self.expires_at = moment.timestamp()
        self.fixed = fixed and self.expires_at is not None


def _whole_ms(seconds: float) -> float:
    return math.floor(seconds * 1000) / 1000
"""
    return ("cookie", code)


def body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8) + "\n"


WRONG_GETTERS = {
    "does not count down": "return self.original_max_age",
    "forgets a browser-session cookie": "return self.expires_at - time.time()",
    "counts the wrong way": """
        if self.expires_at is None:
            return None
        return time.time() - self.expires_at
        """,
    "whole seconds": """
        if self.expires_at is None:
            return None
        return round(self.expires_at - time.time())
        """,
    "milliseconds": """
        if self.expires_at is None:
            return None
        return (self.expires_at - time.time()) * 1000
        """,
}
WRONG_SETTERS = {
    "forgets original_max_age": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.fixed = False
        self.expires_at = None if seconds is None else _whole_ms(time.time() + seconds)
        """,
    "does not round to the millisecond": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = None if seconds is None else time.time() + seconds
        """,
    "rounds to the nearest millisecond, up as often as down": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = None if seconds is None else round(time.time() + seconds, 3)
        """,
    "leaves a date fixed": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age = seconds
        self.expires_at = None if seconds is None else _whole_ms(time.time() + seconds)
        """,
    "no timedelta": """
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = None if seconds is None else _whole_ms(time.time() + seconds)
        """,
    "no None": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = _whole_ms(time.time() + seconds)
        """,
    "a datetime clock (not the module's time.time())": """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        now = datetime.now(timezone.utc).timestamp()
        self.expires_at = None if seconds is None else _whole_ms(now + seconds)
        """,
}
WRONG_RESETS = {
    "restarts from what is left": """
        self.max_age = self.max_age
        """,
    "moves a fixed date": """
        if self.original_max_age is not None:
            self.expires_at = _whole_ms(time.time() + self.original_max_age)
        """,
    "through the setter, fixed or not": """
        self.max_age = self.original_max_age
        """,
    "forgets a browser-session cookie": """
        if not self.fixed:
            self.expires_at = _whole_ms(time.time() + self.original_max_age)
        """,
    "does not round to the millisecond": """
        if self.original_max_age is not None and not self.fixed:
            self.expires_at = time.time() + self.original_max_age
        """,
    "through the expires setter (which makes it a date)": """
        if self.original_max_age is not None and not self.fixed:
            moment = time.time() + self.original_max_age
            self.expires = datetime.fromtimestamp(moment, timezone.utc)
        """,
    "does nothing": """
        pass
        """,
}


def test_the_expiry_cell_as_written_here_is_the_solution(tmp_path) -> None:
    lib = support.package_with(tmp_path, expiry_cell())
    assert verdict("5.1", lib) == PASS and verdict("5.2", lib) == PASS


@pytest.mark.parametrize("exercise", ["5.1", "5.2"])
def test_the_solution_passes(exercise: str, tmp_path) -> None:
    assert verdict(exercise, support.package_with(tmp_path)) == PASS


def test_the_stubs_are_not_done_yet(tmp_path) -> None:
    lib = support.package_with(tmp_path, expiry_cell(getter=STUB, setter=STUB, reset=STUB))
    assert verdict("5.1", lib) == TODO and verdict("5.2", lib) == TODO


def test_each_hole_is_judged_on_its_own(tmp_path) -> None:
    """One method written, the other still a stub: its own check passes."""
    reset_left = support.package_with(tmp_path, expiry_cell(reset=STUB))
    assert verdict("5.1", reset_left) == PASS and verdict("5.2", reset_left) == TODO
    max_age_left = support.package_with(tmp_path, expiry_cell(getter=STUB, setter=STUB))
    assert verdict("5.1", max_age_left) == TODO and verdict("5.2", max_age_left) == PASS


def _refused(exercise: str, cell: tuple[str, str], tmp_path) -> str:
    result = verdict(exercise, support.package_with(tmp_path, cell))
    assert result.startswith(WRONG), result
    return result


@pytest.mark.parametrize("code", WRONG_GETTERS.values(), ids=WRONG_GETTERS)
def test_max_age_refuses_a_wrong_getter(code: str, tmp_path) -> None:
    _refused("5.1", expiry_cell(getter=body(code)), tmp_path)


@pytest.mark.parametrize("code", WRONG_SETTERS.values(), ids=WRONG_SETTERS)
def test_max_age_refuses_a_wrong_setter(code: str, tmp_path) -> None:
    _refused("5.1", expiry_cell(setter=body(code)), tmp_path)


@pytest.mark.parametrize("code", WRONG_RESETS.values(), ids=WRONG_RESETS)
def test_reset_max_age_refuses(code: str, tmp_path) -> None:
    _refused("5.2", expiry_cell(reset=body(code)), tmp_path)


# -- 5.3: remember me, a view written in the notebook -----------------------------------------
def solution() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def lifetime_before_rotation() -> str:
    if request.form.get("remember"):
        session.cookie.max_age = timedelta(days=30)
    session.rotate()
    session["user"] = request.form["user"]
    return "logged in"


def a_fixed_date() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.expires = datetime.now(timezone.utc) + timedelta(days=30)
    return "logged in"


def stub() -> str:
    # YOUR CODE HERE
    raise NotImplementedError()


def no_new_id() -> str:
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def rotate_only_when_remembered() -> str:
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.rotate()
        session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def regenerate() -> str:
    session.regenerate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def lifetime_then_regenerate() -> str:
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = THIRTY_DAYS
    session.regenerate()
    session["user"] = request.form["user"]
    return "logged in"


def flask_permanent() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.permanent = True
    return "logged in"


def permanent_as_the_box_says() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    session.permanent = bool(request.form.get("remember"))
    return "logged in"


def thirty_seconds() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = 30
    return "logged in"


def everyone_remembered() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def the_box_as_a_key() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form["remember"]:
        session.cookie.max_age = THIRTY_DAYS
    return "logged in"


def milliseconds() -> str:
    session.rotate()
    session["user"] = request.form["user"]
    if request.form.get("remember"):
        session.cookie.max_age = THIRTY_DAYS * 1000
    return "logged in"


@pytest.mark.parametrize("view", [solution, lifetime_before_rotation, a_fixed_date])
def test_remember_me_passes(view) -> None:
    assert verdict("5.3", view) == PASS


def test_remember_me_stub_is_not_done_yet() -> None:
    assert verdict("5.3", stub) == TODO


WRONG_VIEWS = [
    no_new_id,
    rotate_only_when_remembered,
    regenerate,
    lifetime_then_regenerate,
    flask_permanent,
    permanent_as_the_box_says,
    thirty_seconds,
    everyone_remembered,
    the_box_as_a_key,
    milliseconds,
]


@pytest.mark.parametrize("view", WRONG_VIEWS, ids=[v.__name__ for v in WRONG_VIEWS])
def test_remember_me_refuses(view) -> None:
    result = verdict("5.3", view)
    assert result.startswith(WRONG), result


def test_in_a_notebook_the_checks_judge_the_learner_s_own_expiry(tmp_path, monkeypatch) -> None:
    """In a notebook, the reference stands in for the whole Expiry cell while a stub is left
    in it; the checks still judge each method as the learner wrote it, and nothing else of
    theirs (a wrong rule of lesson 4) decides the verdict."""
    from coursekit import package

    mine = tmp_path / "my_sessionlib"
    package.export(package.lesson_notebooks(package.LESSONS), mine)  # the learner copies
    monkeypatch.setitem(package._STARTED, "package", mine)
    assert [verdict("5.1"), verdict("5.2")] == [TODO, TODO]
    package.write_cell(mine, "cookie", expiry_cell(reset=STUB)[1])
    assert [verdict("5.1"), verdict("5.2")] == [PASS, TODO]
    lib = package.mine(5, quiet=True)  # the reference's whole Expiry stands in here
    assert [verdict("5.1", lib), verdict("5.2", lib)] == [PASS, TODO]
    package.write_cell(mine, "cookie", expiry_cell()[1])
    never_touch = "def should_touch(session):\n    return False\n"
    package.write_cell(mine, "engine", never_touch)
    assert [verdict("5.1"), verdict("5.2")] == [PASS, PASS]
    wrong = body(WRONG_RESETS["moves a fixed date"])
    package.write_cell(mine, "cookie", expiry_cell(reset=wrong)[1])
    assert verdict("5.2").startswith(WRONG)
