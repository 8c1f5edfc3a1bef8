from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import lifecycle, signals
from .cookie import NAME_PATTERN, CookieOptions, path_matches
from .session import Session
from .signals import short_id
from .signing import ID_PATTERN, Secret, cookie_value, id_from_cookie
from .stores.base import Store
from .stores.memory import MemoryStore

#: The default ``max_size``: 1 MiB of JSON. Every use reads a session whole and every
#: change writes it whole, so a few KB is normal; past this it belongs in a database.
DEFAULT_MAX_SIZE = 1024 * 1024
#: How many of the request's cookies with our name are tried (a sibling site may add some).
MAX_COOKIES = 3


def default_genid() -> str:
    """192 random bits from ``secrets`` as 32 URL-safe characters (ids need 128 or more)."""
    return secrets.token_urlsafe(24)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _seconds(value: Any) -> bool:
    return value is None or type(value) in (int, float) and value > 0


#: Each option's test, and what it must be: checked once, when the engine is built.
OPTION_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and bool(NAME_PATTERN.fullmatch(v)), "a cookie name"),
    "store": (lambda v: v is None or isinstance(v, Store), "a sessionlib.Store"),
    "resave": (_flag, "True or False"),
    "save_uninitialized": (_flag, "True or False"),
    "rolling": (_flag, "True or False"),
    "merge": (_flag, "True or False"),
    "genid": (lambda v: v is None or callable(v), "a function returning a new id"),
    "unset": (lambda v: v in ("keep", "destroy"), "'keep' or 'destroy'"),
    "max_size": (lambda v: v is None or type(v) is int and v > 0, "a number of bytes or None"),
    "absolute_timeout": (_seconds, "a number of seconds or None"),
}


class SessionEngine:
    """express-session's options, checked once, and its rules for each request.

    Defaults differ from express-session's where express is unsafe or wasteful:
    ``resave=False`` and ``save_uninitialized=False`` (express: deprecated ``true``), and
    SameSite=Lax on the cookie (express: unset). Not in express: ``max_size`` (bytes of
    JSON, else ``SessionTooLarge``), ``merge`` (save only the keys a request changed) and
    ``absolute_timeout`` (seconds from creation after which a session ends, however
    active). ``unset="destroy"`` destroys a session a request emptied.
    """

    def __init__(
        self,
        *,
        secret: Secret | Sequence[Secret],
        name: str = "connect.sid",
        store: Store | None = None,
        resave: bool = False,
        save_uninitialized: bool = False,
        rolling: bool = False,
        genid: Callable[[], str] | None = None,
        unset: str = "keep",
        cookie: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None,
        max_size: int | None = DEFAULT_MAX_SIZE,
        merge: bool = False,
        absolute_timeout: float | None = None,
    ) -> None:
        options = {key: value for key, value in locals().items() if key in OPTION_RULES}
        for option, value in options.items():
            test, expected = OPTION_RULES[option]
            if not test(value):
                raise ValueError(f"{option} must be {expected}, not {value!r}")
        self.secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret or [])
        if not self.secrets or not all(isinstance(s, (str, bytes)) and s for s in self.secrets):
            raise ValueError(f"secret must be a string or bytes, or a list of them, not {secret!r}")
        self.name, self.resave, self.rolling, self.merge = name, resave, rolling, merge
        self.save_uninitialized, self.unset, self.max_size = save_uninitialized, unset, max_size
        self.store: Store = store or MemoryStore()
        self.genid, self.absolute_timeout = genid or default_genid, absolute_timeout
        self.cookie = cookie if callable(cookie) else CookieOptions.build(cookie, name)
        self.permanent_lifetime = 31 * 24 * 3600.0  # ``permanent = True``: Flask's default

    def options_for(self, request: Any) -> CookieOptions:
        """The cookie settings for this request (``cookie`` may be a function of it)."""
        if isinstance(self.cookie, CookieOptions):
            return self.cookie
        return CookieOptions.build(self.cookie(request), self.name)

    def new_id(self) -> str:
        sid = self.genid()
        if not isinstance(sid, str) or not ID_PATTERN.fullmatch(sid):
            raise ValueError(f"genid must return 1-128 of A-Z a-z 0-9 _ -, not {sid!r}")
        return sid

    def open(
        self, cookies: Sequence[str], path: str, is_secure: bool, request: Any = None
    ) -> Session | None:
        """The request's session, not loaded yet; None outside the cookie's path."""
        options = self.options_for(request)
        if not path_matches(options.path, path):
            return None
        candidates, rejected = [], None
        for value in cookies[:MAX_COOKIES]:
            sid, reason = id_from_cookie(value, self.secrets)
            if sid is not None and sid not in candidates:
                candidates.append(sid)
            rejected = rejected or reason
        return Session(self, candidates, None if candidates else rejected, options, is_secure)

    def finish(self, session: Session) -> str | None:
        """After the view: write, touch or leave the store; then the Set-Cookie header, if any."""
        if session._data is None:
            if not (self.rolling and session.candidates):
                return None  # never used: no store call at all
            lifecycle.load(session)  # rolling: the cookie goes out again, so it is needed
        session._cookie.reset_max_age()  # express touches every session it served
        emptied = not session._data and session._loaded[2] != "{}"
        if self.unset == "destroy" and emptied and session._cookie_id is not None:
            lifecycle.destroy(session, "unset")
        now = lifecycle.state(session)
        modified = session._forced or now != session._loaded
        reason = self.save_reason(session, now, modified)
        if reason is not None:
            lifecycle.write(session, reason, now)
        elif self.should_touch(session):
            lifecycle.call_store(session, "touch", session._id, lifecycle.entry(session))
            signals.emit(
                signals.session_touched,
                self,
                sid=short_id(session._id),
                expires=session._cookie.expires,
            )
        if self.should_set_cookie(session, modified):
            return self.cookie_header(session)
        if session._dead_cookie:
            header = session._cookie.header(self.name, "")
            signals.emit(signals.cookie_cleared, self, name=self.name, header=header)
            return header
        return None

    def save_reason(self, session: Session, now: lifecycle.State, modified: bool) -> str | None:
        """Why the store must be written now, or None (express's ``shouldSave``)."""
        if session._saved == now and not session._forced:
            return None  # the store holds exactly this
        if session._saved is not None or modified:
            return "modified"  # changed, or the store holds another state of it
        if not session.new:
            return "resave" if self.resave else None
        return "save_uninitialized" if self.save_uninitialized and not session._destroyed else None

    def should_touch(self, session: Session) -> bool:
        """Whether an unchanged session's expiry must be moved in the store (a ``touch``)."""
        return not session.new and not session._fresh_ttl and session._saved == session._loaded

    def should_set_cookie(self, session: Session, modified: bool) -> bool:
        """Whether the response carries the cookie (express's ``shouldSetCookie``)."""
        if session.interrupted:
            return False  # another request ended this session: its cookie must go
        if session._cookie.secure and not session.is_secure:
            return False  # a Secure cookie goes out only over HTTPS, as in express
        if session.new:
            return session._saved is not None and session._saved[0] == session._id
        persistent = session._cookie.expires_at is not None or session._was_persistent
        return self.rolling or (modified and persistent)

    def cookie_header(self, session: Session) -> str:
        """The Set-Cookie header carrying the signed id, announced on ``cookie_set``."""
        value = cookie_value(session._id, self.secrets[0])
        header = session._cookie.header(self.name, value)
        if signals.cookie_set.receivers:
            signals.cookie_set.send(
                self,
                name=self.name,
                sid=short_id(session._id),
                attributes=session._cookie.to_json(),
                header=header.replace(value, "…"),
            )
        return header
