"""Hostile input: whatever a client sends as ``Cookie`` and whatever a store holds, the
answer is a normal response, a bad signature costs no store lookup, nothing is written,
and a corrupt or oversized session never reaches a user or the store.

The property tests drive the app in-process through raw WSGI, so a ``Cookie`` header can
be any string a server could hand over (PEP 3333: latin-1 text), and tens of thousands of
headers run in a few seconds.
"""

from __future__ import annotations

import io
import logging
import random
import string
from collections import Counter
from collections.abc import Collection
from typing import Any

import pytest
from flask import Flask, session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SECRET, express_cookie
from werkzeug.test import EnvironBuilder

import sessionlib
from sessionlib import SessionTooLarge
from sessionlib.engine import finish, open_session
from sessionlib.signing import cookie_value
from sessionlib.stores.base import SessionData

DEFAULT_MAX_SIZE = 1024 * 1024  # 1 MiB of JSON

pytestmark = pytest.mark.lesson6

NAME = "sid"
VALID_ID = "abcdefghijklmnopqrstuvwxyz012345"  # 32 URL-safe characters, like a real id


# -- a store that counts what is asked of it ------------------------------------------
class CountingStore(sessionlib.Store):
    """A ``Store`` over a ``MemoryStore`` that counts every call by method name; unlike
    ``support.CountingStore`` it sees ``merge``, ``all`` and ``clear`` too, and counts
    every call that changes the store as a write."""

    touches_on_get = True
    READS = ("get", "get_and_touch", "all", "length")
    WRITES = ("set", "touch", "destroy", "merge", "clear")

    def __init__(self) -> None:
        self.inner = sessionlib.MemoryStore()
        self.calls: Counter[str] = Counter()
        self.keys: list[str] = []

    def _count(self, operation: str, sid: str | None = None) -> None:
        self.calls[operation] += 1
        if sid is not None:
            self.keys.append(sid)

    @property
    def reads(self) -> int:
        return sum(self.calls[name] for name in self.READS)

    @property
    def writes(self) -> int:
        return sum(self.calls[name] for name in self.WRITES)

    def reset(self) -> None:
        self.calls.clear()
        self.keys.clear()

    def get(self, sid: str) -> SessionData | None:
        self._count("get", sid)
        return self.inner.get(sid)

    def get_and_touch(self, sid: str, ttl: float | None) -> SessionData | None:
        self._count("get_and_touch", sid)
        return self.inner.get_and_touch(sid, ttl)

    def set(self, sid: str, data: SessionData) -> None:
        self._count("set", sid)
        self.inner.set(sid, data)

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> None:
        self._count("merge", sid)
        self.inner.merge(sid, data, changed, removed)

    def touch(self, sid: str, data: SessionData) -> None:
        self._count("touch", sid)
        self.inner.touch(sid, data)

    def destroy(self, sid: str) -> None:
        self._count("destroy", sid)
        self.inner.destroy(sid)

    def all(self) -> dict[str, SessionData]:
        self._count("all")
        return self.inner.all()

    def clear(self) -> None:
        self._count("clear")
        self.inner.clear()


def make_app(store: sessionlib.Store, **options: Any) -> Flask:
    """An app whose ``/`` reads the session (forcing a load) and never changes it."""
    app = Flask(__name__)
    app.testing = True  # an exception in the app fails the test with its traceback
    sessionlib.SessionManager(app, secret=SECRET, name=NAME, store=store, **options)

    @app.get("/")
    def read() -> str:
        return f"{session.id}|{session.get('n')}"

    @app.post("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    return app


_BASE_ENVIRON = EnvironBuilder(path="/", method="GET").get_environ()


def wsgi_get(app: Flask, cookie_header: str | None) -> tuple[int, dict[str, list[str]], str]:
    """GET / with a raw ``HTTP_COOKIE`` environ value; (status, headers, body)."""
    environ = dict(_BASE_ENVIRON)
    environ["wsgi.input"] = io.BytesIO(b"")
    if cookie_header is not None:
        environ["HTTP_COOKIE"] = cookie_header
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    body = b"".join(app(environ, start_response)).decode()
    collected: dict[str, list[str]] = {}
    for key, value in captured["headers"]:
        collected.setdefault(key.lower(), []).append(value)
    return int(captured["status"].split()[0]), collected, body


STORE = CountingStore()
APP = make_app(STORE)


def fetch(cookie_header: str) -> tuple[int, dict[str, list[str]], str]:
    STORE.reset()
    return wsgi_get(APP, cookie_header)


def assert_untouched_new_session(cookie_header: str) -> None:
    """Normal response, a fresh session, no store lookup and no store write."""
    status, headers, body = fetch(cookie_header)
    assert status == 200, (cookie_header[:200], body[:200])
    assert STORE.reads == 0, (cookie_header[:200], dict(STORE.calls))
    assert STORE.writes == 0, (cookie_header[:200], dict(STORE.calls))
    assert "set-cookie" not in headers  # an unmodified new session is not cookied
    assert body.endswith("|None")


PROPERTY_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def latin1(data: bytes) -> str:
    """What a WSGI server hands over for the raw header bytes (PEP 3333)."""
    return data.decode("latin-1")


# -- 1. random bytes and text ---------------------------------------------------------
@settings(PROPERTY_SETTINGS, max_examples=3500)
@given(st.binary(max_size=400))
def test_random_bytes_as_cookie_header_start_a_new_session_without_store_access(
    raw: bytes,
) -> None:
    assert_untouched_new_session(latin1(raw))


@settings(PROPERTY_SETTINGS, max_examples=2500)
@given(st.text(max_size=300))
def test_random_unicode_as_cookie_header_start_a_new_session_without_store_access(
    text: str,
) -> None:
    assert_untouched_new_session(latin1(text.encode("utf-8", "surrogatepass")))


# -- 2. forged, mutated and junk cookie values ----------------------------------------
# Hypothesis picks the kinds of damage, the names and the separators; a seeded
# ``random.Random`` fills in ids and junk, which keeps an example well under a millisecond.
ID_CHARS = string.ascii_letters + string.digits + "_-"
PERCENT_JUNK = ["%", "%z", "%zz", "%G0", "%C3%28", "%00", "%2", "%%", "%E2%82", "%FF", "%u00e9"]
DAMAGE = [
    "truncated",
    "padded",
    "extended",
    "flipped",
    "wrong_secret",
    "other_ids_signature",
    "unsigned",
    "no_prefix",
    "percent_junk",
    "forged",
    "junk",
]
NAMES = [NAME, NAME, NAME, "SID", " sid", "other", "connect.sid", ""]
SEPARATORS = ["; ", ";", ", ", "&", ";;", " ; "]


def random_text(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def damaged_value(kind: str, rng: random.Random) -> str:
    """A cookie value that must not verify: each kind breaks a correct cookie one way."""
    sid = VALID_ID if rng.random() < 0.2 else random_text(rng, ID_CHARS, 1, 40)
    good = express_cookie(sid)
    if kind == "truncated":
        return good[: rng.randrange(len(good))]
    if kind == "padded":
        # (Whitespace around a value is not part of it: parsers trim it, as browsers do.)
        return good + rng.choice(["=", "==", "%3D", "%3D%3D", "%20", "%09"])
    if kind == "extended":
        return good + random_text(rng, ID_CHARS + "+/=.%", 1, 10)
    if kind == "flipped":
        position = rng.randrange(len("s%3A"), len(good))
        # Not a change of case alone: in a percent escape (%2F, %2f) that is the same byte.
        replacement = rng.choice(
            [c for c in ID_CHARS + "+/." if c.lower() != good[position].lower()]
        )
        return good[:position] + replacement + good[position + 1 :]
    if kind == "wrong_secret":
        return express_cookie(sid, SECRET + random_text(rng, string.printable, 1, 5))
    if kind == "other_ids_signature":
        signature = sessionlib.sign(sid + rng.choice(ID_CHARS), SECRET).rpartition(".")[2]
        return good.rpartition(".")[0] + "." + signature
    if kind == "unsigned":
        return sid
    if kind == "no_prefix":
        return sessionlib.sign(sid, SECRET)  # a valid signature without "s:" is unsigned
    if kind == "percent_junk":
        position = rng.randint(0, len(good))
        return good[:position] + rng.choice(PERCENT_JUNK) + good[position:]
    if kind == "forged":
        return f"s%3A{sid}.{random_text(rng, string.ascii_letters + '+/=', 0, 50)}"
    return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randint(0, 60)))


@st.composite
def hostile_headers(draw: st.DrawFn) -> str:
    """Several cookies, names often repeated, values damaged in every way above."""
    kinds = draw(st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=4))
    rng = random.Random(draw(st.integers(0, 2**32)))
    quote_it = draw(st.booleans())
    parts = []
    for kind in kinds:
        value = damaged_value(kind, rng)
        name = rng.choice(NAMES)
        parts.append(f'{name}="{value}"' if quote_it else f"{name}={value}")
    header = draw(st.sampled_from(SEPARATORS)).join(parts)
    return latin1(header.encode("utf-8", "surrogatepass"))


@settings(PROPERTY_SETTINGS, max_examples=2000)
@given(hostile_headers())
def test_forged_truncated_padded_and_misspelled_cookies_never_reach_the_store(
    header: str,
) -> None:
    assert_untouched_new_session(header)


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(
    st.integers(min_value=4_096, max_value=200_000),
    st.sampled_from(["A", "%", "s%3A", "=", ";", "é", "\x00"]),
    st.integers(min_value=1, max_value=3),
)
def test_huge_cookie_headers_are_handled_without_store_access(
    size: int, unit: str, repeats: int
) -> None:
    value = (unit * (size // len(unit)))[:size]
    header = "; ".join([f"{NAME}=s%3A{value}.{value[:50]}"] * repeats)
    assert_untouched_new_session(latin1(header.encode()))


# -- 3. validly signed but invalid or unknown ids -------------------------------------
PATHLIKE_IDS = [
    "..",
    "../..",
    "../../etc/passwd",
    "a/b",
    "/",
    "sess:victim",
    "*",
    "a b",
    " ",
    "a\tb",
    "a\nb",
    "x" * 129,
    "x" * 200,
    "é",
    "%2e%2e",
    "a.b",
    "",
]
BAD_ID_CHARS = "./\\ :*?%\t\n\x00é€\U0001f36a\"';,=+"


@st.composite
def invalid_ids(draw: st.DrawFn) -> str:
    """Ids a store key must never see: path-like, outside the charset, or too long."""
    shape = draw(st.sampled_from(["named", "bad_char", "too_long"]))
    if shape == "named":
        return draw(st.sampled_from(PATHLIKE_IDS))
    rng = random.Random(draw(st.integers(0, 2**32)))
    if shape == "too_long":
        return random_text(rng, ID_CHARS, 129, 400)
    sid = random_text(rng, ID_CHARS, 0, 60)
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(sid))
        sid = sid[:position] + rng.choice(BAD_ID_CHARS) + sid[position:]
    return sid


@settings(PROPERTY_SETTINGS, max_examples=1500)
@given(invalid_ids())
def test_signed_ids_outside_the_id_charset_or_length_never_reach_a_store_key(sid: str) -> None:
    header = f"{NAME}={express_cookie(sid)}"
    assert_untouched_new_session(latin1(header.encode("utf-8", "surrogatepass")))


@settings(PROPERTY_SETTINGS, max_examples=1000)
@given(st.text(alphabet=ID_CHARS, min_size=1, max_size=128))
def test_signed_but_unknown_ids_are_looked_up_once_and_never_adopted(sid: str) -> None:
    status, headers, body = fetch(f"{NAME}={express_cookie(sid)}")
    assert status == 200
    assert STORE.keys == [sid]  # one lookup of exactly this id
    assert STORE.writes == 0
    new_id, _, n = body.partition("|")
    assert new_id != sid and n == "None"
    assert "set-cookie" not in headers


# -- 4. a few named cases, easy to read when one fails --------------------------------
NAMED_HEADERS = [
    "",
    ";",
    "=",
    f"{NAME}",
    f"{NAME}=",
    f"{NAME}=s:",
    f"{NAME}=s%3A",
    f"{NAME}=s:.",
    f"{NAME}=s:a.",
    f'{NAME}="',
    f'{NAME}="\\"',
    f'{NAME}="\\777"',
    f"{NAME}=%",
    f"{NAME}=%C0%80",
    f"{NAME}=s%3A%00.%00",
    f"{NAME}=\x00\x01\x02",
    f"{NAME}={'%' * 10_000}",
    f"{'; '.join(f'{NAME}=x{i}' for i in range(1000))}",
]


@pytest.mark.parametrize("header", NAMED_HEADERS, ids=lambda h: repr(h[:30]))
def test_named_garbage_cookies_start_a_new_session(header: str) -> None:
    assert_untouched_new_session(header)


def test_a_valid_cookie_after_bad_ones_of_the_same_name_is_used() -> None:
    store = CountingStore()
    app = make_app(store)
    client = app.test_client()
    assert client.post("/count").get_data(as_text=True) == "1"
    good = client.get_cookie(NAME)
    assert good is not None
    forged = express_cookie(VALID_ID, "another secret")
    header = f"{NAME}=junk; {NAME}={forged}; {NAME}={good.value}"
    store.reset()
    status, _, body = wsgi_get(app, header)
    assert status == 200 and body.endswith("|1")
    assert store.keys == [body.partition("|")[0]]  # only the good one was looked up


# -- other spellings of a valid cookie ---------------------------------------------------
def _engine_with_session() -> tuple[sessionlib.SessionEngine, str, str]:
    """An engine with a stored session; its id and its cookie value as the engine sends it."""
    engine = sessionlib.SessionEngine(
        secret=["new secret", "old secret"], store=sessionlib.MemoryStore(), cookie={"max_age": 60}
    )
    session = open_session(engine, [], "/", False)
    session["n"] = 1
    header = finish(session)
    assert header is not None
    return engine, session.id, header.split(";", 1)[0].partition("=")[2]


def _resent(engine: sessionlib.SessionEngine, raw: str) -> str:
    """Send ``raw`` on a modifying request; the cookie value the response sets."""
    session = open_session(engine, [raw], "/", False)
    session["n"] += 1
    header = finish(session)
    assert header is not None
    return header.split(";", 1)[0].partition("=")[2]


def test_the_cookie_as_sent_is_sent_back_unchanged() -> None:
    engine, _, value = _engine_with_session()
    assert _resent(engine, value) == value


@pytest.mark.parametrize(
    "respell",
    [
        pytest.param(
            lambda v: v.replace("%3A", ":").replace("%2B", "+").replace("%2F", "/"), id="unescaped"
        ),
        pytest.param(lambda v: v.replace("%3A", "%3a").replace("%2B", "%2b"), id="lower-case"),
        pytest.param(lambda v: v.replace("s%3A", "%73%3A"), id="needless-escape"),
    ],
)
def test_another_spelling_of_a_valid_cookie_is_accepted_and_answered_canonically(respell):
    engine, sid, value = _engine_with_session()
    raw = respell(value)
    assert raw != value
    opened = open_session(engine, [raw], "/", False)
    assert opened.id == sid and opened["n"] == 1
    assert _resent(engine, raw) == value == cookie_value(sid, engine.secrets[0])


def test_a_cookie_signed_with_an_old_secret_is_answered_with_the_new_signature() -> None:
    engine, sid, value = _engine_with_session()
    old = cookie_value(sid, "old secret")
    assert old != value
    assert _resent(engine, old) == value


# -- 5. corrupt stored data -----------------------------------------------------------
CORRUPT_VALUES: list[bytes] = [
    b"not json",
    b"\x80\x04\x95\x00",  # the start of a pickle
    b"\xff\xfe{}",
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"42",
    b"{}",
    b'{"n": 41}',  # data without the cookie object
    b'{"cookie": 5, "n": 41}',
    b'{"cookie": null, "n": 41}',
    b'{"cookie": {"expires": "yesterday"}, "n": 41}',
    b'{"cookie": {"expires": 17, "originalMaxAge": 1000}, "n": 41}',
    b'{"cookie": {"originalMaxAge": "1000"}, "n": 41}',
    b'{"cookie": {"originalMaxAge": 1e400}, "n": 41}',
    b'{"cookie": {"originalMaxAge": 1e300}, "n": 41}',
    b'{"cookie": {"expires": "9999-12-31T23:59:59+14:00", "originalMaxAge": 1e300}}',
    b'{"cookie": {"originalMaxAge": null}, "n": NaN}',
    b'{"cookie": {"originalMaxAge": null}, "n": Infinity}',
    b'{"cookie": {"originalMaxAge": null}, "n": 4' + b"1" * 5000 + b"}",
]


@pytest.mark.lesson7
@pytest.mark.parametrize("raw", CORRUPT_VALUES, ids=lambda raw: repr(raw[:40]))
def test_corrupt_redis_entry_gives_a_fresh_session_and_a_log_line(
    redis_client: Any, key_prefix: str, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    app = make_app(store, cookie={"max_age": 600})
    redis_client.set(store.key(VALID_ID), raw)
    header = f"{NAME}={express_cookie(VALID_ID)}"

    with caplog.at_level(logging.WARNING, logger="sessionlib"):
        status, headers, body = wsgi_get(app, header)
    assert status == 200
    new_id, _, n = body.partition("|")
    assert new_id != VALID_ID and n == "None"  # the bad entry was not served
    records = [r for r in caplog.records if r.name == "sessionlib"]
    assert records and all(r.levelno == logging.WARNING for r in records)
    assert VALID_ID[:6] in records[0].getMessage()
    assert "set-cookie" not in headers

    # Writing through the same cookie starts from nothing, under a new id.
    environ_app = app.test_client()
    environ_app.set_cookie(NAME, express_cookie(VALID_ID))
    assert environ_app.post("/count").get_data(as_text=True) == "1"
    assert environ_app.get_cookie(NAME).value != express_cookie(VALID_ID)
    assert redis_client.get(store.key(VALID_ID)) == raw  # left as it was, never served


@pytest.mark.lesson7
def test_a_hash_under_a_session_key_reads_as_no_session(
    redis_client: Any, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    app = make_app(store, cookie={"max_age": 600})
    redis_client.hset(store.key(VALID_ID), "n", "41")
    with caplog.at_level(logging.WARNING, logger="sessionlib"):
        status, _, body = wsgi_get(app, f"{NAME}={express_cookie(VALID_ID)}")
    assert status == 200 and body.endswith("|None")
    assert any("not a string value" in r.getMessage() for r in caplog.records)


class FixedStore(sessionlib.Store):
    """A store that returns one given object for every id (a broken third-party store)."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.writes: list[str] = []

    def get(self, sid: str) -> Any:
        return self.value

    def set(self, sid: str, data: SessionData) -> None:
        self.writes.append(sid)

    def destroy(self, sid: str) -> None:
        self.writes.append(sid)


@pytest.mark.parametrize(
    "value",
    [[], "text", 42, {"n": 41}, {"cookie": [], "n": 41}, {"cookie": {"expires": "soon"}}],
    ids=repr,
)
def test_a_store_returning_a_non_session_gives_a_fresh_session(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(FixedStore(value))
    with caplog.at_level(logging.WARNING, logger="sessionlib"):
        status, _, body = wsgi_get(app, f"{NAME}={express_cookie(VALID_ID)}")
    assert status == 200
    assert not body.startswith(VALID_ID) and body.endswith("|None")
    assert any(r.name == "sessionlib" for r in caplog.records)


# -- 6. oversized session data --------------------------------------------------------
def big_app(store: sessionlib.Store, **options: Any) -> Flask:
    app = make_app(store, **options)

    @app.post("/fill/<int:size>")
    def fill(size: int) -> str:
        session["blob"] = "x" * size
        return "ok"

    @app.post("/fill-and-save/<int:size>")
    def fill_and_save(size: int) -> tuple[str, int]:
        session["blob"] = "x" * size
        try:
            session.save()
        except SessionTooLarge as error:
            session.pop("blob")  # keep the request's end from trying again
            return str(error), 413
        return "ok", 200

    return app


def test_the_default_max_size_is_one_mebibyte() -> None:
    assert sessionlib.SessionEngine(secret=SECRET).max_size == DEFAULT_MAX_SIZE


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1MB"])
def test_max_size_must_be_a_positive_int_or_none(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_size"):
        sessionlib.SessionEngine(secret=SECRET, max_size=bad)


def test_an_oversized_new_session_fails_at_save_time_and_writes_nothing(
    any_store: sessionlib.Store,
) -> None:
    app = big_app(any_store)
    client = app.test_client()
    with pytest.raises(SessionTooLarge, match=r"over max_size=1,048,576.*'blob'") as caught:
        client.post(f"/fill/{DEFAULT_MAX_SIZE}")
    assert "Nothing was written" in str(caught.value)
    assert any_store.length() == 0


def test_an_oversized_update_keeps_the_stored_session_byte_for_byte(
    redis_client: Any, key_prefix: str
) -> None:
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    app = big_app(store, max_size=10_000)
    client = app.test_client()
    assert client.post("/fill/5000").status_code == 200
    (key,) = list(redis_client.scan_iter(key_prefix + "*"))
    before = redis_client.get(key)
    with pytest.raises(SessionTooLarge):
        client.post("/fill/20000")
    assert redis_client.get(key) == before
    assert client.post("/count").get_data(as_text=True) == "1"  # the session still works


def test_save_raises_session_too_large_inside_the_view(any_store: sessionlib.Store) -> None:
    app = big_app(any_store, max_size=2_000)
    client = app.test_client()
    response = client.post("/fill-and-save/5000")
    assert response.status_code == 413
    assert "over max_size=2,000" in response.get_data(as_text=True)
    assert any_store.length() == 0
    assert client.post("/fill-and-save/500").status_code == 200
    assert any_store.length() == 1


def test_max_size_none_lifts_the_limit(any_store: sessionlib.Store) -> None:
    app = big_app(any_store, max_size=None)
    assert app.test_client().post(f"/fill/{2 * DEFAULT_MAX_SIZE}").status_code == 200
    (data,) = any_store.all().values()
    assert len(data["blob"]) == 2 * DEFAULT_MAX_SIZE
