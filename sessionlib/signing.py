"""Signing, byte for byte the ``cookie-signature`` scheme express-session uses, and the
session cookie's value: ``"s:" + sign(id, secret)``, percent-encoded as JavaScript's
``encodeURIComponent`` does. A cookie signed here verifies in Node, and the other way round.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Sequence
from urllib.parse import quote, unquote

Secret = str | bytes

#: What a session id may hold: it becomes part of a store key.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: The characters ``encodeURIComponent`` leaves as they are (besides letters and digits).
URI_SAFE = "-_.!~*'()"


def sign(value: str, secret: Secret) -> str:
    """``value + "." + base64(HMAC-SHA256(secret, value))``, without the ``=`` padding."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.digest(key, value.encode(), "sha256")
    return value + "." + base64.b64encode(mac).decode().rstrip("=")


def unsign(signed: str, secrets: Secret | Sequence[Secret]) -> str | None:
    """The value inside ``signed`` if any of ``secrets`` signed it, else None.

    Every secret is tried, so a list lets old cookies verify while the first one signs.
    ``hmac.compare_digest`` takes as long wherever the signatures differ.
    """
    value, dot, _ = signed.rpartition(".")
    if not dot:
        return None
    for secret in [secrets] if isinstance(secrets, (str, bytes)) else secrets:
        if hmac.compare_digest(sign(value, secret).encode(), signed.encode()):
            return value
    return None


def cookie_value(sid: str, secret: Secret) -> str:
    """The session cookie's value for ``sid``: ``s:`` and the signed id, percent-encoded."""
    return quote("s:" + sign(sid, secret), safe=URI_SAFE)


def id_from_cookie(value: str, secrets: Sequence[Secret]) -> tuple[str | None, str | None]:
    """The session id inside a cookie value, or None and why the value was refused."""
    try:
        text = unquote(value, errors="strict")
    except UnicodeDecodeError:
        return None, "unsigned"
    if not text.startswith("s:"):
        return None, "unsigned"
    sid = unsign(text[2:], secrets)
    if sid is None:
        return None, "bad_signature"
    if not ID_PATTERN.fullmatch(sid):
        return None, "invalid_id"
    return sid, None
