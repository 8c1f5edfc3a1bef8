"""``Session``: the mapping a handler reads and writes (express's ``session/session.js``).

The session does not talk to the store itself: it asks its ``Lifecycle`` (the engine's
per-request state) to load, save, regenerate, reload or destroy it. Loading is lazy, so a
request that never touches the session never reaches the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol

from .cookie import SessionCookie
from .stores.base import compact_json

__all__ = ["Session", "Lifecycle", "SessionTooLarge", "serialize_data"]

RESERVED_KEY = "cookie"
DEFAULT_PERMANENT_LIFETIME = 31 * 24 * 3600.0  # Flask's default PERMANENT_SESSION_LIFETIME


class SessionTooLarge(ValueError):
    """The session's JSON exceeds the engine's ``max_size``; nothing was written.

    Raised at save time (``session.save()`` or the end of the request), before the store
    is called, so the store still holds the session as it was.
    """


class Lifecycle(Protocol):
    """What a session needs from the request that owns it."""

    def load(self, session: Session) -> None: ...
    def save(self, session: Session) -> None: ...
    def reload(self, session: Session) -> None: ...
    def regenerate(self, session: Session) -> None: ...
    def destroy(self, session: Session) -> None: ...
    def is_new(self, session: Session) -> bool: ...
    def is_modified(self, session: Session) -> bool: ...
    def mark_modified(self, session: Session) -> None: ...


def serialize_data(data: dict[str, Any]) -> str:
    """The data as compact JSON; a value JSON can't hold is a ``TypeError`` naming its key."""
    try:
        return compact_json(data)
    except (TypeError, ValueError) as error:
        for key, value in data.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as inner:
                raise TypeError(f"session[{key!r}] cannot be stored as JSON: {inner}") from None
        raise TypeError(f"session data cannot be stored as JSON: {error}") from None


def data_hash(serialized: str) -> bytes:
    """A digest of the serialized data; a changed digest means a changed session."""
    return hashlib.blake2b(serialized.encode(), digest_size=16).digest()


class Session(MutableMapping[str, Any]):
    """A dict of JSON-able values plus ``id``, ``cookie`` and the express methods."""

    __slots__ = (
        "_lifecycle",
        "_data",
        "_id",
        "_cookie",
        "accessed",
        "writes",
        "copy_on_write",
        "permanent_lifetime",
    )

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self._data: dict[str, Any] | None = None
        self._id: str | None = None
        self._cookie: SessionCookie | None = None
        self.accessed = False
        self.writes = 0  # assignments and deletions so far (a changed flat session has some)
        # True while the data dict is shared with the lifecycle's record of what was
        # loaded: the first assignment or deletion then works on a copy, so that record
        # stays as it was.
        self.copy_on_write = False
        #: Seconds ``permanent = True`` gives a cookie that has no max age (Flask's
        #: ``PERMANENT_SESSION_LIFETIME``; the Flask adapter sets it from the app's config).
        self.permanent_lifetime: float = DEFAULT_PERMANENT_LIFETIME

    # -- filled in by the engine --------------------------------------------------------
    def _fill(self, sid: str, data: dict[str, Any], cookie: SessionCookie) -> None:
        self._id, self._data, self._cookie = sid, data, cookie

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def _contents(self) -> dict[str, Any]:
        self.accessed = True
        if self._data is None:
            self._lifecycle.load(self)
        assert self._data is not None
        return self._data

    # -- the mapping --------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._contents()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._contents().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys must be strings (JSON objects), not {key!r}")
        if key == RESERVED_KEY:
            raise KeyError("'cookie' is reserved: use session.cookie for the cookie settings")
        self._writable()[key] = value
        self.writes += 1

    def __delitem__(self, key: str) -> None:
        del self._writable()[key]
        self.writes += 1

    def _writable(self) -> dict[str, Any]:
        data = self._contents()
        if self.copy_on_write:
            data = self._data = dict(data)
            self.copy_on_write = False
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._contents())

    def __len__(self) -> int:
        return len(self._contents())

    def __contains__(self, key: object) -> bool:
        return key in self._contents()

    def __repr__(self) -> str:
        if self._data is None:
            return "<Session (not loaded yet)>"
        return f"<Session {self._id} {self._data!r}>"

    # -- identity and cookie ------------------------------------------------------------
    @property
    def id(self) -> str:
        """The session id (the signed part of the cookie, the key in the store)."""
        self._contents()
        assert self._id is not None
        return self._id

    @property
    def cookie(self) -> SessionCookie:
        """This session's cookie; change ``cookie.max_age`` to change this session's life."""
        self._contents()
        assert self._cookie is not None
        return self._cookie

    # -- Flask's SessionMixin attributes ------------------------------------------------
    @property
    def permanent(self) -> bool:
        """True when the cookie outlives the browser session (it has an expiry)."""
        return self.cookie.expires_at is not None

    @permanent.setter
    def permanent(self, value: bool) -> None:
        # Flask's idiom: True gives a browser-session cookie an expiry, False removes it.
        if value and self.cookie.expires_at is None:
            self.cookie.max_age = self.permanent_lifetime
        elif not value and self.cookie.expires_at is not None:
            self.cookie.max_age = None

    @property
    def new(self) -> bool:
        """True until the browser has sent this session's cookie back."""
        return self._lifecycle.is_new(self)

    @property
    def modified(self) -> bool:
        """True when the data (or the cookie's lifetime) changed since it was loaded."""
        return self._lifecycle.is_modified(self)

    @modified.setter
    def modified(self, value: bool) -> None:
        # Flask's idiom after an in-place change; changes are detected anyway, but setting
        # True forces the write (e.g. for a value mutated outside the request).
        if value:
            self._contents()
            self._lifecycle.mark_modified(self)

    # -- the express methods ------------------------------------------------------------
    def regenerate(self) -> None:
        """Destroy this session in the store and carry on with a new id and empty data."""
        self._lifecycle.regenerate(self)

    def destroy(self) -> None:
        """Delete the session from the store and expire the cookie (a later write starts anew)."""
        self._lifecycle.destroy(self)

    def reload(self) -> None:
        """Replace the data with what the store holds now."""
        self._lifecycle.reload(self)

    def save(self) -> None:
        """Write to the store now; the end of the request then writes only if changed again."""
        self._contents()
        self._lifecycle.save(self)

    def touch(self) -> None:
        """Restart the cookie's countdown (the store is told at the end of the request)."""
        self.cookie.reset_max_age()

    def to_json(self) -> dict[str, Any]:
        """The stored shape: the express ``cookie`` object first, then the data."""
        return {RESERVED_KEY: self.cookie.to_json(), **self._contents()}
