"""``LiveServer``: a real WSGI server on a free loopback port, in a background thread.

Notebooks and tests talk to it over real HTTP. Port 0 lets the OS pick a free port, so
starting a server again (a re-run notebook cell) never meets "address in use"; giving a
``name`` makes a new server with that name stop the one it replaces.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["LiveServer"]


class _QuietHandler(WSGIRequestHandler):
    """No access log lines: they would drown a notebook's output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LiveServer:
    """Serve ``app`` on ``http://127.0.0.1:<free port>`` until ``stop()``.

    ``with LiveServer(app) as server: requests.get(server.url + "/")`` or
    ``server = LiveServer(app, name="shop").start()`` in a notebook.
    """

    _running: ClassVar[dict[str, LiveServer]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str | None = None,
        threaded: bool = True,
        quiet: bool = True,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.name = name
        self.threaded = threaded
        self.quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running: call start() first")
        return self._server.server_port

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveServer:
        """Bind, then serve in a daemon thread; returns self once requests can be made."""
        if self.running:
            return self
        if self.name is not None:
            with self._registry_lock:
                previous = self._running.pop(self.name, None)
            if previous is not None:
                previous.stop()
        self._server = make_server(
            self.host,
            self.requested_port,
            self.app,
            threaded=self.threaded,
            request_handler=_QuietHandler if self.quiet else None,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"LiveServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        if self.name is not None:
            with self._registry_lock:
                self._running[self.name] = self
        return self

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        if self.name is not None:
            with self._registry_lock:
                if self._running.get(self.name) is self:
                    del self._running[self.name]

    @classmethod
    def stop_all(cls) -> None:
        """Stop every named server still running (e.g. at the end of a notebook)."""
        with cls._registry_lock:
            servers = list(cls._running.values())
        for server in servers:
            server.stop()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<LiveServer {self.name or ''} {state}>".replace("  ", " ")
