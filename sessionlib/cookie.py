"""The session cookie: its settings, its countdown to expiry and its Set-Cookie text.

Mirrors express-session's ``session/cookie.js``: the Python API speaks seconds, the
stored JSON speaks express's units (``originalMaxAge`` in milliseconds, ``expires`` as
an ISO-8601 UTC string), and the header text comes from ``werkzeug.http.dump_cookie``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal

from werkzeug.http import dump_cookie

__all__ = ["CookieOptions", "SessionCookie", "clearing_header", "iso_utc", "path_matches"]

Secure = bool | Literal["auto"]
_SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_PRIORITIES = {"low": "Low", "medium": "Medium", "high": "High"}
# Bounds on stored values, so a hostile or broken entry fails on load, not mid-request.
_LONGEST_MS = 1e13  # about 317 years
_LATEST = 253402300799.0  # 9999-12-31T23:59:59Z, the last date ISO-8601 text can hold


def _seconds(value: float | timedelta | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or a timedelta")
    return float(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expires must be timezone-aware (use datetime.timezone.utc)")
    return value.astimezone(timezone.utc)


def _same_site_name(value: str | bool | None) -> str | None:
    """Normalise a SameSite setting to its header spelling (express accepts ``True``)."""
    if value is None or value is False:
        return None
    if value is True:
        return "Strict"
    if isinstance(value, str) and value.lower() in _SAME_SITE:
        return _SAME_SITE[value.lower()]
    if value == "auto":
        return "auto"
    raise ValueError(f"same_site must be 'Lax', 'Strict', 'None', 'auto' or None, not {value!r}")


def _priority_name(value: str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _PRIORITIES:
        return _PRIORITIES[value.lower()]
    raise ValueError(f"priority must be 'Low', 'Medium' or 'High', not {value!r}")


def path_matches(cookie_path: str, request_path: str) -> bool:
    """RFC 6265 section 5.1.4 path-match: ``/admin`` covers ``/admin/x``, not ``/administrator``."""
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"


@dataclass(frozen=True)
class CookieOptions:
    """The cookie settings every new session starts from (express's ``cookie`` option).

    Defaults differ from express-session where express is unsafe or surprising:
    ``same_site`` is ``"Lax"`` (express: unset); ``http_only`` is on, as in express.
    ``secure="auto"`` means Secure exactly when the request came over HTTPS, and
    ``same_site="auto"`` means ``None`` (cross-site allowed) when the cookie is Secure,
    else ``Lax``.
    """

    max_age: float | None = None
    expires: datetime | None = None
    http_only: bool = True
    secure: Secure = False
    same_site: str | None = "Lax"
    domain: str | None = None
    path: str = "/"
    partitioned: bool = False
    priority: str | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> CookieOptions:
        """Build and validate from the ``cookie={...}`` dict; unknown keys are an error."""
        options = dict(options or {})
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown cookie option(s): {', '.join(sorted(unknown))}")
        built = cls(**options)
        if built.secure not in (True, False, "auto"):
            raise ValueError("secure must be True, False or 'auto'")
        if not isinstance(built.path, str) or not built.path.startswith("/"):
            raise ValueError("path must start with '/'")
        return replace(
            built,
            max_age=_seconds(built.max_age, "max_age"),
            expires=_utc(built.expires) if built.expires is not None else None,
            same_site=_same_site_name(built.same_site),
            priority=_priority_name(built.priority),
        )

    def new_cookie(self, request_is_secure: bool) -> SessionCookie:
        """The cookie of a freshly generated session, with "auto" settings resolved."""
        secure = request_is_secure if self.secure == "auto" else bool(self.secure)
        same_site = self.same_site
        if same_site == "auto":
            # SameSite=None without Secure is refused by browsers: fall back to Lax.
            same_site = "None" if secure else "Lax"
        cookie = SessionCookie(
            http_only=self.http_only,
            secure=secure,
            same_site=same_site,
            domain=self.domain,
            path=self.path,
            partitioned=self.partitioned,
            priority=self.priority,
        )
        if self.expires is not None:
            cookie.expires = self.expires
        elif self.max_age is not None:
            cookie.max_age = self.max_age
        return cookie


@dataclass(slots=True)
class SessionCookie:
    """One session's cookie: attributes plus an expiry that ``max_age`` counts down to.

    ``expires`` is fixed when set directly; setting ``max_age`` (seconds) moves it to
    now + max_age and remembers that as ``original_max_age``, which ``touch`` restores.
    """

    http_only: bool = True
    secure: bool = False
    same_site: str | None = "Lax"
    domain: str | None = None
    path: str = "/"
    partitioned: bool = False
    priority: str | None = None
    original_max_age: float | None = None
    # Unix time in seconds at millisecond precision (a JavaScript Date's); a float keeps
    # the per-request countdown and touch free of datetime arithmetic.
    _expires_at: float | None = field(default=None, repr=False)
    _fixed_expiry: bool = field(default=False, repr=False)

    @property
    def expires(self) -> datetime | None:
        """When the browser (and the store) should forget the session; None = browser session."""
        if self._expires_at is None:
            return None
        return datetime.fromtimestamp(self._expires_at, tz=timezone.utc)

    @expires.setter
    def expires(self, value: datetime | None) -> None:
        self._expires_at = None if value is None else _whole_ms(_utc(value).timestamp())
        self._fixed_expiry = value is not None
        self.original_max_age = self.max_age

    @property
    def expires_at(self) -> float | None:
        """``expires`` as a Unix timestamp (what stores compute TTLs from)."""
        return self._expires_at

    @property
    def max_age(self) -> float | None:
        """Seconds left until ``expires`` (negative once past), or None for a browser session."""
        if self._expires_at is None:
            return None
        return self._expires_at - time.time()

    @max_age.setter
    def max_age(self, seconds: float | timedelta | None) -> None:
        seconds = _seconds(seconds, "max_age")
        self._fixed_expiry = False
        self.original_max_age = seconds
        self._expires_at = None if seconds is None else _whole_ms(time.time() + seconds)

    def reset_max_age(self) -> None:
        """Restart the countdown from ``original_max_age`` (express's ``resetMaxAge``)."""
        if self.original_max_age is not None and not self._fixed_expiry:
            self._expires_at = _whole_ms(time.time() + self.original_max_age)

    @property
    def expired(self) -> bool:
        return self._expires_at is not None and self._expires_at <= time.time()

    def to_json(self) -> dict[str, Any]:
        """The express-session shape, key order included; unset attributes are left out."""
        data: dict[str, Any] = {
            "originalMaxAge": None
            if self.original_max_age is None
            else round(self.original_max_age * 1000),
        }
        if self.partitioned:
            data["partitioned"] = True
        if self.priority is not None:
            data["priority"] = self.priority.lower()
        data["expires"] = None if self._expires_at is None else iso_utc(self._expires_at)
        if self.secure:
            data["secure"] = True
        data["httpOnly"] = self.http_only
        if self.domain is not None:
            data["domain"] = self.domain
        data["path"] = self.path
        if self.same_site is not None:
            data["sameSite"] = self.same_site.lower()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], fixed_expiry: bool = False) -> SessionCookie:
        """Rebuild from stored JSON written by this library or by express-session.

        ``fixed_expiry`` keeps ``expires`` where it is on ``reset_max_age`` (the app set
        an absolute ``expires`` date rather than a ``max_age``). A value no cookie can
        hold (an expiry or max age out of range, an unknown SameSite) is a ``ValueError``.
        """
        get = data.get
        same_site, priority = get("sameSite"), get("priority")
        domain, path = get("domain"), get("path")
        cookie = cls(
            bool(get("httpOnly", True)),
            get("secure") is True,
            # express stores these lower-case: look the usual spelling up directly
            _SAME_SITE[same_site]
            if type(same_site) is str and same_site in _SAME_SITE
            else _same_site_name(same_site),
            domain if isinstance(domain, str) else None,
            path if isinstance(path, str) else "/",
            get("partitioned") is True,
            None if priority is None else _priority_name(priority),
        )
        original = get("originalMaxAge")
        if type(original) in (int, float):  # not bool: JSON's true is no number
            if not abs(original) < _LONGEST_MS:
                raise ValueError(f"originalMaxAge out of range: {original!r}")
            cookie.original_max_age = original / 1000
        expires = get("expires")
        if isinstance(expires, str):
            cookie._expires_at = _parse_iso(expires)
        cookie._fixed_expiry = fixed_expiry and cookie._expires_at is not None
        return cookie

    def header(self, name: str, value: str) -> str:
        """The Set-Cookie header value carrying ``value`` with this cookie's attributes.

        Exactly what ``dump_cookie(name, value, ...)`` writes, assembled from two cached
        pieces of its output when ``value`` needs no quoting (a signed id never does): the
        ``name=`` part, and the attributes, which every cookie set within the same second
        with the same settings shares (``Expires`` has whole seconds).
        """
        max_age, expires = self.max_age, self._expires_at
        attributes = _attribute_text(
            None if max_age is None else max(0, round(max_age)),
            None if expires is None else math.floor(expires),
            self.path,
            self.domain,
            self.secure,
            self.http_only,
            self.same_site,
            self.partitioned,
            self.priority,
        )
        if _UNQUOTED_VALUE.fullmatch(value):
            return _name_text(name) + value + attributes
        return dump_cookie(name, value, path=None) + attributes


def clearing_header(name: str, cookie: SessionCookie) -> str:
    """A Set-Cookie header that makes the browser drop the session cookie at once: an
    empty value, ``Max-Age=0`` and an expiry at the epoch, on the cookie's path and domain."""
    return _name_text(name) + _attribute_text(
        0,
        0,
        cookie.path,
        cookie.domain,
        cookie.secure,
        cookie.http_only,
        cookie.same_site,
        cookie.partitioned,
        None,
    )


# Characters dump_cookie never quotes (a subset of werkzeug's set): encodeURIComponent's.
_UNQUOTED_VALUE = re.compile(r"[A-Za-z0-9%!'()*._~-]*")


@lru_cache(maxsize=64)
def _name_text(name: str) -> str:
    """``name=`` as ``dump_cookie`` starts a header."""
    return dump_cookie(name, "", path=None)


@lru_cache(maxsize=1024)
def _attribute_text(
    max_age: int | None,
    expires: int | None,
    path: str,
    domain: str | None,
    secure: bool,
    http_only: bool,
    same_site: str | None,
    partitioned: bool,
    priority: str | None,
) -> str:
    """The attributes ``dump_cookie`` writes after ``name=value``, then Priority."""
    text = dump_cookie(
        "_",
        "",
        max_age=max_age,
        expires=expires,
        path=path,
        domain=domain,
        secure=secure,
        httponly=http_only,
        samesite=same_site,
        partitioned=partitioned,
    )[len("_=") :]
    # dump_cookie has no Priority parameter; it is one plain token appended.
    return text if priority is None else f"{text}; Priority={priority}"


def _whole_ms(seconds: float) -> float:
    # Millisecond precision, as a JavaScript Date holds; rounded down, so a TTL taken
    # from it (rounded up to whole seconds) never exceeds the max age.
    return math.floor(seconds * 1000) / 1000


def iso_utc(timestamp: float) -> str:
    """A Unix timestamp as JavaScript's ``Date.toJSON()`` writes it: ISO-8601, ms, ``Z``.

    The text ``datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec=
    "milliseconds")`` gives (microseconds rounded half-even, then cut to milliseconds),
    with the date and time of day cached per second: every write formats one.
    """
    second = math.floor(timestamp)
    micro = round((timestamp - second) * 1e6)
    if micro == 1_000_000:
        second, micro = second + 1, 0
    return f"{_iso_second(second)}.{micro // 1000:03d}Z"


@lru_cache(maxsize=16)
def _iso_second(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` for a whole Unix second, in UTC."""
    return datetime.fromtimestamp(second, tz=timezone.utc).replace(tzinfo=None).isoformat()


def _parse_iso(text: str) -> float:
    """An ISO-8601 expiry (``Date.toJSON()``'s format and its relatives) as a timestamp."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    timestamp = parsed.timestamp()
    if not 0 <= timestamp < _LATEST:
        raise ValueError(f"expires out of range: {text!r}")
    return timestamp
