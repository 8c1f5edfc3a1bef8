"""Security habits, over HTTP against the login example (``examples/login_app.py``):
fixation, logout, cookie flags, ``secure="auto"`` behind a proxy, and no pickle anywhere."""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, session
from support import express_cookie, id_in
from werkzeug.middleware.proxy_fix import ProxyFix

import coursekit
import sessionlib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from login_app import create_app  # noqa: E402

pytestmark = pytest.mark.lesson6

SECRET = "security tests"
ALICE = {"username": "alice", "password": "wonderland"}


def sid_of(http: requests.Session) -> str:
    """The session id inside the jar's signed cookie."""
    sid = id_in(http.cookies["sid"], SECRET)
    assert sid is not None
    return sid


@pytest.fixture
def store(any_store: sessionlib.Store) -> sessionlib.Store:
    return any_store


@pytest.fixture
def server(store: sessionlib.Store, serve: Any) -> coursekit.LiveServer:
    return serve(create_app(store, secret=SECRET))


def test_login_regenerates_so_the_pre_login_id_is_dead(
    store: sessionlib.Store, server: coursekit.LiveServer
) -> None:
    victim = requests.Session()
    victim.post(server.url + "/counter")  # a session exists before login
    before = sid_of(victim)
    assert store.get(before) is not None

    # An attacker who planted (or saw) the pre-login cookie.
    attacker = requests.Session()
    attacker.cookies.set("sid", victim.cookies["sid"])

    assert victim.post(server.url + "/login", data=ALICE).json() == {"user": "alice"}
    after = sid_of(victim)
    assert after != before
    assert store.get(before) is None  # dead server-side
    assert victim.get(server.url + "/").json() == {"user": "alice"}
    assert attacker.get(server.url + "/").json() == {"user": None}


def test_failed_login_keeps_no_user(server: coursekit.LiveServer) -> None:
    http = requests.Session()
    response = http.post(server.url + "/login", data={"username": "alice", "password": "x"})
    assert response.status_code == 401
    assert http.get(server.url + "/").json() == {"user": None}


def test_logout_kills_the_id_server_side_and_expires_the_cookie(
    store: sessionlib.Store, server: coursekit.LiveServer
) -> None:
    http = requests.Session()
    http.post(server.url + "/login", data=ALICE)
    sid, cookie = sid_of(http), http.cookies["sid"]

    response = http.post(server.url + "/logout")
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("sid=;")
    assert "Max-Age=0" in set_cookie and "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in set_cookie
    assert "sid" not in http.cookies  # the jar dropped it, as a browser does
    assert store.get(sid) is None

    replay = requests.Session()  # someone who kept a copy of the cookie
    replay.cookies.set("sid", cookie)
    assert replay.get(server.url + "/").json() == {"user": None}


def test_cookies_are_httponly_and_samesite_lax_by_default(serve: Any) -> None:
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret=SECRET)

    @app.post("/")
    def write() -> str:
        session["n"] = 1
        return "ok"

    server = serve(app)
    header = requests.post(server.url + "/").headers["Set-Cookie"]
    attributes = [part.strip() for part in header.split(";")]
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes
    assert "Secure" not in attributes  # plain HTTP


def set_cookie_attributes(response: requests.Response) -> list[str]:
    return [part.strip() for part in response.headers["Set-Cookie"].split(";")]


def test_secure_auto_honours_x_forwarded_proto_behind_proxyfix(serve: Any) -> None:
    server = serve(create_app(secret=SECRET))  # the example sits behind ProxyFix
    https = requests.post(server.url + "/counter", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in set_cookie_attributes(https)
    plain = requests.post(server.url + "/counter")
    assert "Secure" not in set_cookie_attributes(plain)


def test_secure_auto_ignores_x_forwarded_proto_without_proxyfix(serve: Any) -> None:
    """Anyone can send the header: only a trusted proxy (ProxyFix) may make it count."""
    app = Flask(__name__)
    sessionlib.SessionManager(app, secret=SECRET, cookie={"secure": "auto"})

    @app.post("/")
    def write() -> str:
        session["n"] = 1
        return "ok"

    direct = serve(app)
    response = requests.post(direct.url + "/", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in set_cookie_attributes(response)

    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    proxied = serve(app)
    response = requests.post(proxied.url + "/", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in set_cookie_attributes(response)


class CreatesMarker:
    """Unpickling this creates (opens for writing) the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.mark.lesson7
def test_a_pickle_in_redis_is_treated_as_corrupt_and_never_unpickled(
    redis_client: Any, key_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The payload works: unpickling it really does create its marker file.
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(CreatesMarker(proof))).close()
    assert proof.exists()

    marker = tmp_path / "unpickled"
    payload = pickle.dumps({"user": "admin", "x": CreatesMarker(marker)})
    store = sessionlib.RedisStore(redis_client, prefix=key_prefix)
    sid = "planted-session-id-0123456789abc"
    redis_client.set(store.key(sid), payload)

    app = create_app(store, secret=SECRET)
    client = app.test_client()
    client.set_cookie("sid", express_cookie(sid, SECRET))
    with caplog.at_level(logging.WARNING, logger="sessionlib"):
        response = client.get("/")
    assert response.status_code == 200
    assert response.json == {"user": None}
    assert not marker.exists()  # never unpickled
    assert any(
        r.name == "sessionlib" and "not a JSON object" in r.getMessage() for r in caplog.records
    )
    assert redis_client.get(store.key(sid)) == payload  # not served, not rewritten


def test_the_library_never_imports_pickle() -> None:
    sources = sorted((ROOT / "sessionlib").rglob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text()
        assert "import pickle" not in text and "pickle.load" not in text, source
    app = create_app(secret=SECRET)
    assert app.session_interface.pickle_based is False
