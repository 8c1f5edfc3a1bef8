"""sessionlib: server-side sessions for Flask, the Python counterpart of express-session.

Cookies and Redis entries use express-session's and connect-redis's formats, so a Flask
app and an Express app with the same secret and Redis can share sessions.
"""

from . import signals
from .engine import SessionEngine
from .flask import SessionManager
from .lifecycle import SessionTooLarge
from .session import Session
from .signing import sign, unsign
from .stores import MemoryStore, RedisStore, Store, StoreUnavailable

__all__ = [
    "SessionManager",
    "SessionEngine",
    "Session",
    "Store",
    "MemoryStore",
    "RedisStore",
    "StoreUnavailable",
    "SessionTooLarge",
    "sign",
    "unsign",
    "signals",
]
__version__ = "0.2.0"
