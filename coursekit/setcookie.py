"""Set-Cookie headers taken apart: one row per cookie, one column per attribute.

``requests`` joins several Set-Cookie headers into one string; this reads them one by
one from the raw response, so a lesson can show what the server asked the jar to keep.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests

from .table import Table, shorten
from .wire import hops

__all__ = ["ATTRIBUTES", "parse_set_cookie", "set_cookie_headers", "set_cookie_table"]

#: The attributes shown, in the order RFC 6265 lists them.
ATTRIBUTES = ["Expires", "Max-Age", "Domain", "Path", "Secure", "HttpOnly", "SameSite"]


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """``"a=1; Path=/; HttpOnly"`` -> ``("a", "1", {"path": "/", "httponly": ""})``.

    Attribute names are lower-cased; a flag attribute (Secure, HttpOnly) maps to ``""``.
    """
    first, *rest = header.split(";")
    name, _, value = first.strip().partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        if key:
            attributes[key.lower()] = val
    return name, value, attributes


def set_cookie_headers(response: requests.Response) -> list[str]:
    """Every Set-Cookie header of ``response`` (and of the redirects before it), unjoined."""
    return [header for hop in hops(response) for header in hop.raw.headers.getlist("Set-Cookie")]


def set_cookie_table(
    responses: requests.Response | Iterable[requests.Response], title: str | None = None
) -> Table:
    """One row per Set-Cookie header received: name, value and each attribute (— if absent)."""
    if isinstance(responses, requests.Response):
        responses = [responses]
    rows = []
    for response in responses:
        for header in set_cookie_headers(response):
            name, value, attributes = parse_set_cookie(header)
            cells = []
            for attribute in ATTRIBUTES:
                found = attributes.get(attribute.lower())
                cells.append("—" if found is None else (found or "yes"))
            rows.append([name, shorten(value, 30), *cells])
    return Table(["name", "value", *ATTRIBUTES], rows, title or "Set-Cookie headers received")
