"""``Recorder``: what each request did to its session, told as tables and a sequence diagram.

It listens to the session signals of the package the app runs on (``sessionlib``'s, or a
learner's own ``my_sessionlib``'s) and to Flask's own request signals while a ``with``
block runs, groups what it hears by request, and renders the story: cookie in, store
calls, Set-Cookie out. Nothing is simulated: every arrow is something that happened.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import flask

from .diagrams import Mermaid
from .table import Table, shorten
from .wire import compact_set_cookie

__all__ = ["Recorder", "RequestStory"]

#: What the Recorder calls each signal of the package's ``signals`` module.
_SESSION_SIGNALS = {
    "loaded": "session_loaded",
    "created": "session_created",
    "saved": "session_saved",
    "touched": "session_touched",
    "regenerated": "session_regenerated",
    "destroyed": "session_destroyed",
    "interrupted": "session_interrupted",
    "cookie_set": "cookie_set",
    "cookie_cleared": "cookie_cleared",
    "store": "store_called",
}


def signals_of(engine: Any) -> Any:
    """The ``signals`` module ``engine``'s own code sends on (any copy of sessionlib, even
    one that was loaded again since under the same name)."""
    return type(engine).__init__.__globals__["signals"]


def is_redis(store: Any) -> bool:
    """Whether ``store`` is a RedisStore, whichever package's (the reference or a learner's)."""
    return any(cls.__name__ == "RedisStore" for cls in type(store).__mro__)


@dataclass
class RequestStory:
    """One request: what came in, the session events in order, what went out."""

    method: str
    path: str
    cookie_in: str | None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int | None = None
    set_cookie: str | None = None

    def store_calls(self) -> list[dict[str, Any]]:
        return [data for kind, data in self.events if kind == "store"]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


class Recorder:
    """Record a block of requests: ``with Recorder(app) as story: ...``.

    Then ``story.table()`` and ``story.diagram()`` tell what each request did.
    """

    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self.engine = app.extensions["sessionlib"].engine
        self.requests: list[RequestStory] = []
        self._current: dict[int, RequestStory] = {}
        self._lock = threading.Lock()
        self._receivers: list[tuple[Any, Any]] = []

    # -- recording ----------------------------------------------------------------------
    def __enter__(self) -> Recorder:
        self._connect(flask.request_started, self._started, self.app)
        self._connect(flask.request_finished, self._finished, self.app)
        signals = signals_of(self.engine)
        for kind, name in _SESSION_SIGNALS.items():
            self._connect(getattr(signals, name), self._event_receiver(kind), self.engine)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self._receivers.clear()

    def _connect(self, signal: Any, receiver: Any, sender: Any) -> None:
        signal.connect(receiver, sender=sender, weak=False)
        self._receivers.append((signal, receiver))

    def _started(self, sender: Any, **extra: Any) -> None:
        request = flask.request
        story = RequestStory(
            request.method, request.full_path.rstrip("?"), request.headers.get("Cookie")
        )
        with self._lock:
            self.requests.append(story)
            self._current[threading.get_ident()] = story

    def _finished(self, sender: Any, response: flask.Response, **extra: Any) -> None:
        with self._lock:
            story = self._current.pop(threading.get_ident(), None)
        if story is not None:
            story.status = response.status_code
            story.set_cookie = response.headers.get("Set-Cookie")

    def _event_receiver(self, kind: str) -> Any:
        def receive(sender: Any, **data: Any) -> None:
            with self._lock:
                story = self._current.get(threading.get_ident())
            if story is not None:
                story.events.append((kind, data))

        return receive

    # -- rendering ----------------------------------------------------------------------
    def table(self, title: str | None = None) -> Table:
        """One row per request: Cookie in, session events, store calls, Set-Cookie out."""
        rows = []
        for number, story in enumerate(self.requests, start=1):
            rows.append(
                [
                    number,
                    f"{story.method} {story.path}",
                    shorten(story.cookie_in or "—", 36),
                    "; ".join(
                        _describe(kind, data) for kind, data in story.events if kind != "store"
                    )
                    or "—",
                    "; ".join(self._command(call) for call in story.store_calls()) or "—",
                    story.status,
                    compact_set_cookie(story.set_cookie),
                ]
            )
        return Table(
            ["#", "request", "Cookie in", "session", "store calls", "status", "Set-Cookie out"],
            rows,
            title,
        )

    def diagram(self) -> Mermaid:
        """A Mermaid sequence diagram of browser -> Flask -> store, drawn from the events."""
        store_name = "Redis" if is_redis(self.engine.store) else type(self.engine.store).__name__
        lines = [
            "sequenceDiagram",
            "    participant B as Browser",
            "    participant F as Flask + sessionlib",
            f"    participant S as {store_name}",
        ]
        for story in self.requests:
            cookie = (
                "with cookie"
                if story.cookie_in and self.engine.name in story.cookie_in
                else "no cookie"
            )
            lines.append(f"    B->>F: {story.method} {_safe(story.path)} ({cookie})")
            for kind, data in story.events:
                if kind == "store":
                    lines.append(f"    F->>S: {_safe(self._command(data))}")
                    if data.get("error"):
                        lines.append(f"    S--xF: {_safe(shorten(data['error'], 50))}")
                    elif data.get("found") is not None:
                        lines.append(
                            f"    S-->>F: {'session JSON' if data['found'] else 'nothing'}"
                        )
                elif kind not in ("cookie_set", "cookie_cleared"):
                    lines.append(f"    Note over F: {_safe(_describe(kind, data))}")
            out = f"{story.status}"
            if story.set_cookie:
                out += " + Set-Cookie" + (" (clear)" if "Max-Age=0" in story.set_cookie else "")
            lines.append(f"    F-->>B: {out}")
        return Mermaid("\n".join(lines))

    def _command(self, call: dict[str, Any]) -> str:
        """A store call as the command it costs: Redis syntax for Redis, a method call otherwise."""
        key, ttl, operation = call["key"], call.get("ttl"), call["operation"]
        if is_redis(self.engine.store):
            ttl_text = "" if ttl is None else f" EX {round(ttl)}"
            return {
                "get": f"GET {key}",
                "get_and_touch": f"GETEX {key}{ttl_text}",
                "set": f"SET {key} …{ttl_text}",
                "replace": f"SET {key} …{ttl_text} XX",
                "touch": f"EXPIRE {key} {'' if ttl is None else round(ttl)}".rstrip(),
                "destroy": f"DEL {key}",
                "merge": f"WATCH {key}, GET, MULTI, SET …{ttl_text} XX, EXEC",
            }.get(operation, f"{operation} {key}")
        return f"{operation}({key})"


def _describe(kind: str, data: dict[str, Any]) -> str:
    sid = data.get("sid")
    if kind == "loaded":
        if data.get("found"):
            return f"loaded {sid}"
        return (
            f"cookie rejected: {data['rejected']}" if data.get("rejected") else "no session cookie"
        )
    if kind == "created":
        return f"new session {sid}"
    if kind == "saved":
        return f"saved ({data['reason']})"
    if kind == "touched":
        return "touched"
    if kind == "regenerated":
        verb = "rotated" if data.get("kept_data") else "regenerated"
        if not data.get("old_sid"):
            return f"{verb}: new id {sid}"
        return f"{verb} {data['old_sid']} → {sid}"
    if kind == "destroyed":
        return f"destroyed {sid}"
    if kind == "interrupted":
        return f"not written: {sid} was ended by another request"
    if kind == "cookie_set":
        return "Set-Cookie"
    if kind == "cookie_cleared":
        return "cookie cleared"
    return kind


def _safe(text: str) -> str:
    """Mermaid message text: no characters that end or break a message line."""
    return text.replace(";", ",").replace("#", "")
