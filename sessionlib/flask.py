"""Flask adapter: ``SessionManager`` makes ``flask.session`` a sessionlib ``Session``.

Thin on purpose: every decision lives in ``SessionEngine``. The session is loaded on
first use inside the view, so an app's ``@app.errorhandler(StoreUnavailable)`` sees a
store outage; one at save time is handed to that same handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask.sessions import NullSession, SessionInterface
from werkzeug.sansio.http import parse_cookie

from .engine import SessionEngine
from .errors import StoreUnavailable
from .session import Session

if TYPE_CHECKING:
    from flask import Flask, Request, Response

__all__ = ["SessionManager"]


class OutsideCookiePath(NullSession):
    """``flask.session`` on a URL the session cookie's path does not cover."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "No session here: this URL is outside the session cookie's path "
            "(the browser would not send the cookie)."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class EngineSessionInterface(SessionInterface):
    """The ``flask.sessions.SessionInterface`` that delegates to a ``SessionEngine``."""

    null_session_class = OutsideCookiePath
    pickle_based = False

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine

    def open_session(self, app: Flask, request: Request) -> Session | None:
        engine = self.engine
        session = engine.open(
            self._cookie_values(request),
            # every URL is under "/": only a narrower cookie path needs the request's
            "/" if engine.cookie_options.path == "/" else request.script_root + request.path,
            request.is_secure,
        )
        if session is not None:
            session.permanent_lifetime = app.permanent_session_lifetime.total_seconds()
        return session

    def _cookie_values(self, request: Request) -> list[str]:
        """Every value the request sent under the session cookie's name, in order.

        What ``request.cookies.getlist(name)`` gives, parsed by the same werkzeug helper
        straight from the header: ``request.cookies`` first wraps the environ in a headers
        view that scans every key, which costs more than the parse itself.
        """
        header = request.environ.get("HTTP_COOKIE")
        name = self.engine.name
        if not header or name not in header:
            return []
        # cls=list: the (name, value) pairs as parsed, without building a MultiDict
        return [value for key, value in parse_cookie(header, cls=list) if key == name]

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not isinstance(session, Session):
            return
        try:
            header = self.engine.finish(session)
        except StoreUnavailable as error:
            _replace_with_error_response(app, error, response)
            return
        if session.accessed:
            # getlist scans the headers; get() and `in` raise and catch a KeyError inside
            # werkzeug when the header is missing, which is the common case here
            if response.headers.getlist("Vary"):
                response.vary.add("Cookie")
            else:
                response.headers.add("Vary", "Cookie")
        if header is not None:
            response.headers.add("Set-Cookie", header)


def _replace_with_error_response(app: Flask, error: StoreUnavailable, response: Response) -> None:
    """Answer with the app's handler for ``StoreUnavailable``; without one, re-raise (500).

    Flask saves the session after the view, where errors no longer reach error handlers,
    so the handler's response is copied into the response Flask is about to send.
    """
    handled = app.handle_user_exception(error)  # re-raises when no handler is registered
    replacement = app.make_response(handled)
    response.status = replacement.status
    response.headers = replacement.headers
    response.response = replacement.response
    response.direct_passthrough = replacement.direct_passthrough


class SessionManager:
    """Server-side sessions for a Flask app, with express-session's options.

    ``SessionManager(app, secret=..., store=..., cookie={...})`` or
    ``SessionManager(secret=...).init_app(app)``. See ``SessionEngine`` for the options
    and where their defaults differ from express-session's.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.engine = SessionEngine(**options)
        if app is not None:
            self.init_app(app)

    @property
    def store(self) -> Any:
        """The store sessions are kept in."""
        return self.engine.store

    def init_app(self, app: Flask) -> SessionManager:
        app.session_interface = EngineSessionInterface(self.engine)
        app.extensions["sessionlib"] = self
        return self
