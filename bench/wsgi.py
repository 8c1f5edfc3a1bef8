"""Raw WSGI calls into an app: no test client, no sockets.

The environ is built once with ``werkzeug.test.EnvironBuilder`` and shallow-copied for
every request; the response body is consumed and closed as a server would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.test import EnvironBuilder

Environ = dict[str, Any]


class Response:
    """What came back from one call: status, headers and the body."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info=None):
        self.status, self.headers = status, headers
        return lambda data: None

    def cookies(self) -> dict[str, str]:
        """The name=value pairs this response set (deletions included, as empty values)."""
        jar: dict[str, str] = {}
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, raw = pair.partition("=")
                jar[key.strip()] = raw.strip()
        return jar


def environ(path: str, cookie: str | None = None) -> Environ:
    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(path=path, method="GET", headers=headers)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app: Flask, base: Environ) -> Response:
    """One request with a copy of ``base``; returns the full response."""
    response = Response()
    body = app.wsgi_app(dict(base), response.start_response)
    try:
        response.body = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return response


def _start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
    return _write


def _write(data: bytes) -> None:
    pass


def loop(app: Flask, base: Environ) -> Callable[[int], None]:
    """A function making ``n`` requests back to back: the timed inner loop."""
    wsgi_app = app.wsgi_app
    start_response = _start_response

    def run(n: int) -> None:
        for _ in range(n):
            body = wsgi_app(dict(base), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


def establish(app: Flask) -> str:
    """Make a first modifying request and return the ``Cookie`` header that carries it."""
    response = call(app, environ("/count"))
    assert response.status.startswith("200"), response.status
    jar = response.cookies()
    assert jar, f"{app.name}: the first modifying request set no cookie"
    return "; ".join(f"{name}={value}" for name, value in jar.items())
