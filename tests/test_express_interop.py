"""One session, two languages: a Flask app on sessionlib and an Express app on the real
express-session + connect-redis (installed from the npm registry) share sessions through
one real Redis, with one ``requests.Session`` cookie jar.

Both servers listen on 127.0.0.1 (different ports). Cookies ignore ports, so the jar sends
the one ``sid`` cookie to both, as a browser would to two apps behind one host name.

Needs ``node`` and ``npm`` on PATH and ``REDIS_URL`` pointing at a redis-server; skipped
with the reason otherwise. The npm install (``npm ci`` from the committed lockfile, into a
temporary copy of ``interop/express``) runs once per test session.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests
from support import id_in

import coursekit

ROOT = Path(__file__).resolve().parents[1]
EXPRESS_DIR = ROOT / "interop" / "express"
EXPRESS_FILES = ("package.json", "package-lock.json", "server.js")
REDIS_URL = os.environ.get("REDIS_URL")

SECRET = "interop secret"
NAME = "sid"

pytestmark = pytest.mark.slow


def _load_flask_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "interop_flask_app", ROOT / "interop" / "flask_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


flask_app = _load_flask_app()


# -- the Node side ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def express_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of ``interop/express`` with its node_modules installed by ``npm ci``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: the Express interop test needs Node.js")
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: Express needs a real redis-server to share")
    work = tmp_path_factory.mktemp("express")
    for name in EXPRESS_FILES:
        shutil.copy2(EXPRESS_DIR / name, work / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return work


def installed_versions(express_dir: Path) -> dict[str, str]:
    """What ``npm ci`` really installed, read from each package's package.json."""
    versions = {}
    for package in ("express", "express-session", "connect-redis", "redis"):
        manifest = express_dir / "node_modules" / package / "package.json"
        versions[package] = json.loads(manifest.read_text())["version"]
    return versions


def test_installed_versions_are_the_pinned_ones(express_dir: Path) -> None:
    pinned = json.loads((EXPRESS_DIR / "package.json").read_text())["dependencies"]
    versions = installed_versions(express_dir)
    print("ran against", ", ".join(f"{name}@{v}" for name, v in versions.items()))
    assert versions == pinned


class ExpressServer:
    """``node server.js`` as a child process on a free loopback port."""

    def __init__(self, directory: Path, log_dir: Path, env: dict[str, str]) -> None:
        self.stdout_path = log_dir / "express.out"
        self.stderr_path = log_dir / "express.err"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [shutil.which("node") or "node", "server.js"],
                cwd=directory,
                env={**os.environ, **env, "EXIT_WITH_STDIN": "1"},
                stdout=out,
                stderr=err,
                stdin=subprocess.PIPE,  # closed when pytest exits, however it exits
            )
        self.port = self._wait_for_port(timeout=15)
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.stdout_path.read_text().partition("\n")[0]
            if line:
                return int(json.loads(line)["port"])
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the Express server did not start:\n{self.stderr_path.read_text()}")

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _url_for(client: redis.Redis) -> str:
    """REDIS_URL pointed at the database ``client`` uses."""
    assert REDIS_URL is not None
    parts = urlsplit(REDIS_URL)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


class Pair:
    """The two apps, sharing secret, cookie name, Redis database and prefix; one jar."""

    def __init__(
        self, express: ExpressServer, flask: coursekit.LiveServer, client: redis.Redis, prefix: str
    ):
        self.express = express
        self.flask = flask
        self.redis = client
        self.prefix = prefix  # the test's own: connect-redis's "sess:" under redis_prefix
        self.jar = requests.Session()

    def url(self, side: str, path: str) -> str:
        return (self.express.url if side == "express" else self.flask.url) + path

    def call(self, side: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.jar.request(method, self.url(side, path), timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        return response

    def whoami(self, side: str) -> dict[str, Any]:
        return self.call(side, "GET", "/whoami").json()

    def login(self, side: str, user: str = "ada") -> dict[str, Any]:
        return self.call(side, "POST", "/login", json={"user": user}).json()

    def replay(self, side: str, cookie_value: str) -> dict[str, Any]:
        """``/whoami`` with a cookie sent by hand, past the jar (which may have dropped it)."""
        response = requests.get(
            self.url(side, "/whoami"), headers={"Cookie": f"{NAME}={cookie_value}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def cookie(self) -> str | None:
        """The ``sid`` value the jar holds (and would send), expired cookies dropped."""
        self.jar.cookies.clear_expired_cookies()
        return self.jar.cookies.get(NAME)

    def stored(self, sid: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.prefix + sid)
        return None if raw is None else json.loads(raw)


@pytest.fixture(scope="session")
def express_server(
    express_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[dict[str, str]], ExpressServer]]:
    """``node server.js`` with the given environment, started once per set of options
    (Node takes most of a second to start) and stopped at the end of the test session."""
    running: dict[tuple[tuple[str, str], ...], ExpressServer] = {}

    def get(env: dict[str, str]) -> ExpressServer:
        key = tuple(sorted(env.items()))
        server = running.get(key)
        if server is None or server.process.poll() is not None:
            server = ExpressServer(express_dir, tmp_path_factory.mktemp("express-log"), env)
            running[key] = server
        return server

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture
def pair(
    express_server: Callable[[dict[str, str]], ExpressServer],
    real_redis: redis.Redis,
    redis_prefix: str,
    serve: Callable[..., coursekit.LiveServer],
) -> Iterator[Callable[..., Pair]]:
    """Start both apps with the same options: ``pair(max_age=seconds, rolling=bool)``."""
    started: list[Pair] = []
    prefix = redis_prefix + "sess:"

    def start(max_age: float | None = 60, rolling: bool = False) -> Pair:
        express = express_server(
            {
                "REDIS_URL": _url_for(real_redis),
                "SESSION_SECRET": SECRET,
                "SESSION_NAME": NAME,
                "SESSION_PREFIX": prefix,
                "SESSION_MAX_AGE_MS": "" if max_age is None else str(round(max_age * 1000)),
                "SESSION_ROLLING": "1" if rolling else "0",
            }
        )
        app = flask_app.create_app(
            real_redis,
            prefix=prefix,
            secret=SECRET,
            name=NAME,
            rolling=rolling,
            cookie={"max_age": max_age, "same_site": "Lax"},
        )
        started.append(Pair(express, serve(app), real_redis, prefix))
        return started[-1]

    yield start
    for each in started:
        each.jar.close()


def _set_cookie_value(response: requests.Response) -> str | None:
    """The ``sid`` value a response set, or None when it sent no session cookie."""
    cookie = response.cookies.get(NAME)
    return cookie if cookie else None


def assert_new_and_empty(seen: dict[str, Any], sid: str, side: str = "") -> None:
    """What ``/whoami`` answered is a new, empty session: not the session ``sid``."""
    assert seen["data"] == {} and seen["id"] != sid, side


# -- 1 and 2: one login, read and written by both ------------------------------------------
def test_login_on_express_is_read_on_flask(pair: Callable[..., Pair]) -> None:
    apps = pair()
    express = apps.login("express")
    sid = express["id"]
    assert express["data"] == {"user": "ada"}
    assert apps.cookie() is not None and apps.cookie().startswith("s%3A" + sid + ".")

    flask = apps.whoami("flask")
    assert flask["id"] == sid
    assert flask["data"] == {"user": "ada"}
    assert apps.stored(sid)["user"] == "ada"  # connect-redis's key: prefix + id
    assert id_in(apps.cookie(), SECRET) == sid


def test_change_on_flask_is_read_on_express(pair: Callable[..., Pair]) -> None:
    apps = pair()
    sid = apps.login("express")["id"]
    express_cookie = apps.cookie()
    written_by_express = apps.stored(sid)

    changed = apps.call("flask", "POST", "/set", json={"cart": ["book", "pen"], "visits": 2})
    assert changed.json()["data"] == {"user": "ada", "cart": ["book", "pen"], "visits": 2}
    # Same id, same secret: sessionlib's cookie value is byte-identical to express-session's.
    assert _set_cookie_value(changed) == express_cookie
    written_by_flask = apps.stored(sid)
    assert list(written_by_flask["cookie"]) == list(written_by_express["cookie"])

    seen = apps.whoami("express")
    assert seen["id"] == sid
    assert seen["data"] == {"user": "ada", "cart": ["book", "pen"], "visits": 2}

    # And back: Express changes it, Flask reads the change.
    apps.call("express", "POST", "/set", json={"visits": 3})
    assert apps.whoami("flask")["data"] == {"user": "ada", "cart": ["book", "pen"], "visits": 3}


def test_login_on_flask_is_read_on_express(pair: Callable[..., Pair]) -> None:
    apps = pair()
    flask = apps.login("flask", user="grace")
    assert apps.whoami("express") == {
        "side": "express",
        "id": flask["id"],
        "data": {"user": "grace"},
    }


def test_browser_session_cookies_are_shared_with_the_default_ttl(pair: Callable[..., Pair]) -> None:
    """No max age on either side: a cookie without Expires, and connect-redis's default TTL
    (one day) for the entry, whoever writes it."""
    apps = pair(max_age=None)
    sid = apps.login("express")["id"]
    assert apps.stored(sid)["cookie"]["expires"] is None
    assert apps.redis.ttl(apps.prefix + sid) in (86399, 86400)
    apps.call("flask", "POST", "/set", json={"theme": "dark"})
    stored = apps.stored(sid)
    assert stored["cookie"]["originalMaxAge"] is None and stored["cookie"]["expires"] is None
    assert apps.redis.ttl(apps.prefix + sid) in (86399, 86400)
    assert apps.whoami("express")["data"] == {"user": "ada", "theme": "dark"}
    assert [c.expires for c in apps.jar.cookies] == [None]  # gone when the browser closes


# -- 3: expiry --------------------------------------------------------------------------------
@pytest.mark.parametrize("login_on", ["express", "flask"])
def test_both_sides_agree_an_expired_session_is_gone(
    pair: Callable[..., Pair], login_on: str
) -> None:
    apps = pair(max_age=1.5)
    sid = apps.login(login_on)["id"]
    cookie = apps.cookie()
    other = "flask" if login_on == "express" else "express"
    assert apps.whoami(other)["data"] == {"user": "ada"}  # both read it while it lives
    assert 0 < apps.redis.pttl(apps.prefix + sid) <= 2000

    time.sleep(2.2)  # past the cookie's expiry and the Redis TTL (reads touched it to 2 s)

    assert apps.redis.exists(apps.prefix + sid) == 0
    assert apps.cookie() is None  # the jar dropped the expired cookie, as a browser does
    for side in ("express", "flask"):
        assert_new_and_empty(apps.whoami(side), sid, side)
        # an old cookie sent anyway finds nothing
        assert_new_and_empty(apps.replay(side, cookie), sid, side)
    assert list(apps.redis.scan_iter(apps.prefix + "*")) == []  # nobody wrote an empty session


# -- 4: logout --------------------------------------------------------------------------------
def test_logout_on_flask_logs_out_of_express(pair: Callable[..., Pair]) -> None:
    apps = pair()
    sid = apps.login("express")["id"]
    cookie = apps.cookie()

    apps.call("flask", "POST", "/logout")
    assert apps.redis.exists(apps.prefix + sid) == 0
    assert apps.cookie() is None  # sessionlib's destroy() also expires the cookie
    assert_new_and_empty(apps.whoami("express"), sid)
    assert_new_and_empty(apps.replay("express", cookie), sid)


def test_logout_on_express_logs_out_of_flask(pair: Callable[..., Pair]) -> None:
    apps = pair()
    sid = apps.login("flask")["id"]
    cookie = apps.cookie()

    apps.call("express", "POST", "/logout")
    assert apps.redis.exists(apps.prefix + sid) == 0
    assert apps.cookie() == cookie  # express-session's destroy() leaves the cookie in place
    response = apps.call("flask", "GET", "/whoami")
    assert_new_and_empty(response.json(), sid)  # a known cookie id is not adopted
    assert _set_cookie_value(response) is None  # an empty new session: no cookie, no write
    assert list(apps.redis.scan_iter(apps.prefix + "*")) == []


# -- 5: rolling -------------------------------------------------------------------------------
def test_rolling_refreshes_the_ttl_from_either_side(pair: Callable[..., Pair]) -> None:
    apps = pair(max_age=30, rolling=True)
    sid = apps.login("express")["id"]
    key = apps.prefix + sid
    cookie = apps.cookie()
    assert 29 <= apps.redis.ttl(key) <= 30

    for side in ("flask", "express", "flask"):
        time.sleep(1.2)
        before = apps.redis.pttl(key)
        response = apps.call(side, "GET", "/whoami")
        after = apps.redis.pttl(key)
        assert response.json()["data"] == {"user": "ada"}
        assert before < 29_000, side
        assert after > before + 900 and after > 29_000, (side, before, after)
        assert apps.redis.ttl(key) in (29, 30)
        # rolling re-sends the same cookie value from either side
        assert _set_cookie_value(response) == cookie, side


def test_without_rolling_neither_side_resends_the_cookie(pair: Callable[..., Pair]) -> None:
    apps = pair(max_age=30, rolling=False)
    apps.login("express")
    for side in ("flask", "express"):
        response = apps.call(side, "GET", "/whoami")
        assert response.json()["data"] == {"user": "ada"}
        assert _set_cookie_value(response) is None, side


# -- known differences, pinned -------------------------------------------------------------
def test_express_drops_keys_its_session_object_already_has(pair: Callable[..., Pair]) -> None:
    """express-session rebuilds a stored session with ``for (prop in data) if (!(prop in
    this))``: keys such as ``id``, ``req``, ``save`` or ``touch`` that sessionlib stores are
    invisible on the Express side and lost when Express rewrites the session."""
    apps = pair()
    apps.login("flask")
    apps.call("flask", "POST", "/set", json={"id": 7, "touch": True, "theme": "dark"})
    assert apps.whoami("express")["data"] == {"user": "ada", "theme": "dark"}
    apps.call("express", "POST", "/set", json={"theme": "light"})
    assert apps.whoami("flask")["data"] == {"user": "ada", "theme": "light"}
