"""Signals for each step of a session's life, through blinker, as ``flask.signals``.

The sender is the ``SessionEngine``; the keyword data is plain and safe to log: ids are
cut short (an id is a bearer token) and the session's contents are never included.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace, Signal

_signals = Namespace()

#: A session was looked up: ``sid``, ``found``, ``rejected`` (None, or why no stored
#: session came of the cookie: "unsigned", "bad_signature", "invalid_id", "unknown_id",
#: "corrupt" or "absolute_timeout").
session_loaded = _signals.signal("session-loaded")
#: A new session: ``sid``, ``reason`` ("no_cookie", "rejected", "regenerated", "destroyed").
session_created = _signals.signal("session-created")
#: Written to the store: ``sid``, ``reason`` ("modified", "resave", "save_uninitialized", "manual").
session_saved = _signals.signal("session-saved")
#: An unchanged session's expiry was moved in the store: ``sid``, ``expires``.
session_touched = _signals.signal("session-touched")
#: ``regenerate()`` or ``rotate()``: ``old_sid``, ``sid``, ``kept_data``.
session_regenerated = _signals.signal("session-regenerated")
#: ``destroy()`` or ``unset="destroy"``: ``sid``, ``reason`` ("destroy" or "unset").
session_destroyed = _signals.signal("session-destroyed")
#: Nothing was written: another request destroyed or rotated the session first. ``sid``.
session_interrupted = _signals.signal("session-interrupted")
#: A Set-Cookie header carries the session: ``name``, ``sid``, ``attributes``.
cookie_set = _signals.signal("cookie-set")
#: A Set-Cookie header deletes the cookie: ``name``.
cookie_cleared = _signals.signal("cookie-cleared")
#: A store method ran: ``operation``, ``store``, ``key``, ``ttl``, ``found``, ``error``,
#: ``duration``.
store_called = _signals.signal("store-called")


def emit(signal: Signal, sender: Any, **data: Any) -> None:
    """Send ``signal`` only when someone listens: without receivers nothing is built."""
    if signal.receivers:
        signal.send(sender, **data)


def short_id(sid: str | None) -> str:
    """Enough of an id to follow it, never enough to use it: a quarter, at most 8 characters."""
    return "" if sid is None else sid[: min(8, len(sid) // 4)] + "…"
