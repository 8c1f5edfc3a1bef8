from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .signals import short_id

if TYPE_CHECKING:
    from .cookie import CookieOptions, SessionCookie
    from .engine import SessionEngine

RESERVED = ("cookie", lifecycle.CREATED)  # keys of the stored entry, not the app's data


class Session(MutableMapping[str, Any]):
    """A dict of JSON values for one request, with express's ``id``, ``cookie`` and methods.

    Nothing is read from the store until the session is first used. ``permanent``,
    ``new``, ``modified`` and ``accessed`` mean what they mean on Flask's own session.
    """

    def __init__(
        self,
        engine: SessionEngine,
        candidates: list[str],
        rejected: str | None,
        options: CookieOptions,
        is_secure: bool,
    ) -> None:
        self.engine, self.options, self.is_secure = engine, options, is_secure
        self.candidates = candidates  # signed ids the request's cookies carried, in order
        self.rejected = rejected  # why a cookie led to no stored session
        self.accessed = False  # the view used the session: the response varies by Cookie
        self.interrupted = False  # another request ended the session before this one saved
        self._data: dict[str, Any] | None = None  # None until first use
        self._id, self._created = "", 0.0
        self._cookie: SessionCookie = options.attributes(is_secure)
        self._cookie_id: str | None = None  # the id the browser's cookie holds, once loaded
        self._loaded: lifecycle.State = ("", None, "")  # as loaded or generated
        self._saved: lifecycle.State | None = None  # what the store holds from this request
        self._loaded_json: dict[str, str] = {}  # each key's JSON as loaded, for merge=True
        self._was_persistent = False  # the cookie had an expiry when loaded
        self._forced = False  # ``modified = True``: write even if nothing changed
        self._destroyed = False  # destroy() ran: a new session is stored only if written to
        self._dead_cookie = False  # the browser's cookie must be deleted
        self._fresh_ttl = False  # loading already restarted the store's TTL

    def _contents(self) -> dict[str, Any]:
        self.accessed = True
        if self._data is None:
            lifecycle.load(self)
        return self._data  # type: ignore[return-value]

    def __getitem__(self, key: str) -> Any:
        return self._contents()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys are strings (JSON object keys), not {key!r}")
        if key in RESERVED:
            raise KeyError(f"{key!r} is reserved: the cookie is session.cookie")
        self._contents()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._contents()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._contents())

    def __len__(self) -> int:
        return len(self._contents())

    def __repr__(self) -> str:
        loaded = "not loaded yet" if self._data is None else repr(self._data)
        return f"<Session {short_id(self._id)} {loaded}>"

    @property
    def id(self) -> str:
        """The session id: the signed part of the cookie, the key in the store."""
        self._contents()
        return self._id

    @property
    def cookie(self) -> SessionCookie:
        """This session's cookie; set ``cookie.max_age`` to change how long it lives."""
        self._contents()
        return self._cookie

    @property
    def new(self) -> bool:
        """True until the browser sends this session's cookie back."""
        return self._cookie_id != self.id

    @property
    def modified(self) -> bool:
        """True once the data, the id or the lifetime differ from what was loaded."""
        return self._data is not None and (self._forced or lifecycle.state(self) != self._loaded)

    @modified.setter
    def modified(self, value: bool) -> None:
        self._contents()
        self._forced = bool(value)

    @property
    def permanent(self) -> bool:
        """Flask's word for "the cookie has an expiry": it outlives the browser."""
        return self.cookie.expires_at is not None

    @permanent.setter
    def permanent(self, value: bool) -> None:
        if value != self.permanent:
            self.cookie.max_age = self.engine.permanent_lifetime if value else None

    def save(self) -> None:
        """Write to the store now; the end of the request writes again only if changed."""
        self._contents()
        lifecycle.write(self, "manual", lifecycle.state(self))

    def reload(self) -> None:
        """Replace the data with what the store holds now (KeyError when it is gone)."""
        data = lifecycle.call_store(self, "get", self.id)
        if data is None or not lifecycle.adopt(self, self._id, data):
            raise KeyError(f"session {short_id(self._id)} is no longer in the store")

    def touch(self) -> None:
        """Restart the cookie's countdown (the store hears of it at the end of the request)."""
        self.cookie.reset_max_age()

    def regenerate(self) -> None:
        """Destroy this session in the store; carry on with a new id and no data."""
        self._contents()
        lifecycle.regenerate(self, keep_data=False)

    def rotate(self) -> None:
        """Move this session to a new id, keeping its data: call it at login."""
        self._contents()
        lifecycle.regenerate(self, keep_data=True)

    def destroy(self) -> None:
        """Delete the session from the store and expire its cookie; later writes start anew."""
        self._contents()
        lifecycle.destroy(self, "destroy")
