"""``Store``: what every session store implements (express's ``session/store.js``).

A store keeps each session as express's JSON object under its id: the app's data plus a
``cookie`` object whose ``expires`` says when the store may forget it. JSON, never pickle.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

SessionData = dict[str, Any]


class StoreUnavailable(ConnectionError):
    """The store could not be reached and nothing stored was changed: answer 503."""


def compact_json(value: Any) -> str:
    """JSON as stores keep it: no spaces, and no NaN or Infinity (JavaScript can't read them)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def iso_utc(timestamp: float) -> str:
    """A Unix time as JavaScript's ``Date.toJSON()`` writes it: ``2026-11-30T22:00:00.000Z``."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expires_at(data: SessionData) -> float | None:
    """The session's ``cookie.expires`` as a Unix time; None for a browser-session cookie."""
    cookie = data.get("cookie")
    try:
        return datetime.fromisoformat(cookie["expires"].replace("Z", "+00:00")).timestamp()
    except (TypeError, KeyError, AttributeError, ValueError):
        return None


def ttl_seconds(data: SessionData, default: float) -> int:
    """connect-redis's TTL: whole seconds (rounded up) to ``cookie.expires``, else ``default``."""
    moment = expires_at(data)
    return math.ceil(default if moment is None else moment - time.time())


def merged(
    current: SessionData, data: SessionData, changed: Collection[str], removed: Collection[str]
) -> SessionData:
    """``merge=True``: this request's ``changed`` keys and cookie laid over what is stored now."""
    result = {key: value for key, value in current.items() if key not in removed}
    result.update({key: data[key] for key in changed}, cookie=data["cookie"])
    return result


class Store:
    """Implement ``get``, ``set``, ``destroy`` and ``ids``; the rest have working defaults.

    ``replace`` and ``merge`` write only while the session is still stored, so a request
    in flight never brings back a session another request destroyed. The defaults check
    and write in two steps; a store that can do both atomically should override them.
    """

    #: True when ``get_and_touch`` really restarts the session's life in the store.
    touches_on_get = False

    def get(self, sid: str) -> SessionData | None:
        """A fresh copy of the session (the caller may change it), or None if unknown or expired."""
        raise NotImplementedError

    def set(self, sid: str, data: SessionData) -> None:
        """Store the session until its ``cookie.expires`` (or the store's default TTL)."""
        raise NotImplementedError

    def destroy(self, sid: str) -> None:
        """Forget the session; an unknown id is not an error."""
        raise NotImplementedError

    def ids(self) -> list[str]:
        """The ids of every stored session."""
        raise NotImplementedError

    def replace(self, sid: str, data: SessionData) -> bool:
        """``set``, but only while the session is still stored; True when it was written."""
        if self.get(sid) is None:
            return False
        self.set(sid, data)
        return True

    def merge(
        self, sid: str, data: SessionData, changed: Collection[str], removed: Collection[str]
    ) -> bool:
        """``replace`` with just this request's changes applied to what is stored now."""
        current = self.get(sid)
        if current is None:
            return False
        self.set(sid, merged(current, data, changed, removed))
        return True

    def touch(self, sid: str, data: SessionData) -> None:
        """Move the session's expiry to ``data``'s without rewriting it (optional)."""

    def get_and_touch(self, sid: str, seconds: float | None) -> SessionData | None:
        """``get``, and restart the session's life at ``seconds`` (None: the store's default)
        where the store can do both in one step (``touches_on_get``), as Redis's GETEX."""
        return self.get(sid)

    def all(self) -> dict[str, SessionData]:
        """Every stored session by id."""
        found = {sid: self.get(sid) for sid in self.ids()}
        return {sid: data for sid, data in found.items() if data is not None}

    def clear(self) -> None:
        """Forget every session."""
        for sid in self.ids():
            self.destroy(sid)

    def length(self) -> int:
        """How many sessions are stored."""
        return len(self.ids())
