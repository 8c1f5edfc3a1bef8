"""Cookie signing: byte-for-byte the ``cookie-signature`` scheme express-session uses.

Known answers come from the reference implementations' own test suites:
- cookie-signature ``test/index.js``: ``sign('hello', 'tobiiscool')`` and ``unsign(val, 'luna')``;
- express-session ``test/session.js`` ("genid option: should allow custom function"):
  secret ``keyboard cat`` and a genid returning ``apple`` set the cookie value below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

import pytest

import sessionlib
from sessionlib.signing import cookie_value, id_from_cookie

pytestmark = pytest.mark.lesson3

# cookie-signature test/index.js, ".sign(val, secret) should sign the cookie"
HELLO_SIGNED = "hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"
# express-session test/session.js, "genid option should allow custom function"
APPLE_COOKIE_VALUE = "s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU"


def reference_sign(value: str, secret: str) -> str:
    """The cookie-signature algorithm written out independently of the library."""
    mac = hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()
    return value + "." + base64.b64encode(mac).decode().rstrip("=")


def test_sign_matches_the_cookie_signature_known_answer():
    assert sessionlib.sign("hello", "tobiiscool") == HELLO_SIGNED


def test_sign_with_another_secret_gives_another_signature():
    # cookie-signature: sign('hello', 'luna') must not equal the 'tobiiscool' answer.
    assert sessionlib.sign("hello", "luna") != HELLO_SIGNED


def test_signed_apple_is_the_express_session_cookie_value():
    assert "s:" + sessionlib.sign("apple", "keyboard cat") == unquote(APPLE_COOKIE_VALUE)


@pytest.mark.parametrize("value", ["", "a.b.c", "café ☕", "x" * 500, "s:with:colons"])
def test_sign_agrees_with_an_independent_hmac_sha256(value):
    assert sessionlib.sign(value, "s3cret") == reference_sign(value, "s3cret")


def test_signature_is_base64_without_padding():
    signature = sessionlib.sign("hello", "tobiiscool").rpartition(".")[2]
    assert "=" not in signature
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256, unpadded base64
    assert len(base64.b64decode(signature + "=")) == 32


def test_unsign_returns_the_value_for_the_right_secret():
    assert sessionlib.unsign(HELLO_SIGNED, "tobiiscool") == "hello"


def test_unsign_rejects_a_wrong_secret():
    # cookie-signature: unsign(val, 'luna') is false; here None.
    assert sessionlib.unsign(HELLO_SIGNED, "luna") is None


def test_unsign_keeps_dots_inside_the_value():
    assert sessionlib.unsign(sessionlib.sign("a.b.c", "k"), "k") == "a.b.c"


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param("hellp.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI", id="value-changed"),
        pytest.param("hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QJ", id="signature-changed"),
        pytest.param("hello!.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI", id="value-extended"),
        pytest.param(HELLO_SIGNED + "A", id="signature-extended"),
        pytest.param(HELLO_SIGNED + "=", id="padding-added"),
        pytest.param(HELLO_SIGNED[:-1], id="truncated-by-one"),
        pytest.param(HELLO_SIGNED[:-20], id="truncated-by-twenty"),
        pytest.param("hello.", id="signature-removed"),
        pytest.param("hello", id="no-dot"),
        pytest.param("", id="empty"),
        pytest.param(".DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI", id="value-removed"),
        pytest.param(HELLO_SIGNED.upper(), id="case-changed"),
    ],
)
def test_unsign_rejects_tampered_and_truncated_values(forged):
    assert sessionlib.unsign(forged, "tobiiscool") is None


def test_unsign_with_a_secret_list_accepts_any_of_the_secrets():
    old = sessionlib.sign("sid", "old secret")
    new = sessionlib.sign("sid", "new secret")
    secrets = ["new secret", "old secret"]
    assert sessionlib.unsign(old, secrets) == "sid"
    assert sessionlib.unsign(new, secrets) == "sid"


def test_retired_secret_no_longer_verifies():
    old = sessionlib.sign("sid", "old secret")
    assert sessionlib.unsign(old, ["new secret"]) is None
    assert sessionlib.unsign(old, "new secret") is None


def test_secret_list_of_one_behaves_like_the_secret():
    assert sessionlib.unsign(HELLO_SIGNED, ["tobiiscool"]) == "hello"
    assert sessionlib.unsign(HELLO_SIGNED, ["luna"]) is None


# -- bytes secrets (Flask's SECRET_KEY may be bytes) and the cookie value -----------------


def test_a_bytes_secret_signs_as_its_text_does():
    assert sessionlib.sign("hello", b"tobiiscool") == HELLO_SIGNED
    assert sessionlib.unsign(HELLO_SIGNED, [b"luna", b"tobiiscool"]) == "hello"
    binary = bytes(range(256))
    signed = sessionlib.sign("sid", binary)
    assert sessionlib.unsign(signed, binary) == "sid"
    assert sessionlib.unsign(signed, binary[:-1]) is None


def test_cookie_value_is_express_sessions_byte_for_byte():
    assert cookie_value("apple", "keyboard cat") == APPLE_COOKIE_VALUE


@pytest.mark.parametrize(
    "value, reason",
    [
        (APPLE_COOKIE_VALUE.replace("apple", "apples"), "bad_signature"),
        (unquote(APPLE_COOKIE_VALUE)[2:], "unsigned"),
        ("%ff%fe", "unsigned"),
        ("s%3Anot%20an%20id!.sEaqP%2FInwPjGmPxD8Ea6jSzPi1a4ulfC0KauJW3LiK0", "invalid_id"),
    ],
)
def test_id_from_cookie_says_why_a_value_is_refused(value, reason):
    assert id_from_cookie(APPLE_COOKIE_VALUE, ["keyboard cat"]) == ("apple", None)
    assert id_from_cookie(value, ["keyboard cat"]) == (None, reason)
