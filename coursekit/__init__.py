"""coursekit: the course's teaching helpers (a live server, tables, diagrams, checks, a
recorder, the learner's own package).

Kept apart from ``sessionlib`` on purpose: the library is what a Flask app installs;
this package only helps notebooks show what the library does. Its parts load on first
use, so that writing ``sessionlib/`` from the notebooks never needs ``sessionlib``.
"""

from importlib import import_module
from typing import Any

#: Each public name and the module of coursekit that defines it.
_WHERE = {
    "LiveServer": "live",
    "Recorder": "recorder",
    "Mermaid": "diagrams",
    "show_mermaid": "diagrams",
    "Table": "table",
    "shorten": "table",
    "browser_url": "links",
    "server_link": "links",
    "check": "exercises",
    "hint": "exercises",
    "compare": "exercises",
    "quiz": "exercises",
    "start_lesson": "package",
    "mine": "package",
    "exchange_table": "wire",
    "jar_table": "wire",
    "redis_client": "backends",
    "redis_kind": "backends",
    "redis_prefix": "backends",
    "short": "stores",
    "store_table": "stores",
    "show_source": "source",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'coursekit' has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
