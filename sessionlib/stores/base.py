"""``Store``: the interface every session store implements (express's ``session/store.js``).

Stores hold each session as the express-shaped JSON object (a dict here) under its id.
They never pickle. ``get_and_touch`` exists so a store that can read and extend a
session's life in one round trip (Redis ``GETEX``) does so on every returning request.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection
from datetime import datetime
from typing import Any

__all__ = ["Store", "SessionData", "seconds_left", "merged_session"]

SessionData = dict[str, Any]


class StoredSession(dict[str, Any]):
    """A session as the engine hands it to ``Store.set``: a plain dict that also carries
    its JSON text and expiry timestamp, so a store need not serialize or parse it again.
    Stores may ignore both and treat it as the dict it is."""

    json_text: str
    expires_at: float | None


# One encoder for every call, as json.dumps does for its defaults (it builds a new one
# per call for any other settings).
_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def compact_json(value: Any) -> str:
    """JSON as stores keep it: no spaces, and no NaN or Infinity (JavaScript can't read them)."""
    return _COMPACT.encode(value)


def json_text(data: SessionData) -> str:
    """The session as compact JSON: the engine's text when it has it, else ``compact_json``."""
    if isinstance(data, StoredSession):
        return data.json_text
    return compact_json(data)


def expiry_timestamp(data: SessionData) -> float | None:
    """The session's ``cookie.expires`` as a Unix timestamp, or None when it has none."""
    if isinstance(data, StoredSession):
        return data.expires_at
    expires = data.get("cookie", {}).get("expires")
    if not isinstance(expires, str):
        return None
    try:
        return datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def seconds_left(data: SessionData, default: float | None) -> float | None:
    """Seconds until the session's ``cookie.expires``, or ``default`` when it has none.

    This is connect-redis's TTL rule; a result <= 0 means the session has already expired.
    """
    moment = expiry_timestamp(data)
    return default if moment is None else moment - time.time()


def merged_session(
    current: Any, data: SessionData, changed: Collection[str], removed: Collection[str]
) -> SessionData:
    """``data``'s cookie and ``changed`` keys laid onto ``current``, minus ``removed``.

    ``current`` is what the store holds now; when that is nothing (or not a session)
    the result is ``data`` itself, so a merge never writes a session missing its keys.
    """
    if not isinstance(current, dict) or not isinstance(current.get("cookie"), dict):
        return data
    merged: SessionData = {"cookie": data["cookie"]}
    for key, value in current.items():
        if key != "cookie" and key not in removed:
            merged[key] = value
    for key in changed:
        merged[key] = data[key]
    return merged


def whole_seconds(seconds: float) -> int:
    """A TTL for the store: rounded up, as connect-redis does, so nothing dies early."""
    return math.ceil(seconds)


class Store:
    """Base class: implement ``get``, ``set`` and ``destroy``; the rest are optional.

    ``touch`` resets a session's expiry without rewriting it; ``all``, ``clear`` and
    ``length`` serve admin pages and tests. Stores raise ``StoreUnavailable`` when their
    backend can't be reached.
    """

    def get(self, sid: str) -> SessionData | None:
        """The stored session, or None when it is unknown or expired."""
        raise NotImplementedError

    def set(self, sid: str, data: SessionData) -> None:
        """Store the session (an already-expired one is deleted instead)."""
        raise NotImplementedError

    def destroy(self, sid: str) -> None:
        """Forget the session; unknown ids are not an error."""
        raise NotImplementedError

    def touch(self, sid: str, data: SessionData) -> None:
        """Move the session's expiry to ``data['cookie']['expires']`` without rewriting it."""

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> None:
        """Write ``data``'s ``changed`` keys and cookie onto the stored session, drop the
        ``removed`` keys, atomically; store ``data`` whole when nothing is stored.

        Used by ``SessionEngine(merge=True)``. This default is plain ``set`` (the last
        writer wins); stores that can read-modify-write atomically override it.
        """
        self.set(sid, data)

    def get_and_touch(self, sid: str, ttl: float | None) -> SessionData | None:
        """Read the session and extend its life to ``ttl`` seconds from now (None: the default).

        The default reads only; the engine touches at the end of the request instead.
        Stores that can do both in one step override this and set ``touches_on_get``.
        """
        return self.get(sid)

    #: True when ``get_and_touch`` really extends the session's life.
    touches_on_get = False

    def all(self) -> dict[str, SessionData]:
        """Every live session by id."""
        raise NotImplementedError

    def clear(self) -> None:
        """Delete every session."""
        raise NotImplementedError

    def length(self) -> int:
        """How many live sessions the store holds."""
        return len(self.all())
