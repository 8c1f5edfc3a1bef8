"""The library's exception types."""

from __future__ import annotations

__all__ = ["StoreUnavailable"]


class StoreUnavailable(ConnectionError):
    """The session store could not be reached; nothing stored was changed.

    Raised in place of the store client's own connection and timeout errors so that an
    app can map one exception type to ``503 Service Unavailable``.
    """
