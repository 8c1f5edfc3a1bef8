"""sessionlib: server-side sessions for Flask, the Python counterpart of express-session.

Cookies and Redis entries use express-session's and connect-redis's formats, so a Flask
app and an Express app with the same secret and Redis can share sessions.
"""

from .cookie import CookieOptions, SessionCookie
from .engine import SessionEngine
from .errors import StoreUnavailable
from .flask import SessionManager
from .live import LiveServer
from .session import Session, SessionTooLarge
from .signing import sign, unsign
from .stores import MemoryStore, RedisStore, Store

__all__ = [
    "SessionManager",
    "Session",
    "Store",
    "MemoryStore",
    "RedisStore",
    "StoreUnavailable",
    "SessionTooLarge",
    "sign",
    "unsign",
    "LiveServer",
    "SessionEngine",
    "SessionCookie",
    "CookieOptions",
]
__version__ = "0.1.0"
