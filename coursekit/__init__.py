"""coursekit: the course's teaching helpers (tables, diagrams, checks, a recorder).

Kept apart from ``sessionlib`` on purpose: the library is what a Flask app installs;
this package only helps notebooks show what the library does.
"""

from .backends import redis_client, redis_kind
from .checks import check
from .diagrams import Mermaid, show_mermaid
from .links import browser_url, server_link
from .live import LiveServer
from .recorder import Recorder
from .source import show_source
from .stores import short, store_table
from .table import Table, shorten
from .wire import exchange_table, jar_table

__all__ = [
    "LiveServer",
    "Recorder",
    "Mermaid",
    "Table",
    "browser_url",
    "check",
    "exchange_table",
    "jar_table",
    "redis_client",
    "redis_kind",
    "server_link",
    "short",
    "shorten",
    "show_mermaid",
    "show_source",
    "store_table",
]
