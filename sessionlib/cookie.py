from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.http import dump_cookie

from .stores.base import iso_utc

SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None", "auto": "auto"}
PRIORITY = {"low": "Low", "medium": "Medium", "high": "High"}
NAME_PATTERN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 6265's cookie-name token
LATEST = 253402300799.0  # 9999-12-31T23:59:59Z, the last expiry ISO-8601 text can hold

#: Each cookie setting's test, and what it must be.
COOKIE_RULES = {
    "max_age": (lambda v: v is None or type(v) in (int, float) and 0 <= v < 1e10, "seconds"),
    "expires": (lambda v: v is None or isinstance(v, datetime) and v.tzinfo, "an aware datetime"),
    "http_only": (lambda v: isinstance(v, bool), "True or False"),
    "secure": (lambda v: v in (True, False, "auto"), "True, False or 'auto'"),
    "same_site": (lambda v: v in SAME_SITE.values() or v is None, "Lax, Strict, None or auto"),
    "domain": (lambda v: v is None or re.fullmatch(r"\.?[\w-]+(\.[\w-]+)*", str(v)), "a host"),
    "path": (lambda v: isinstance(v, str) and re.fullmatch(r"/[^;\x00-\x1f\x7f]*", v), "a path"),
    "partitioned": (lambda v: isinstance(v, bool), "True or False"),
    "priority": (lambda v: v is None or v in PRIORITY.values(), "Low, Medium or High"),
}


@dataclass(frozen=True)
class CookieOptions:
    """The ``cookie={...}`` settings. Defaults are safe: HttpOnly and SameSite=Lax (express
    leaves SameSite unset). ``secure="auto"``: Secure exactly when the request came over
    HTTPS; ``same_site="auto"``: None when the cookie is Secure, else Lax."""

    max_age: float | None = None
    expires: datetime | None = None
    http_only: bool = True
    secure: bool | str = False
    same_site: str | None = "Lax"
    domain: str | None = None
    path: str = "/"
    partitioned: bool = False
    priority: str | None = None

    @classmethod
    def build(cls, options: Mapping[str, Any] | None, name: str) -> CookieOptions:
        """The settings in ``options``, checked with the rules a ``name`` prefix brings."""
        options = dict(options or {})
        unknown = set(options) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(f"unknown cookie option(s): {', '.join(sorted(unknown))}")
        if isinstance(options.get("max_age"), timedelta):
            options["max_age"] = options["max_age"].total_seconds()
        same_site = options.get("same_site", "Lax")
        options["same_site"] = {True: "Strict", False: None}.get(same_site, same_site)
        if isinstance(same_site, str):
            options["same_site"] = SAME_SITE.get(same_site.lower(), same_site)
        if isinstance(options.get("priority"), str):
            options["priority"] = PRIORITY.get(options["priority"].lower(), options["priority"])
        built = cls(**options)
        for option, (test, expected) in COOKIE_RULES.items():
            value = getattr(built, option)
            if not test(value):
                raise ValueError(f"cookie {option} must be {expected}, not {value!r}")
        if built.max_age is not None and built.expires is not None:
            raise ValueError("cookie max_age and expires can't both be set")
        prefixed = name.startswith(("__Secure-", "__Host-"))
        if (
            built.same_site == "None" or built.partitioned or prefixed
        ) and built.secure is not True:
            raise ValueError(
                "cookie secure must be True with SameSite=None, Partitioned or a __Secure-/"
                "__Host- name (browsers drop the cookie otherwise)"
            )
        if name.startswith("__Host-") and (built.path != "/" or built.domain is not None):
            raise ValueError("cookie path must be '/', with no domain, for a __Host- name")
        return built

    def attributes(self, request_is_secure: bool) -> SessionCookie:
        """A cookie with this request's attributes ("auto" decided), and no expiry yet."""
        secure = request_is_secure if self.secure == "auto" else bool(self.secure)
        same_site = ("None" if secure else "Lax") if self.same_site == "auto" else self.same_site
        return SessionCookie(
            self.path,
            self.domain,
            self.http_only,
            secure,
            same_site,
            self.partitioned,
            self.priority,
        )

    def new_cookie(self, request_is_secure: bool) -> SessionCookie:
        """A new session's cookie: this request's attributes and the settings' expiry."""
        cookie = self.attributes(request_is_secure)
        if self.expires is not None:
            cookie.expires = self.expires
        elif self.max_age is not None:
            cookie.max_age = self.max_age
        return cookie


def path_matches(cookie_path: str, request_path: str) -> bool:
    """RFC 6265's path-match: ``/admin`` covers ``/admin/x``, not ``/administrator``."""
    if not request_path.startswith(cookie_path):
        return False
    rest = request_path[len(cookie_path) :]
    return not rest or cookie_path.endswith("/") or rest.startswith("/")


@dataclass
class SessionCookie:
    """One session's cookie: this response's attributes, and an expiry ``max_age`` counts
    down to. Setting ``max_age`` moves the expiry to now + max_age and remembers the number
    as ``original_max_age``, which ``reset_max_age`` restarts from; an ``expires`` date set
    directly is fixed, and resets leave it where it is."""

    path: str = "/"
    domain: str | None = None
    http_only: bool = True
    secure: bool = False
    same_site: str | None = "Lax"
    partitioned: bool = False
    priority: str | None = None
    original_max_age: float | None = None  # seconds
    expires_at: float | None = None  # a Unix time to the millisecond, as a JavaScript Date
    fixed: bool = False

    @property
    def max_age(self) -> float | None:
        """Seconds left (negative once past), or None for a browser-session cookie."""
        return None if self.expires_at is None else self.expires_at - time.time()

    @max_age.setter
    def max_age(self, seconds: float | timedelta | None) -> None:
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self.original_max_age, self.fixed = seconds, False
        self.expires_at = None if seconds is None else _whole_ms(time.time() + seconds)

    @property
    def expires(self) -> datetime | None:
        """When the browser and the store should forget the session."""
        if self.expires_at is None:
            return None
        return datetime.fromtimestamp(self.expires_at, timezone.utc)

    @expires.setter
    def expires(self, moment: datetime | None) -> None:
        self.expires_at = None if moment is None else _whole_ms(moment.timestamp())
        self.fixed, self.original_max_age = moment is not None, self.max_age

    def reset_max_age(self) -> None:
        """Restart the countdown from ``original_max_age`` (express's ``resetMaxAge``)."""
        if self.original_max_age is not None and not self.fixed:
            self.expires_at = _whole_ms(time.time() + self.original_max_age)

    def load_expiry(self, stored: Any, fixed: bool) -> None:
        """Take the expiry from a stored ``cookie`` object; ValueError when it is not one."""
        if not isinstance(stored, dict):
            raise ValueError("no cookie object")
        original, expires = stored.get("originalMaxAge"), stored.get("expires")
        if original is not None:
            if type(original) not in (int, float) or not abs(original) < 1e13:
                raise ValueError(f"originalMaxAge is not a number of ms: {original!r}")
            self.original_max_age = original / 1000
        if expires is not None:
            moment = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            if not isinstance(expires, str) or not 0 <= moment.timestamp() < LATEST:
                raise ValueError(f"expires is not an ISO-8601 date: {expires!r}")
            self.expires_at = moment.timestamp()
        self.fixed = fixed and self.expires_at is not None

    def to_json(self) -> dict[str, Any]:
        """express's stored cookie object, key order included; unset attributes left out."""
        original = self.original_max_age
        data: dict[str, Any] = {
            "originalMaxAge": None if original is None else round(original * 1000)
        }
        if self.partitioned:
            data["partitioned"] = True
        if self.priority:
            data["priority"] = self.priority.lower()
        data["expires"] = None if self.expires_at is None else iso_utc(self.expires_at)
        if self.secure:
            data["secure"] = True
        data["httpOnly"] = self.http_only
        if self.domain:
            data["domain"] = self.domain
        data["path"] = self.path
        if self.same_site:
            data["sameSite"] = self.same_site.lower()
        return data

    def header(self, name: str, value: str) -> str:
        """The Set-Cookie header carrying ``value`` (an empty one deletes the cookie)."""
        max_age, expires = (self.max_age, self.expires_at) if value else (0, 0)
        text = dump_cookie(
            name,
            value,
            max_age=None if max_age is None else max(0, round(max_age)),
            expires=None if expires is None else math.floor(expires),
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.http_only,
            samesite=self.same_site,
            partitioned=self.partitioned,
        )
        return f"{text}; Priority={self.priority}" if self.priority and value else text


def _whole_ms(seconds: float) -> float:
    """A JavaScript Date's precision, rounded down: a TTL rounded up never outlasts it."""
    return math.floor(seconds * 1000) / 1000
