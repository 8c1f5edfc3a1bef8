"""Tables of what went over the wire: requests and responses, and a client's cookie jar."""

from __future__ import annotations

import time
from collections.abc import Iterable

import requests

from .table import Table, shorten

__all__ = ["compact_set_cookie", "exchange_table", "jar_table"]


def compact_set_cookie(header: str | None, keep: int = 24) -> str:
    """A Set-Cookie header with its long value cut short and every attribute kept."""
    if not header:
        return "—"
    first, _, attributes = header.partition(";")
    name, _, value = first.partition("=")
    return f"{name}={shorten(value, keep)}" + (f";{attributes}" if attributes else "")


def hops(response: requests.Response) -> list[requests.Response]:
    """The redirects that led to ``response``, then ``response`` itself."""
    return [*response.history, response]


def exchange_table(
    responses: requests.Response | Iterable[requests.Response], title: str | None = None
) -> Table:
    """One row per HTTP exchange: request line, Cookie sent, status, Set-Cookie received, body."""
    if isinstance(responses, requests.Response):
        responses = [responses]
    rows = []
    for number, response in enumerate((hop for r in responses for hop in hops(r)), start=1):
        request = response.request
        rows.append(
            [
                number,
                f"{request.method} {request.path_url}",
                shorten(request.headers.get("Cookie", "—"), 48),
                response.status_code,
                compact_set_cookie(response.headers.get("Set-Cookie")),
                shorten(response.text, 30),
            ]
        )
    return Table(
        ["#", "request", "Cookie (sent)", "status", "Set-Cookie (received)", "body"],
        rows,
        title,
    )


def jar_table(
    jar: requests.Session | requests.cookies.RequestsCookieJar, title: str | None = None
) -> Table:
    """The cookies a client holds, with the attributes that decide when it sends them."""
    cookies = jar.cookies if isinstance(jar, requests.Session) else jar
    now = time.time()
    rows = []
    for cookie in cookies:
        rest = {k.lower(): v for k, v in getattr(cookie, "_rest", {}).items()}
        expires = (
            "end of browser session"
            if cookie.expires is None
            else f"in {cookie.expires - now:.0f} s"
        )
        rows.append(
            [
                cookie.name,
                shorten(cookie.value, 44),
                cookie.domain or "(host)",
                cookie.path,
                expires,
                "yes" if cookie.secure else "no",
                "yes" if "httponly" in rest else "no",
                rest.get("samesite", "—"),
            ]
        )
    return Table(
        ["name", "value", "domain", "path", "expires", "Secure", "HttpOnly", "SameSite"],
        rows,
        title or "The cookie jar",
    )
