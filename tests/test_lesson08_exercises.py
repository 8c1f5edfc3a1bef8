"""Lesson 8's exercises, the capstone shop: each check passes the solution, says "not done
yet" to a stub, and refuses the plausible wrong answers, each written as a learner would
write it; the solution shop passes its specification under pytest; the notebook's shop
cells are ``solutions/capstone/shop.py``."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest

import coursekit
import sessionlib
from coursekit.exercises import _QUIZZES, PASS, TODO, WRONG, verdict
from coursekit.lessons import lesson08

pytestmark = pytest.mark.lesson8

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "solutions" / "capstone" / "shop.py"
SPEC = ROOT / "notebooks" / "capstone" / "SPEC.md"
TESTS = ROOT / "notebooks" / "capstone" / "test_shop.py"
NOTEBOOK = ROOT / "solutions" / "08_capstone.ipynb"
_numbers = itertools.count()


def shop_with(tmp_path: Path, *functions: str) -> Any:
    """``solutions/capstone/shop.py`` with each function in ``functions`` (its source, as a
    learner would write it) in place of the shop's function of the same name."""
    lines = SHOP.read_text().splitlines()
    nodes = {
        node.name: node
        for node in ast.parse(SHOP.read_text()).body
        if isinstance(node, ast.FunctionDef)
    }
    replacements = []
    for source in functions:
        source = textwrap.dedent(source).strip("\n")
        (new,) = ast.parse(source).body
        replacements.append((nodes[new.name], source.splitlines()))
    for old, new_lines in sorted(replacements, key=lambda pair: -pair[0].lineno):
        lines[old.lineno - 1 : old.end_lineno] = new_lines
    path = tmp_path / f"shop_{next(_numbers)}.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outcome(exercise: str, shop: Any) -> str:
    return verdict(exercise, shop.create_app, sessionlib)


def assert_wrong(exercise: str, shop: Any, rule: str) -> None:
    result = outcome(exercise, shop)
    assert result.startswith(WRONG), result
    assert rule in result, f"the verdict should name rule {rule}: {result}"


# -- the solution and the stubs -------------------------------------------------------------
@pytest.mark.parametrize("exercise", ["8.1", "8.2", "8.3", "8.4", "8.5", "8.6"])
def test_the_solution_passes_every_check(exercise: str, tmp_path: Path) -> None:
    assert outcome(exercise, shop_with(tmp_path)) == PASS


STUBS = {
    "8.1": "def shop_settings(store):\n    raise NotImplementedError()",
    "8.2": "def check_csrf():\n    raise NotImplementedError()",
    "8.3": "def add_to_cart():\n    raise NotImplementedError()",
    "8.4": "def login():\n    raise NotImplementedError()",
    "8.5": "def logout():\n    raise NotImplementedError()",
    "8.6": "def logout_everywhere():\n    raise NotImplementedError()",
}


@pytest.mark.parametrize("exercise", sorted(STUBS))
def test_a_stub_is_not_done_yet(exercise: str, tmp_path: Path) -> None:
    assert outcome(exercise, shop_with(tmp_path, STUBS[exercise])) == TODO


def test_a_later_step_waits_for_an_earlier_stub(tmp_path: Path) -> None:
    """The cart's check, with the CSRF guard still a stub: not done, rather than wrong."""
    assert outcome("8.3", shop_with(tmp_path, STUBS["8.2"])) == TODO
    assert outcome("8.2", shop_with(tmp_path, STUBS["8.3"])) == PASS


# -- 8.1: the settings and the token ------------------------------------------------------
SETTINGS = """
def shop_settings(store):
    return dict(
        secret={secret},
        name={name},
        store=store,
        {rest}
        cookie={cookie},
    )
"""
GOOD = dict(
    secret='["shop secret 2", "shop secret 1"]',
    name='"shop.sid"',
    rest="rolling=True, absolute_timeout=LIFETIME, proxy=True,",
    cookie='{"max_age": IDLE, "secure": "auto", "same_site": "Lax"}',
)


def settings(**changes: str) -> str:
    return SETTINGS.format(**{**GOOD, **changes})


WRONG_SETTINGS = {
    "max_age in milliseconds": (
        settings(cookie='{"max_age": IDLE * 1000, "secure": "auto", "same_site": "Lax"}'),
        "S2",
    ),
    "max_age in minutes": (settings(cookie='{"max_age": 30, "secure": "auto"}'), "S2"),
    "SameSite Strict": (
        settings(cookie='{"max_age": IDLE, "secure": "auto", "same_site": "Strict"}'),
        "S2",
    ),
    "the default cookie name": (settings(name='"connect.sid"'), "S2"),
    "no proxy: the proxy's X-Forwarded-Proto is ignored": (
        settings(rest="rolling=True, absolute_timeout=LIFETIME,"),
        "S3",
    ),
    "Secure always: no cookie over HTTP": (
        settings(cookie='{"max_age": IDLE, "secure": True, "same_site": "Lax"}'),
        "S2",
    ),
    "not rolling": (settings(rest="absolute_timeout=LIFETIME, proxy=True,"), "S4"),
    "one secret: old cookies refused": (settings(secret='"shop secret 2"'), "S5"),
    "the secrets in the wrong order": (settings(secret='["shop secret 1", "shop secret 2"]'), "S5"),
    "no absolute lifetime": (settings(rest="rolling=True, proxy=True,"), "S6"),
    "the absolute lifetime in hours": (
        settings(rest="rolling=True, absolute_timeout=8, proxy=True,"),
        "S6",
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_SETTINGS))
def test_8_1_refuses_wrong_settings(answer: str, tmp_path: Path) -> None:
    source, rule = WRONG_SETTINGS[answer]
    assert_wrong("8.1", shop_with(tmp_path, source), rule)


WRONG_TOKENS = {
    "64 bits": ("return session.setdefault('csrf', secrets.token_hex(8))", "T1"),
    "a uuid4 (122 bits)": (
        "import uuid\n    return session.setdefault('csrf', str(uuid.uuid4()))",
        "T1",
    ),
    "not kept in the session": ("return secrets.token_urlsafe(32)", "S2"),
    "a new token every time": (
        "session['csrf'] = secrets.token_urlsafe(32)\n    return session['csrf']",
        "T2",
    ),
    "one token for everybody": (
        "return session.setdefault('csrf', 'a-token-for-every-visitor')",
        "T2",
    ),
    "the session id": ("return session.setdefault('csrf', session.id)", "T3"),
}


@pytest.mark.parametrize("answer", sorted(WRONG_TOKENS))
def test_8_1_refuses_wrong_tokens(answer: str, tmp_path: Path) -> None:
    body, rule = WRONG_TOKENS[answer]
    assert_wrong("8.1", shop_with(tmp_path, f"def csrf_token():\n    {body}"), rule)


# -- 8.2: the guard -----------------------------------------------------------------------
def guard(body: str) -> str:
    return "def check_csrf():\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")


WRONG_GUARDS = {
    "== on what may be None": (
        """
        if session.get("csrf") != request.headers.get("X-CSRF-Token"):
            return {"error": "CSRF token missing or wrong"}, 403
        """,
        "X1",
    ),
    "== after checking for a token": (
        """
        expected = session.get("csrf")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if not expected or sent != expected:
            return {"error": "CSRF token missing or wrong"}, 403
        return None
        """,
        "X4",
    ),
    "!= on the encoded tokens": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not expected or expected.encode() != sent.encode():
            return {"error": "CSRF token missing or wrong"}, 403
        return None
        """,
        "X4",
    ),
    "the token taken from the query string too (request.values)": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.values.get("csrf_token") or ""
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 403
        return None
        """,
        "X1",
    ),
    "compare_digest of two empty strings": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 403
        """,
        "X3",
    ),
    "compare_digest on str: a non-ASCII token is a 500": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not expected or not hmac.compare_digest(expected, sent):
            return {"error": "CSRF token missing or wrong"}, 403
        """,
        "X2",
    ),
    "the header only": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token", "")
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 403
        """,
        "X1",
    ),
    "the form field only": (
        """
        expected = session.get("csrf", "")
        sent = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 403
        """,
        "X1",
    ),
    "400 instead of 403": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 400
        """,
        "X1",
    ),
    "True to let it through": (
        """
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            return {"error": "CSRF token missing or wrong"}, 403
        return True
        """,
        "X1",
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_GUARDS))
def test_8_2_refuses_wrong_guards(answer: str, tmp_path: Path) -> None:
    body, rule = WRONG_GUARDS[answer]
    assert_wrong("8.2", shop_with(tmp_path, guard(body)), rule)


# -- 8.3: the cart ------------------------------------------------------------------------
HOME = """
def home():
    cart = {cart}
    total = sum(PRICES[item] * count for item, count in cart.items())
    return {{"user": session.get("user"), "cart": cart, "total": {total}, "messages": {messages}}}
"""
ADD = """
def add_to_cart():
    item = request.form.get("item", "")
    {check}
    cart = session.setdefault("cart", {{}})
    cart[item] = cart.get(item, 0) + 1
    {flash}
    return redirect("/")
"""
REMOVE = """
def remove_from_cart():
    item = request.form.get("item", "")
    cart = session.get("cart", {{}})
    {missing}
    {take}
    flash(f"Removed {{item}}")
    return redirect("/")
"""
UNKNOWN = 'if item not in PRICES:\n        return {"error": f"no such item: {item}"}, 404'
MISSING = (
    "if item not in cart:\n"
    '        flash(f"{item} is not in your cart")\n'
    '        return redirect("/")'
)
TAKE = "cart[item] -= 1\n    if cart[item] == 0:\n        del cart[item]"

WRONG_CARTS = {
    "home writes a cart for every reader": (
        HOME.format(
            cart='session.setdefault("cart", {})',
            total="round(total, 2)",
            messages="get_flashed_messages()",
        ),
        "C1",
    ),
    "no flash": (ADD.format(check=UNKNOWN, flash="pass"), "C1"),
    "any item is for sale": (ADD.format(check="pass", flash='flash(f"Added {item}")'), "C2"),
    "remove leaves a zero": (REMOVE.format(missing=MISSING, take="cart[item] -= 1"), "C3"),
    "remove takes them all": (REMOVE.format(missing=MISSING, take="del cart[item]"), "C3"),
    "remove of a missing item fails": (REMOVE.format(missing="pass", take=TAKE), "C3"),
    "the total not rounded": (
        HOME.format(
            cart='session.get("cart", {})', total="total", messages="get_flashed_messages()"
        ),
        "C4",
    ),
    "messages read but never removed": (
        HOME.format(
            cart='session.get("cart", {})',
            total="round(total, 2)",
            messages='[m for _, m in session.get("_flashes", [])]',
        ),
        "C3",
    ),
    "settings that store every visitor": (
        settings(
            rest="rolling=True, absolute_timeout=LIFETIME, proxy=True, save_uninitialized=True,"
        ),
        "C1",
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_CARTS))
def test_8_3_refuses_wrong_carts(answer: str, tmp_path: Path) -> None:
    source, rule = WRONG_CARTS[answer]
    assert_wrong("8.3", shop_with(tmp_path, source), rule)


# -- 8.4: login and checkout --------------------------------------------------------------
LOGIN = """
def login():
    user, password = request.form.get("user", ""), request.form.get("password", "")
    {check}
    {move}
    session["user"] = user
    store = current_app.extensions["sessionlib"].store
    {index}
    flash(f"Welcome, {{user}}")
    return redirect("/")
"""
CHECK = (
    "known = USERS.get(user)\n"
    "    if known is None or not hmac.compare_digest(known.encode(), password.encode()):\n"
    '        return {"error": "wrong user name or password"}, 401'
)
MOVE = 'session.rotate()\n    session.pop("csrf", None)'
INDEX = (
    "store.client.sadd(index_key(store, user), session.id)\n"
    "    store.client.expire(index_key(store, user), LIFETIME)"
)


def login_with(**parts: str) -> str:
    return LOGIN.format(**{"check": CHECK, "move": MOVE, "index": INDEX, **parts})


WRONG_LOGINS = {
    "no new id (fixation)": (login_with(move='session.pop("csrf", None)'), "L2"),
    "regenerate() loses the cart": (
        login_with(move='session.regenerate()\n    session.pop("csrf", None)'),
        "L2",
    ),
    "the old CSRF token kept": (login_with(move="session.rotate()"), "L4"),
    "an unknown user with an empty password logs in": (
        login_with(
            check='if not hmac.compare_digest(USERS.get(user, "").encode(), password.encode()):\n'
            '        return {"error": "wrong user name or password"}, 401'
        ),
        "L1",
    ),
    "a different answer for an unknown user": (
        login_with(
            check='if user not in USERS:\n        return {"error": "no such user"}, 401\n'
            "    if not hmac.compare_digest(USERS[user].encode(), password.encode()):\n"
            '        return {"error": "wrong user name or password"}, 401'
        ),
        "L1",
    ),
    "compare_digest on str: a non-ASCII password is a 500": (
        login_with(
            check="known = USERS.get(user)\n"
            "    if known is None or not hmac.compare_digest(known, password):\n"
            '        return {"error": "wrong user name or password"}, 401'
        ),
        "L1",
    ),
    "== on passwords": (
        login_with(
            check="if USERS.get(user) is None or USERS[user] != password:\n"
            '        return {"error": "wrong user name or password"}, 401'
        ),
        "L7",
    ),
    "!= on the encoded passwords": (
        login_with(
            check="known = USERS.get(user)\n"
            "    if known is None or known.encode() != password.encode():\n"
            '        return {"error": "wrong user name or password"}, 401'
        ),
        "L7",
    ),
    "the id before the rotation in the index": (
        login_with(
            move='old = session.id\n    session.rotate()\n    session.pop("csrf", None)',
            index="store.client.sadd(index_key(store, user), old)\n"
            "    store.client.expire(index_key(store, user), LIFETIME)",
        ),
        "L5",
    ),
    "an index that never expires": (
        login_with(index="store.client.sadd(index_key(store, user), session.id)"),
        "L5",
    ),
    "an index that expires with the idle timeout (log out everywhere misses live sessions)": (
        login_with(
            index="store.client.sadd(index_key(store, user), session.id)\n"
            "    store.client.expire(index_key(store, user), IDLE)"
        ),
        "L5",
    ),
    "an index that expires in a minute": (
        login_with(
            index="store.client.sadd(index_key(store, user), session.id)\n"
            "    store.client.expire(index_key(store, user), 60)"
        ),
        "L5",
    ),
    "an index that outlives every session": (
        login_with(
            index="store.client.sadd(index_key(store, user), session.id)\n"
            "    store.client.expire(index_key(store, user), 2 * LIFETIME)"
        ),
        "L5",
    ),
    "checkout without a login": (
        """
        def checkout():
            cart = session.pop("cart", {})
            total = sum(PRICES[item] * count for item, count in cart.items())
            flash(f"Order placed: {total:.2f} EUR")
            return redirect("/")
        """,
        "L6",
    ),
    "checkout's total not to the cent": (
        """
        def checkout():
            if "user" not in session:
                return {"error": "log in first"}, 401
            cart = session.pop("cart", {})
            total = sum(PRICES[item] * count for item, count in cart.items())
            flash(f"Order placed: {total} EUR")
            return redirect("/")
        """,
        "L6",
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_LOGINS))
def test_8_4_refuses_wrong_logins(answer: str, tmp_path: Path) -> None:
    source, rule = WRONG_LOGINS[answer]
    assert_wrong("8.4", shop_with(tmp_path, source), rule)


# -- 8.5: logout --------------------------------------------------------------------------
WRONG_LOGOUTS = {
    "only the user removed (lesson 6: not a logout)": 'session.pop("user", None)',
    "the session emptied, its id kept": "session.clear()",
    "a new empty session": "session.regenerate()",
    "a goodbye written after destroy()": 'session.destroy()\n    flash("You are logged out")',
    "the entry deleted behind the session's back": (
        'current_app.extensions["sessionlib"].store.destroy(session.id)'
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_LOGOUTS))
def test_8_5_refuses_wrong_logouts(answer: str, tmp_path: Path) -> None:
    source = f'def logout():\n    {WRONG_LOGOUTS[answer]}\n    return redirect("/")'
    assert_wrong("8.5", shop_with(tmp_path, source), "O1")


def test_8_5_a_logout_that_keeps_the_session_is_refused_by_name(tmp_path: Path) -> None:
    """Issue 14: removing `user` and keeping the session is not a logout."""
    shop = shop_with(
        tmp_path, 'def logout():\n    session.pop("user", None)\n    return redirect("/")'
    )
    result = outcome("8.5", shop)
    assert result.startswith(WRONG) and "deletes the cookie" in result, result


# -- 8.6: log out everywhere --------------------------------------------------------------
EVERYWHERE = """
def logout_everywhere():
    user = session.get("user")
    {anonymous}
    store = current_app.extensions["sessionlib"].store
    key = index_key(store, user)
    ended = 0
    for member in store.client.smembers(key):
        sid = member.decode()
        {end}
    store.client.delete(key)
    {finish}
    return {{"ended": ended}}
"""
ANONYMOUS = 'if user is None:\n        return {"error": "log in first"}, 401'
END = "if store.get(sid) is not None:\n            store.destroy(sid)\n            ended += 1"


def everywhere(**parts: str) -> str:
    return EVERYWHERE.format(
        **{"anonymous": ANONYMOUS, "end": END, "finish": "session.destroy()", **parts}
    )


SCANNED = """
def logout_everywhere():
    user = session.get("user")
    if user is None:
        return {{"error": "log in first"}}, 401
    store = current_app.extensions["sessionlib"].store
    ended = 0
    for key in {keys}:
        sid = key.decode().removeprefix(store.prefix)
        data = store.get(sid)
        if data is not None and data.get("user") == user:
            store.destroy(sid)
            ended += 1
    session.destroy()
    return {{"ended": ended}}
"""
WRONG_EVERYWHERES = {
    "sessions already ended counted": (
        everywhere(end="store.destroy(sid)\n        ended += 1"),
        "E2",
    ),
    "this session's cookie kept": (everywhere(finish="pass"), "E5"),
    "anonymous requests fail": (everywhere(anonymous="pass"), "E4"),
    "every session but this one": (
        everywhere(
            end="if sid != session.id and store.get(sid) is not None:\n"
            "            store.destroy(sid)\n            ended += 1"
        ),
        "E1",
    ),
    "every session in the store read": (
        """
        def logout_everywhere():
            user = session.get("user")
            if user is None:
                return {"error": "log in first"}, 401
            store = current_app.extensions["sessionlib"].store
            ended = 0
            for sid, data in store.all().items():
                if data.get("user") == user:
                    store.destroy(sid)
                    ended += 1
            session.destroy()
            return {"ended": ended}
        """,
        "E3",
    ),
    "a SCAN of the store's keys, made on the Redis client": (
        SCANNED.format(keys="store.client.scan_iter(match=store.prefix + '*')"),
        "E3",
    ),
    "KEYS on the Redis client": (
        SCANNED.format(keys="store.client.keys(store.prefix + '*')"),
        "E3",
    ),
}


@pytest.mark.parametrize("answer", sorted(WRONG_EVERYWHERES))
def test_8_6_refuses_wrong_logouts_everywhere(answer: str, tmp_path: Path) -> None:
    source, rule = WRONG_EVERYWHERES[answer]
    assert_wrong("8.6", shop_with(tmp_path, source), rule)


# -- the specification --------------------------------------------------------------------
def test_every_rule_of_the_spec_has_one_test_and_every_test_a_rule() -> None:
    rules = re.findall(r"^- \*\*([A-Z]\d)\*\*", SPEC.read_text(), flags=re.M)
    tests = [rule for rule, _ in lesson08.rules()]
    assert rules == tests, (rules, tests)


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(TESTS),
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.run(
        [*command, "-q", "-o", "addopts="],
        cwd=ROOT / "notebooks",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_solution_shop_passes_its_specification_under_pytest() -> None:
    done = _pytest({"SHOP_APP": str(SHOP)})
    rules = len(lesson08.rules())
    assert done.returncode == 0 and f"{rules} passed" in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
def test_against_a_url_the_spec_skips_only_the_rules_that_need_the_store(tmp_path: Path) -> None:
    shop = lesson08.spec_tests().start(shop_with(tmp_path).create_app, sessionlib)
    try:
        done = _pytest({"SHOP_URL": shop.url})
    finally:
        shop.server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(lesson08.rules()) - 5} passed, 5 skipped" in done.stdout, done.stdout


def test_the_notebooks_shop_cells_are_the_solution_shop() -> None:
    """Every definition of solutions/capstone/shop.py is in the notebook, the same code."""

    def definitions(source: str) -> dict[str, str]:
        found = {}
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = ast.dump(node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in target.elts if isinstance(target, ast.Tuple) else [target]:
                        found[name.id] = ast.dump(node)
        return found

    shop = definitions(SHOP.read_text())
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and not cell.source.startswith(("#|", "%")):
            try:
                cells.update(definitions(cell.source))
            except SyntaxError:
                continue
    differ = sorted(name for name in shop if cells.get(name) != shop[name])
    assert not differ, f"solutions/capstone/shop.py and the notebook differ in: {differ}"


def test_a_shop_not_built_yet_is_served_and_says_why() -> None:
    def unfinished(lib: Any, store: Any) -> Any:
        raise NotImplementedError()

    server = lesson08.serve_shop(unfinished, sessionlib, sessionlib.MemoryStore())
    try:
        answer = lesson08.shopper(server).get("/csrf")
    finally:
        server.stop()
    assert answer.status_code == 501 and "not written yet" in answer.text


def test_the_options_table_has_every_option_of_the_library() -> None:
    in_table = {ours for _, ours, *_ in lesson08.OPTIONS}
    assert set(lesson08.library_options(sessionlib)) == in_table


def test_a_partitioned_cookie_needs_the_string_none() -> None:
    chips = lesson08.first_cookies(
        sessionlib,
        [
            (
                "None",
                {"cookie": {"partitioned": True, "secure": True, "same_site": None}},
                "/shop/add",
            ),
            (
                '"None"',
                {"cookie": {"partitioned": True, "secure": True, "same_site": "None"}},
                "/shop/add",
            ),
        ],
    )
    assert lesson08.same_site(chips, 0) == "(none)"
    assert lesson08.same_site(chips, 1) == "None"


def test_the_quiz_has_about_five_questions_each_with_its_answer_among_the_choices() -> None:
    questions = _QUIZZES[8]
    assert 5 <= len(questions) <= 7
    for q in questions:
        assert q.answer in q.choices and q.why


def test_hints_are_revealed_one_at_a_time_after_a_failed_attempt(tmp_path: Path, capsys) -> None:
    from coursekit.exercises import _find

    _find("8.5").failures = _find("8.5").shown = 0
    shop = shop_with(
        tmp_path, 'def logout():\n    session.pop("user", None)\n    return redirect("/")'
    )
    coursekit.hint("8.5")
    assert "Try exercise 8.5 first" in capsys.readouterr().out
    coursekit.check("8.5", shop.create_app, sessionlib)
    coursekit.hint("8.5")
    assert "Hint 1/" in capsys.readouterr().out
