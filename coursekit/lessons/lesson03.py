"""Lesson 3, signing: the lesson's app and timing table, its checks and hints, and its quiz.

The exercises are the holes in ``sessionlib/signing.py``: ``sign`` (3.1), ``unsign`` (3.2),
``cookie_value`` (3.3) and ``id_from_cookie`` (3.4). Each check looks at one function: the
one it calls from the same module (``sign`` in ``unsign``, ...) is replaced for the check by
an independent implementation, so that a slip in one exercise shows in that one only.
The constant-time comparison is checked by what ``unsign`` does, not by its text:
``hmac.compare_digest`` is replaced by one that records its calls, then by one that lies.

Known answers, from the reference implementations' own test suites (as in tests/test_signing.py):
cookie-signature ``test/index.js`` (``sign('hello', 'tobiiscool')``) and express-session
``test/session.js`` ("genid option should allow custom function": the cookie of id ``apple``
under the secret ``keyboard cat``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import quote, unquote

import flask

from ..exercises import exercise, judged, question
from ..table import Table

__all__ = ["make_app"]

HELLO_SIGNED = "hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"  # cookie-signature
APPLE_COOKIE_VALUE = "s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU"  # express
URI_SAFE = "-_.!~*'()"  # what encodeURIComponent leaves as it is, besides letters and digits
COOKIE = "sid"  # the session cookie's name in the lesson's app


# -- the lesson's live app -------------------------------------------------------------


def make_app(lib: ModuleType, store: Any, secret: Any, **options: Any) -> flask.Flask:
    """The lesson's app on ``lib`` and ``store``, cookie ``sid`` living an hour:
    ``/login?user=...`` (GET or POST) remembers a name, ``/whoami`` says it back."""
    app = flask.Flask("lesson03")
    lib.SessionManager(
        app, secret=secret, name=COOKIE, store=store, cookie={"max_age": 3600}, **options
    )

    @app.route("/login", methods=["GET", "POST"])
    def login():
        flask.session["user"] = flask.request.args["user"]
        return f"hello {flask.session['user']}"

    @app.get("/whoami")
    def whoami():
        return flask.session.get("user", "anonymous")

    return app


def rejection_times(comparisons: dict[str, Callable[[bytes, bytes], bool]], real: bytes) -> Table:
    """Time each comparison rejecting a signature wrong in its first byte, then its last."""
    wrong_first = bytes([real[0] ^ 1]) + real[1:]
    wrong_last = real[:-1] + bytes([real[-1] ^ 1])

    def nanoseconds(compare: Callable[[bytes, bytes], bool], other: bytes) -> float:
        runs = timeit.repeat(lambda: compare(real, other), number=2000, repeat=5)
        return min(runs) / 2000 * 1e9

    rows = [
        [name, f"{nanoseconds(fn, wrong_first):.0f}", f"{nanoseconds(fn, wrong_last):.0f}"]
        for name, fn in comparisons.items()
    ]
    return Table(
        ["comparison", "wrong at the first byte (ns)", "wrong at the last byte (ns)"],
        rows,
        "Time to reject a wrong signature (this machine, this run)",
    )


# -- independent answers, for the checks ---------------------------------------------------


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def reference_sign(value: str, secret: str | bytes) -> str:
    """cookie-signature's ``sign``, written out independently of any package."""
    mac = hmac.new(_key(secret), value.encode(), hashlib.sha256).digest()
    return value + "." + base64.b64encode(mac).decode().rstrip("=")


def reference_unsign(signed: str, secrets_: Any) -> str | None:
    value, dot, _ = signed.rpartition(".")
    if not dot:
        return None
    for secret in [secrets_] if isinstance(secrets_, (str, bytes)) else secrets_:
        if _equal(reference_sign(value, secret), signed):
            return value
    return None


def _equal(a: str, b: str) -> bool:
    """Constant-time equality that no spy on ``hmac.compare_digest`` sees."""
    x, y = a.encode(), b.encode()
    return len(x) == len(y) and not any(p ^ q for p, q in zip(x, y, strict=True))


@contextmanager
def _replaced(module: ModuleType, name: str, value: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


# -- exercise 3.1: sign ------------------------------------------------------------------


def _sign_mistake(got: Any, value: str, secret: str) -> str:
    """What a wrong signature most likely got wrong."""
    key, message = secret.encode(), value.encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()

    def signed(digest: bytes) -> str:
        return f"{value}.{base64.b64encode(digest).decode().rstrip('=')}"

    known = {
        f"{value}.{base64.b64encode(mac).decode()}": "drop base64's '=' padding (rstrip('='))",
        f"{value}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}": (
            "use standard base64 (+ and /), not the URL-safe alphabet"
        ),
        f"{value}.{mac.hex()}": "base64 the 32 bytes of the HMAC, not their hex",
        signed(hmac.new(message, key, hashlib.sha256).digest()): (
            "the secret is the HMAC's key and the value its message: "
            "hmac.digest(key, message, 'sha256')"
        ),
        signed(hashlib.sha256(key + message).digest()): (
            "an HMAC, not a plain hash of the secret and the value"
        ),
        signed(hmac.new(key, message, hashlib.sha1).digest()): "HMAC-SHA256, not SHA-1",
        signed(mac).partition(".")[2]: "return the value, a dot, then the signature",
    }
    return known.get(got, "")


@exercise(
    "3.1",
    "sign",
    [
        "The three steps of the walk-through: the HMAC-SHA256 of the value under the secret, "
        "its base64, without the '=' padding; then value + '.' + that.",
        "A str secret becomes bytes with .encode() (UTF-8); a bytes secret is used as it is. "
        "The value is a str: encode it too.",
        "hmac.digest(key, message, 'sha256') gives the 32 bytes; base64.b64encode(...).decode() "
        "gives text.",
    ],
)
def check_sign(lib: ModuleType) -> None:
    sign = judged(lib, "sign").signing.sign
    got = sign("hello", "tobiiscool")
    assert got == HELLO_SIGNED, (
        f"sign('hello', 'tobiiscool') gave {got!r}; cookie-signature's tests expect "
        f"{HELLO_SIGNED!r}. " + _sign_mistake(got, "hello", "tobiiscool")
    ).strip()
    cookie = "s:" + sign("apple", "keyboard cat")
    assert cookie == unquote(APPLE_COOKIE_VALUE), (
        f"'s:' + sign('apple', 'keyboard cat') gave {cookie!r}, not express-session's cookie"
    )
    for value in ["", "a.b.c", "café ☕", "x" * 300, "s:with:colons"]:
        got, want = sign(value, "s3cret"), reference_sign(value, "s3cret")
        assert got == want, (
            f"sign({value[:20]!r}, 's3cret') gave {got[:60]!r}, expected {want[:60]!r}: encode "
            "the value and the secret as UTF-8"
        )
    for secret in ["clé", "clé ☕"]:
        got, want = sign("hello", secret), reference_sign("hello", secret)
        assert got == want, (
            f"sign('hello', {secret!r}) gave {got[:60]!r}, expected {want[:60]!r}: encode a str "
            "secret as UTF-8 (.encode()), as Node's createHmac reads a string"
        )
    assert sign("hello", b"tobiiscool") == HELLO_SIGNED, (
        "a bytes secret (Flask's SECRET_KEY may be bytes) must sign as its text does: use it "
        "as the key as it is"
    )
    binary = bytes(range(256))
    assert sign("sid", binary) == reference_sign("sid", binary), "a secret of any bytes"


# -- exercise 3.2: unsign ----------------------------------------------------------------

FORGED = [
    "hellp.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI",  # the value changed
    "hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QJ",  # the signature changed
    "hello!.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI",  # the value extended
    HELLO_SIGNED + "A",  # the signature extended
    HELLO_SIGNED + "=",  # padding added
    HELLO_SIGNED[:-1],  # cut short
    HELLO_SIGNED[:-20],
    "hello.",  # no signature
    "hello",  # no dot
    "",
    ".DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI",  # no value
    HELLO_SIGNED.upper(),
    "hello." + "é" * 43,  # not ASCII: must be refused, not crash
]


@contextmanager
def _compare_digest(answer: bool | None = None) -> Iterator[list[tuple[Any, Any]]]:
    """``hmac.compare_digest`` (and ``secrets.compare_digest``, the same function) replaced
    by one that records its arguments and, when ``answer`` is given, says that instead."""
    real, calls = hmac.compare_digest, []

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        result = real(a, b)
        return result if answer is None else answer

    hmac.compare_digest = secrets.compare_digest = spy
    try:
        yield calls
    finally:
        hmac.compare_digest = secrets.compare_digest = real


def _as_text(item: Any) -> Any:
    return item.decode("latin-1") if isinstance(item, (bytes, bytearray)) else item


@exercise(
    "3.2",
    "unsign",
    [
        "value, dot, _ = signed.rpartition('.'): the last dot, since a value may hold dots. "
        "No dot: not signed, return None.",
        "secrets is one secret (a str or bytes) or a list of them: make it a list first, "
        "[secrets] if isinstance(secrets, (str, bytes)) else secrets. A str is not a list of "
        "secrets, however iterable.",
        "For each secret, compare sign(value, secret) with signed using hmac.compare_digest "
        "on bytes (.encode() both): its answer alone decides.",
    ],
)
def check_unsign(lib: ModuleType) -> None:
    signing = judged(lib, "unsign").signing
    unsign = signing.unsign
    with _replaced(signing, "sign", reference_sign):  # a slip in sign shows in 3.1 only
        got = unsign(HELLO_SIGNED, "tobiiscool")
        if got is None and unsign(HELLO_SIGNED, ["tobiiscool"]) == "hello":
            raise AssertionError(
                "unsign(signed, 'tobiiscool') gave None: one secret given as a str is one "
                "secret, not a list of characters (put it in a list first)"
            )
        assert got == "hello", f"unsign({HELLO_SIGNED!r}, 'tobiiscool') gave {got!r}, not 'hello'"
        assert unsign(HELLO_SIGNED, "luna") is None, "a wrong secret must not verify"
        assert unsign(HELLO_SIGNED, ["luna", "tobiiscool"]) == "hello", (
            "with a list of secrets, any of them may have signed (rotation: the old one verifies)"
        )
        assert unsign(HELLO_SIGNED, ["tobiiscool", "luna"]) == "hello", "the first secret too"
        assert unsign(HELLO_SIGNED, ["luna"]) is None, "a list of wrong secrets verifies nothing"
        assert unsign(HELLO_SIGNED, b"tobiiscool") == "hello", "one bytes secret"
        assert unsign(HELLO_SIGNED, [b"luna", b"tobiiscool"]) == "hello", "a list of bytes"
        dotted = reference_sign("a.b.c", "k")
        assert unsign(dotted, "k") == "a.b.c", (
            f"unsign({dotted!r}, 'k') gave {unsign(dotted, 'k')!r}: split at the LAST dot"
        )
        unicode = reference_sign("café ☕", "k")
        assert unsign(unicode, "k") == "café ☕", "a value of any text (compare bytes)"
        for forged in FORGED:
            assert unsign(forged, "tobiiscool") is None, (
                f"unsign({forged[:50]!r}, 'tobiiscool') accepted a forgery: the whole signed "
                "text must match, byte for byte"
            )

        tampered = HELLO_SIGNED[:-1] + "J"
        with _compare_digest() as calls:
            unsign(tampered, "tobiiscool")
        assert calls, (
            "unsign never called hmac.compare_digest: `==` stops at the first character that "
            "differs, so its time tells an attacker how much of a forged signature is right"
        )
        expected = {HELLO_SIGNED, HELLO_SIGNED.rpartition(".")[2]}
        expected.add(_as_text(base64.b64decode(HELLO_SIGNED.rpartition(".")[2] + "=")))
        assert any({_as_text(a), _as_text(b)} & expected for a, b in calls), (
            "hmac.compare_digest was called, but not on the signature: compare the signature "
            "you computed with the one that came in"
        )
        with _compare_digest(answer=False):
            trusted = unsign(HELLO_SIGNED, "tobiiscool")
        assert trusted is None, (
            "unsign accepted a signature that hmac.compare_digest called wrong, so something "
            "else decided (`==`?): let compare_digest's answer alone decide"
        )
        with _compare_digest(answer=True):
            trusted = unsign(tampered, ["luna", "tobiiscool"])
        assert trusted == "hello", (
            "unsign refused a signature that hmac.compare_digest accepted, so something else "
            "decided (`==`?): let compare_digest's answer alone decide"
        )


# -- exercise 3.3: cookie_value --------------------------------------------------------------


@exercise(
    "3.3",
    "cookie_value",
    [
        "express-session's cookie: 's:' + sign(sid, secret), the whole of it percent-encoded.",
        "urllib.parse.quote keeps '/' unless told otherwise; encodeURIComponent encodes it. "
        "quote(text, safe=URI_SAFE) leaves exactly what encodeURIComponent leaves.",
    ],
)
def check_cookie_value(lib: ModuleType) -> None:
    signing = judged(lib, "cookie_value").signing
    with _replaced(signing, "sign", reference_sign):
        got = signing.cookie_value("apple", "keyboard cat")
        signed = reference_sign("apple", "keyboard cat")
        mistakes = {
            "s:" + signed: "percent-encode it, as encodeURIComponent does (quote)",
            quote("s:" + signed): "quote's default keeps '/'; encodeURIComponent encodes it: "
            "pass safe=URI_SAFE",
            "s:" + quote(signed, safe=URI_SAFE): "encode the whole value, 's:' included "
            "(':' is %3A)",
            quote(signed, safe=URI_SAFE): "express-session writes 's:' before the signed id",
        }
        assert got == APPLE_COOKIE_VALUE, (
            f"cookie_value('apple', 'keyboard cat') gave {got!r}; express-session sends "
            f"{APPLE_COOKIE_VALUE!r}. " + mistakes.get(got, "")
        ).strip()
        for n in range(20):
            sid = f"id{n}-x_{n * 7}"
            want = quote("s:" + reference_sign(sid, "s3cret"), safe=URI_SAFE)
            assert signing.cookie_value(sid, "s3cret") == want, f"the cookie of {sid!r}"
        assert signing.cookie_value("apple", b"keyboard cat") == APPLE_COOKIE_VALUE, (
            "a bytes secret signs as its text does"
        )


# -- exercise 3.4: id_from_cookie -------------------------------------------------------------


def _cookie(sid: str, secret: str = "keyboard cat") -> str:
    return quote("s:" + reference_sign(sid, secret), safe=URI_SAFE)


@exercise(
    "3.4",
    "id_from_cookie",
    [
        "In order: percent-decode with unquote(value, errors='strict') (a UnicodeDecodeError "
        "means 'unsigned'); no 's:' at the start: 'unsigned'; unsign(text[2:], secrets) is "
        "None: 'bad_signature'; the id doesn't fullmatch ID_PATTERN: 'invalid_id'.",
        "Return a pair every time: (sid, None), or (None, the reason).",
        "ID_PATTERN.fullmatch, not .match: match accepts 'apple!' because 'apple' matches.",
    ],
)
def check_id_from_cookie(lib: ModuleType) -> None:
    signing = judged(lib, "id_from_cookie").signing
    read = signing.id_from_cookie
    with _replaced(signing, "unsign", reference_unsign):
        got = read(APPLE_COOKIE_VALUE, ["keyboard cat"])
        assert got == ("apple", None), (
            f"id_from_cookie(express's cookie for 'apple', ['keyboard cat']) gave {got!r}, not "
            "('apple', None)"
        )
        assert read(unquote(APPLE_COOKIE_VALUE), ["keyboard cat"]) == ("apple", None), (
            "a value that needs no decoding reads as it is"
        )
        old = _cookie("ada-session", "old secret")
        assert read(old, ["new secret", "old secret"]) == ("ada-session", None), (
            "every secret in the list verifies (rotation)"
        )
        known, retired = ["keyboard cat"], ["new secret"]
        cases = [
            (_cookie("apples").replace("apples", "apple"), known, "bad_signature", "a tampered id"),
            (old, retired, "bad_signature", "a secret no longer in the list"),
            (unquote(APPLE_COOKIE_VALUE)[2:], known, "unsigned", "a signed id without 's:'"),
            ("j%3A" + APPLE_COOKIE_VALUE[4:], known, "unsigned", "another prefix than 's:'"),
            ("apple", known, "unsigned", "a bare id"),
            ("%ff%fe", known, "unsigned", "bytes that are not UTF-8"),
            ("s%3Aapple%ff." + "x" * 43, known, "unsigned", "bytes that are not UTF-8, after s:"),
            (_cookie("not an id!"), known, "invalid_id", "a signed value that is no id"),
            (_cookie("apple!"), known, "invalid_id", "an id with a character ids never have"),
            (_cookie("a" * 129), known, "invalid_id", "an id of 129 characters"),
            ("s%3Anot%20an%20id!.forged", known, "bad_signature", "a forged value that is no id"),
        ]
        for value, secrets_, reason, what in cases:
            got = read(value, secrets_)
            assert got == (None, reason), (
                f"{what} ({value[:40]}…) gave {got!r}, expected (None, {reason!r})"
            )
        assert read(_cookie("a" * 128), ["keyboard cat"]) == ("a" * 128, None), (
            "an id may have up to 128 characters"
        )
        got = read(_cookie("s-session"), ["keyboard cat"])
        assert got == ("s-session", None), (
            f"the cookie of the id 's-session' gave {got!r}: an id starting with 's' was "
            "refused. lstrip('s:') strips characters, not the prefix; take text[2:]"
        )


# -- the quiz --------------------------------------------------------------------------

question(
    3,
    "What follows the dot in a value signed by cookie-signature (and sessionlib.sign)?",
    {
        "a": "the hex SHA-256 of the secret and the value",
        "b": "the base64 HMAC-SHA256 of the value under the secret, without '=' padding",
        "c": "the value encrypted with the secret",
    },
    "b",
    "An HMAC with the secret as key; base64 with its padding dropped. Nothing is encrypted: "
    "the id stays readable, it just can't be changed.",
)
question(
    3,
    "Why does unsign split at the last dot?",
    {
        "a": "the value may contain dots; base64 never does",
        "b": "the first dot is the prefix's",
        "c": "to be faster",
    },
    "a",
    "The signature is base64 (letters, digits, + and /), so the last dot is where it begins.",
)
question(
    3,
    "Why compare signatures with hmac.compare_digest rather than ==?",
    {
        "a": "== can't compare bytes",
        "b": "compare_digest is faster",
        "c": "its time doesn't depend on where the first difference is, so timing reveals "
        "nothing about how much of a forged signature is right",
    },
    "c",
    "== stops at the first difference; compare_digest looks at every byte.",
)
question(
    3,
    "A request arrives with a cookie whose signature is wrong. What does the server do?",
    {
        "a": "asks the store whether the id exists, then refuses",
        "b": "answers 400 Bad Request",
        "c": "gives the request a fresh, empty session without asking the store",
    },
    "c",
    "A bad signature is refused before any store call (the Recorder showed none): garbage "
    "cookies cost the store nothing, and the user just isn't logged in.",
)
question(
    3,
    "You rotate with secret=[new, old]. Which statement is right?",
    {
        "a": "cookies are signed with new, and those signed with old still verify",
        "b": "cookies are signed with old until every user has logged in again",
        "c": "every user is logged out once",
    },
    "a",
    "The first secret signs, all of them verify; drop old once no live cookie carries it.",
)
question(
    3,
    "Why is the cookie's value percent-encoded as encodeURIComponent does?",
    {
        "a": "browsers refuse ':' in cookies",
        "b": "so that the bytes are express-session's, and an Express app reads the cookie "
        "as it reads its own",
        "c": "to hide the session id",
    },
    "b",
    "express-session writes s:<id>.<signature> through encodeURIComponent; sessionlib writes "
    "the same bytes, so both read each other's cookies.",
)
