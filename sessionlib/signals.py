"""Signals announcing each step of a session's life, through blinker as ``flask.signals`` does.

Every signal is sent with the ``SessionEngine`` as sender and plain keyword data a handler
can log. Ids are shortened to their first eight characters (an id is a bearer token) and
the session's contents are never included. With no receivers nothing is even built.
"""

from __future__ import annotations

from blinker import Namespace

__all__ = [
    "session_loaded",
    "session_created",
    "session_saved",
    "session_touched",
    "session_regenerated",
    "session_destroyed",
    "cookie_set",
    "cookie_cleared",
    "store_called",
    "short_id",
]

_signals = Namespace()

#: A request's cookie was looked at. ``sid``, ``found`` (bool) and ``rejected``: None, or
#: why the cookie was refused: "unsigned", "bad_signature", "invalid_id", "unknown_id"
#: (not in the store: stores forget expired sessions too), "expired" or "corrupt".
session_loaded = _signals.signal("session-loaded")
#: A new session was generated. ``sid`` and ``reason``: "no_cookie", "rejected",
#: "regenerated" or "destroyed".
session_created = _signals.signal("session-created")
#: The session was written to the store. ``sid`` and ``reason``: "modified", "resave",
#: "save_uninitialized" or "manual".
session_saved = _signals.signal("session-saved")
#: An unmodified session's expiry was extended in the store. ``sid``, ``expires``.
session_touched = _signals.signal("session-touched")
#: ``regenerate()``: ``old_sid``, ``sid``.
session_regenerated = _signals.signal("session-regenerated")
#: ``destroy()`` or ``unset="destroy"``: ``sid``, ``reason`` ("destroy" or "unset").
session_destroyed = _signals.signal("session-destroyed")
#: A Set-Cookie header went out: ``name``, ``sid``, ``attributes`` (dict), ``header``.
cookie_set = _signals.signal("cookie-set")
#: A Set-Cookie header that deletes the cookie went out: ``name``, ``header``.
cookie_cleared = _signals.signal("cookie-cleared")
#: A store method ran: ``operation`` ("get", "get_and_touch", "set", "merge", "touch",
#: "destroy"),
#: ``store`` (class name), ``key``, ``ttl`` (seconds or None), ``found`` (for reads),
#: ``error`` (the exception's text, or None), ``duration`` (seconds).
store_called = _signals.signal("store-called")


def short_id(sid: str | None) -> str | None:
    """The first eight characters of an id: enough to follow it, not enough to use it."""
    if sid is None or len(sid) <= 8:
        return sid
    return sid[:8] + "…"
