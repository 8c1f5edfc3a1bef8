"""Lesson 3's checks: the solution passes, a stub is "not done yet", and every plausible
wrong answer, written as a learner would write it, is refused; among them ``==`` instead
of ``hmac.compare_digest``, with or without the name ``compare_digest`` in the code.

Each answer is the solution cell of ``solutions/03_signing.ipynb`` with its hole filled in
differently (``support.package_with``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import support

from coursekit.exercises import PASS, TODO, WRONG, verdict

pytestmark = pytest.mark.lesson3

NOTEBOOK = "03_signing.ipynb"
SOLUTION = support.SOLUTIONS / NOTEBOOK
CELLS = {"3.1": "sign", "3.2": "unsign", "3.3": "cookie_value", "3.4": "id_from_cookie"}


def answer(exercise: str, body: str) -> tuple[str, str]:
    """The cell of ``exercise`` with ``body`` in its hole."""
    module, code = support.export_cell(NOTEBOOK, CELLS[exercise])
    return module, support.fill_hole(code, CELLS[exercise], body)


def judge(tmp_path: Path, exercise: str, body: str | None = None) -> str:
    cells = [] if body is None else [answer(exercise, body)]
    return verdict(exercise, support.package_with(tmp_path, *cells))


@pytest.mark.parametrize("exercise", sorted(CELLS))
def test_the_solution_passes(tmp_path, exercise):
    assert judge(tmp_path, exercise) == PASS


@pytest.mark.parametrize("exercise", sorted(CELLS))
def test_a_stub_is_not_done_yet(tmp_path, exercise):
    assert judge(tmp_path, exercise, "# YOUR CODE HERE\nraise NotImplementedError()") == TODO


# -- 3.1: sign ---------------------------------------------------------------------------

WRONG_SIGNS = {
    "keeps the padding": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha256")
        return value + "." + base64.b64encode(mac).decode()
    """,
    "URL-safe base64": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha256")
        return value + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")
    """,
    "hex": """
        key = secret.encode() if isinstance(secret, str) else secret
        return value + "." + hmac.new(key, value.encode(), "sha256").hexdigest()
    """,
    "key and message swapped": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(value.encode(), key, "sha256")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "a plain hash, no HMAC": """
        import hashlib

        key = secret.encode() if isinstance(secret, str) else secret
        mac = hashlib.sha256(key + value.encode()).digest()
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "SHA-1": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha1")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "the signature alone": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha256")
        return base64.b64encode(mac).decode().rstrip("=")
    """,
    "another separator": """
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha256")
        return value + ":" + base64.b64encode(mac).decode().rstrip("=")
    """,
    "a str secret only": """
        mac = hmac.digest(secret.encode(), value.encode(), "sha256")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "Latin-1, not UTF-8": """
        key = secret.encode("latin-1") if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode("latin-1"), "sha256")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "a str secret as Latin-1, the value as UTF-8": """
        key = secret.encode("latin-1") if isinstance(secret, str) else secret
        mac = hmac.digest(key, value.encode(), "sha256")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
    "the repr of the bytes secret": """
        mac = hmac.digest(str(secret).encode(), value.encode(), "sha256")
        return value + "." + base64.b64encode(mac).decode().rstrip("=")
    """,
}


@pytest.mark.parametrize("body", WRONG_SIGNS.values(), ids=WRONG_SIGNS.keys())
def test_wrong_signs_are_refused(tmp_path, body):
    assert judge(tmp_path, "3.1", body).startswith(WRONG)


def test_a_sign_with_hmac_new_passes(tmp_path):
    body = """
        import hashlib

        key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
        digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()
        return f"{value}.{base64.b64encode(digest).decode('ascii').rstrip('=')}"
    """
    assert judge(tmp_path, "3.1", body) == PASS


def test_a_wrong_sign_is_told_its_likely_mistake(tmp_path):
    assert "padding" in judge(tmp_path, "3.1", WRONG_SIGNS["keeps the padding"])
    assert "URL-safe" in judge(tmp_path, "3.1", WRONG_SIGNS["URL-safe base64"])
    assert "key" in judge(tmp_path, "3.1", WRONG_SIGNS["key and message swapped"])
    latin = judge(tmp_path, "3.1", WRONG_SIGNS["a str secret as Latin-1, the value as UTF-8"])
    assert "UTF-8" in latin


# -- 3.2: unsign -------------------------------------------------------------------------

LIST = "for secret in [secrets] if isinstance(secrets, (str, bytes)) else secrets:"
WRONG_UNSIGNS = {
    "== instead of compare_digest": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            if sign(value, secret) == signed:
                return value
        return None
    """,
    "== with a comment that names compare_digest": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            if sign(value, secret) == signed:  # as safe as hmac.compare_digest
                return value
        return None
    """,
    "== beside a call of compare_digest whose answer is ignored": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            expected = sign(value, secret)
            hmac.compare_digest(expected.encode(), signed.encode())
            if expected == signed:
                return value
        return None
    """,
    "compare_digest and then == as well": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            expected = sign(value, secret)
            if hmac.compare_digest(expected.encode(), signed.encode()) and expected == signed:
                return value
        return None
    """,
    "compare_digest on something else than the signature": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            same = sign(value, secret) == signed
            if hmac.compare_digest(b"yes", b"yes" if same else b"no"):
                return value
        return None
    """,
    "compare_digest on str (crashes on other characters)": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            if hmac.compare_digest(sign(value, secret), signed):
                return value
        return None
    """,
    "splits at the first dot": f"""
        value, dot, _ = signed.partition(".")
        if not dot:
            return None
        {LIST}
            if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
                return value
        return None
    """,
    "tries only the first secret": """
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        secret = secrets if isinstance(secrets, (str, bytes)) else secrets[0]
        if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
            return value
        return None
    """,
    "a str secret taken for a list of secrets": """
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        for secret in secrets:
            if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
                return value
        return None
    """,
    "no dot, no answer": f"""
        value, signature = signed.rsplit(".", 1)
        {LIST}
            if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
                return value
        return None
    """,
    "compares only as much as was expected": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            expected = sign(value, secret).encode()
            if hmac.compare_digest(expected, signed.encode()[: len(expected)]):
                return value
        return None
    """,
    "forgives padding": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            if hmac.compare_digest(sign(value, secret).encode(), signed.rstrip("=").encode()):
                return value
        return None
    """,
    "returns True": f"""
        value, dot, _ = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
                return True
        return None
    """,
}


@pytest.mark.parametrize("body", WRONG_UNSIGNS.values(), ids=WRONG_UNSIGNS.keys())
def test_wrong_unsigns_are_refused(tmp_path, body):
    assert judge(tmp_path, "3.2", body).startswith(WRONG)


def test_equals_is_refused_because_of_what_it_does_not_of_its_text(tmp_path):
    plain = judge(tmp_path, "3.2", WRONG_UNSIGNS["== instead of compare_digest"])
    commented = judge(tmp_path, "3.2", WRONG_UNSIGNS["== with a comment that names compare_digest"])
    assert "never called hmac.compare_digest" in plain
    assert "never called hmac.compare_digest" in commented
    decorated = judge(
        tmp_path, "3.2", WRONG_UNSIGNS["== beside a call of compare_digest whose answer is ignored"]
    )
    assert "compare_digest's answer alone" in decorated


def test_unsigns_comparing_just_the_signatures_pass(tmp_path):
    body = f"""
        value, dot, signature = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            expected = sign(value, secret).rpartition(".")[2]
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return value
        return None
    """
    assert judge(tmp_path, "3.2", body) == PASS
    body = f"""
        import secrets as randomness

        value, dot, signature = signed.rpartition(".")
        if not dot:
            return None
        {LIST}
            expected = sign(value, secret).rpartition(".")[2]
            if randomness.compare_digest(expected.encode(), signature.encode()):
                return value
        return None
    """
    assert judge(tmp_path, "3.2", body) == PASS


# -- 3.3: cookie_value ---------------------------------------------------------------------

WRONG_COOKIE_VALUES = {
    "not encoded": 'return "s:" + sign(sid, secret)',
    "quote's default keeps /": 'return quote("s:" + sign(sid, secret))',
    "s: left unencoded": 'return "s:" + quote(sign(sid, secret), safe=URI_SAFE)',
    "no s:": "return quote(sign(sid, secret), safe=URI_SAFE)",
    "decoded instead of encoded": 'return unquote("s:" + sign(sid, secret))',
    "the first character of the secret": 'return quote("s:" + sign(sid, secret[0]), safe=URI_SAFE)',
    "s: after the signing": 'return quote(sign("s:" + sid, secret), safe=URI_SAFE)',
}


@pytest.mark.parametrize("body", WRONG_COOKIE_VALUES.values(), ids=WRONG_COOKIE_VALUES.keys())
def test_wrong_cookie_values_are_refused(tmp_path, body):
    assert judge(tmp_path, "3.3", body).startswith(WRONG)


def test_any_encoding_that_gives_express_sessions_bytes_passes(tmp_path):
    body = """
        from urllib.parse import quote_plus

        return quote_plus("s:" + sign(sid, secret))
    """
    assert judge(tmp_path, "3.3", body) == PASS


# -- 3.4: id_from_cookie -------------------------------------------------------------------


def reads(decode: str = 'unquote(value, errors="strict")', prefix: str = "", tail: str = "") -> str:
    """An id_from_cookie, one step changed."""
    return f"""
        try:
            text = {decode}
        except UnicodeDecodeError:
            return None, "unsigned"
        {prefix or 'if not text.startswith("s:"):'}
            return None, "unsigned"
        sid = unsign(text[2:], secrets)
        if sid is None:
            return None, "bad_signature"
        """ + (
        tail
        or """
        if not ID_PATTERN.fullmatch(sid):
            return None, "invalid_id"
        return sid, None
        """
    )


WRONG_READS = {
    "not percent-decoded": reads(decode="value"),
    "decoded leniently": reads(decode="unquote(value)"),
    "s: never checked": reads(prefix="if False:"),
    "any two characters taken for s:": reads(prefix="if len(text) < 2:"),
    "ID_PATTERN.match": reads(
        tail="""
        if not ID_PATTERN.match(sid):
            return None, "invalid_id"
        return sid, None
        """
    ),
    "no check of the id": reads(tail="return sid, None"),
    "the id alone, no reason": reads(
        tail="""
        if not ID_PATTERN.fullmatch(sid):
            return None, "invalid_id"
        return sid
        """
    ),
    "only the first secret": """
        try:
            text = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None, "unsigned"
        if not text.startswith("s:"):
            return None, "unsigned"
        sid = unsign(text[2:], secrets[0])
        if sid is None:
            return None, "bad_signature"
        if not ID_PATTERN.fullmatch(sid):
            return None, "invalid_id"
        return sid, None
    """,
    "lstrip('s:'), which refuses every id that starts with s": """
        try:
            text = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None, "unsigned"
        if not text.startswith("s:"):
            return None, "unsigned"
        sid = unsign(text.lstrip("s:"), secrets)
        if sid is None:
            return None, "bad_signature"
        if not ID_PATTERN.fullmatch(sid):
            return None, "invalid_id"
        return sid, None
    """,
    "the id's shape before its signature": """
        try:
            text = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None, "unsigned"
        if not text.startswith("s:"):
            return None, "unsigned"
        if not ID_PATTERN.fullmatch(text[2:].rpartition(".")[0]):
            return None, "invalid_id"
        sid = unsign(text[2:], secrets)
        if sid is None:
            return None, "bad_signature"
        return sid, None
    """,
    "reasons of its own": """
        text = unquote(value)
        if not text.startswith("s:"):
            return None, "no prefix"
        sid = unsign(text[2:], secrets)
        if sid is None or not ID_PATTERN.fullmatch(sid):
            return None, "tampered"
        return sid, None
    """,
}


@pytest.mark.parametrize("body", WRONG_READS.values(), ids=WRONG_READS.keys())
def test_wrong_id_from_cookies_are_refused(tmp_path, body):
    assert judge(tmp_path, "3.4", body).startswith(WRONG)


def test_lstrip_is_told_it_strips_characters_not_the_prefix(tmp_path):
    body = WRONG_READS["lstrip('s:'), which refuses every id that starts with s"]
    assert "strips characters, not the prefix" in judge(tmp_path, "3.4", body)


def test_the_hole_filled_by_reads_is_the_solution(tmp_path):
    assert judge(tmp_path, "3.4", reads()) == PASS


# -- the notebook and the quiz ---------------------------------------------------------------


def test_every_hole_is_followed_by_its_check_and_every_check_is_in_the_lesson():
    from coursekit.exercises import _EXERCISES

    cells = [c.source for c in nbformat.read(SOLUTION, as_version=4).cells if c.cell_type == "code"]
    checked = set(re.findall(r'coursekit\.check\("(\d+\.\d+)"', "\n".join(cells)))
    for source, following in zip(cells, cells[1:], strict=False):
        if "### BEGIN SOLUTION" in source:
            assert "coursekit.check(" in following, source[:60]
    assert checked == {id for id in _EXERCISES if id.startswith("3.")} == set(CELLS)


def test_the_quiz_marks_the_right_answers_right(capsys):
    from coursekit.exercises import _QUIZZES, quiz

    quiz(3)
    questions = _QUIZZES[3]
    assert 5 <= len(questions) <= 7
    quiz(3, {n: q.answer for n, q in enumerate(questions, start=1)})
    assert f"{len(questions)}/{len(questions)} right" in capsys.readouterr().out
