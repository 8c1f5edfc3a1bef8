"""Flask adapter: ``SessionManager`` makes ``flask.session`` a sessionlib ``Session``.

Thin on purpose: the engine decides. A setting comes from the option when one is given,
else from the Flask configuration where the app changed it from Flask's default, else
from sessionlib's defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
from flask.sessions import NullSession, SessionInterface

from .engine import SessionEngine
from .session import Session
from .stores.base import StoreUnavailable

if TYPE_CHECKING:
    from flask import Flask, Request, Response

#: Flask's settings for the cookie, by the ``cookie={...}`` option each one fills in.
COOKIE_CONFIG = {
    "domain": "SESSION_COOKIE_DOMAIN",
    "path": "SESSION_COOKIE_PATH",
    "http_only": "SESSION_COOKIE_HTTPONLY",
    "secure": "SESSION_COOKIE_SECURE",
    "same_site": "SESSION_COOKIE_SAMESITE",
    "partitioned": "SESSION_COOKIE_PARTITIONED",
}


def options_from_config(app: Flask, options: dict[str, Any]) -> dict[str, Any]:
    """``options``, with what they leave out taken from the Flask settings the app changed."""
    config, defaults = app.config, app.default_config

    def changed(key: str) -> bool:
        return config.get(key, defaults.get(key)) != defaults.get(key)

    merged = dict(options)
    if "secret" not in merged:
        if not app.secret_key:
            raise ValueError("secret must be given, or the app's SECRET_KEY set")
        merged["secret"] = [app.secret_key, *(config.get("SECRET_KEY_FALLBACKS") or [])]
    if "name" not in merged and changed("SESSION_COOKIE_NAME"):
        merged["name"] = config["SESSION_COOKIE_NAME"]
    if "rolling" not in merged and changed("SESSION_REFRESH_EACH_REQUEST"):
        merged["rolling"] = config["SESSION_REFRESH_EACH_REQUEST"]
    if not callable(merged.get("cookie")):
        cookie = dict(merged.get("cookie") or {})
        for option, key in COOKIE_CONFIG.items():
            if option not in cookie and changed(key):
                cookie[option] = config[key]
        if "path" not in cookie and changed("APPLICATION_ROOT"):
            cookie["path"] = config["APPLICATION_ROOT"]
        merged["cookie"] = cookie
    return merged


class SessionManager:
    """Server-side sessions for a Flask app: ``SessionManager(app, secret=..., ...)``, or
    ``SessionManager(...).init_app(app)``. The options are ``SessionEngine``'s, plus:

    - ``proxy``: None trusts what the request says (``request.is_secure``, which
      werkzeug's ``ProxyFix`` sets); True trusts ``X-Forwarded-Proto``; False only TLS
      to this server (express's ``proxy``);
    - ``login_signals`` (default True): when Flask-Login logs a user in, the session
      moves to a new id; when it logs one out, the session is destroyed.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.proxy = options.pop("proxy", None)
        self.login_signals = options.pop("login_signals", True)
        if self.proxy not in (None, True, False):
            raise ValueError(f"proxy must be None, True or False, not {self.proxy!r}")
        if not isinstance(self.login_signals, bool):
            raise ValueError(f"login_signals must be True or False, not {self.login_signals!r}")
        self.options = options
        self.engine = SessionEngine(**{"secret": "checked at init_app", **options})
        self.options.setdefault("store", self.engine.store)
        if app is not None:
            self.init_app(app)

    @property
    def store(self) -> Any:
        """Where the sessions are kept."""
        return self.engine.store

    def init_app(self, app: Flask) -> SessionManager:
        self.engine = SessionEngine(**options_from_config(app, self.options))
        self.engine.permanent_lifetime = app.permanent_session_lifetime.total_seconds()
        app.session_interface = EngineSessionInterface(self.engine, self.proxy)
        app.extensions["sessionlib"] = self
        if self.login_signals:
            follow_flask_login(app)
        return self


class OutsideCookiePath(NullSession):
    """``flask.session`` on a URL the cookie's path does not cover: reading gives nothing."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no session: this URL is outside the session cookie's path")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class EngineSessionInterface(SessionInterface):
    """Flask's ``SessionInterface``, handing each request to a ``SessionEngine``."""

    null_session_class = OutsideCookiePath
    pickle_based = False

    def __init__(self, engine: SessionEngine, proxy: bool | None = None) -> None:
        self.engine, self.proxy = engine, proxy

    def open_session(self, app: Flask, request: Request) -> Session | None:
        cookies = request.cookies.getlist(self.engine.name)
        path = request.script_root + request.path
        return self.engine.open(cookies, path, self.is_secure(request), request)

    def is_secure(self, request: Request) -> bool:
        """Whether the browser used HTTPS, trusting proxies as ``proxy`` says."""
        if self.proxy is None:
            return request.is_secure
        if self.proxy:
            forwarded = request.headers.get("X-Forwarded-Proto", request.scheme)
            return forwarded.split(",")[0].strip().lower() == "https"
        original = request.environ.get("werkzeug.proxy_fix.orig", request.environ)
        return original.get("wsgi.url_scheme") == "https"

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not isinstance(session, Session):
            return
        try:
            header = self.engine.finish(session)
        except StoreUnavailable as error:
            return _answer_with_handler(app, error, response)
        if session.accessed:
            response.vary.add("Cookie")
        if header is not None:
            response.headers.add("Set-Cookie", header)

    # What Flask and its extensions ask about the cookie: the one sessionlib sends.
    def get_cookie_name(self, app: Flask) -> str:
        return self.engine.name

    def get_cookie_domain(self, app: Flask) -> str | None:
        return self.engine.options_for(flask.request).domain

    def get_cookie_path(self, app: Flask) -> str:
        return self.engine.options_for(flask.request).path

    def get_cookie_httponly(self, app: Flask) -> bool:
        return self.engine.options_for(flask.request).http_only

    def get_cookie_secure(self, app: Flask) -> bool:
        return self._cookie().secure

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return self._cookie().same_site

    def _cookie(self) -> Any:
        """This request's cookie attributes, "auto" settings decided."""
        request = flask.request
        return self.engine.options_for(request).attributes(self.is_secure(request))

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return self.engine.options_for(flask.request).partitioned


def _answer_with_handler(app: Flask, error: StoreUnavailable, response: Response) -> None:
    """Answer with the app's handler for ``StoreUnavailable`` (no handler: raise, a 500).

    Flask saves the session after the view, where errors no longer reach the error
    handlers, so the handler's response is copied into the one Flask is about to send.
    """
    replacement = app.make_response(app.handle_user_exception(error))
    response.status, response.headers = replacement.status, replacement.headers
    response.response = replacement.response


# -- lesson 6: log in on a new id, log out for good ---------------------------------------
def follow_flask_login(app: Flask) -> None:
    """Rotate the session's id when Flask-Login logs a user in; destroy it at logout."""
    try:
        from flask_login import user_logged_in, user_logged_out
    except ImportError:
        return
    user_logged_in.connect(_rotate_at_login, sender=app, weak=False)
    user_logged_out.connect(_destroy_at_logout, sender=app, weak=False)


def _rotate_at_login(app: Flask, **extra: Any) -> None:
    if isinstance(flask.session, Session):
        flask.session.rotate()


def _destroy_at_logout(app: Flask, **extra: Any) -> None:
    if isinstance(flask.session, Session):
        remember = flask.session.get("_remember")  # Flask-Login's note to clear its cookie
        flask.session.destroy()
        if remember is not None:
            flask.session["_remember"] = remember
