"""Lesson 9 (optional), sessions shared with Express: the Express side (the real
``interop/express/server.js`` under Node.js whenever ``node`` and ``npm`` are there, a
Python stand-in otherwise), the Redis both sides share, the Flask side on the learner's
package, the checks and the quiz.

The real Express app is installed with ``npm ci`` from the committed lockfile into a
cache folder (``~/.cache/sessionlib-course/express/<lockfile hash>``, or
``$SESSIONLIB_EXPRESS_CACHE``), once: later runs reuse it while the lockfile is the same.
``python -m coursekit.lessons.lesson09`` installs it ahead of time (for a class, or CI).
Express needs a real Redis: ``REDIS_URL`` when it is set, else a private ``redis-server``
on a free loopback port, started here and stopped when the kernel ends. Without either,
or without Node.js, the stand-in plays Express on fakeredis. ``SESSIONLIB_EXPRESS=stand-in``
asks for the stand-in whatever is installed.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import hmac
import importlib.util
import json
import math
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, unquote

import flask
import requests

from coursekit.backends import redis_client, redis_kind
from coursekit.exercises import exercise, question
from coursekit.live import LiveServer
from coursekit.table import Table

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "interop"
EXPRESS = INTEROP / "express"
FILES = ("package.json", "package-lock.json")

__all__ = [
    "EXPRESS_OWN",
    "ExpressApp",
    "ExpressStandIn",
    "express_side",
    "flask_app",
    "install",
    "private_redis",
]


# -- the Flask side -------------------------------------------------------------------------
def flask_module(lib: Any) -> ModuleType:
    """``interop/flask_app.py``, loaded afresh, its ``sessionlib`` being ``lib``."""
    spec = importlib.util.spec_from_file_location("interop_flask_app", INTEROP / "flask_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so that its functions' source can be shown
    spec.loader.exec_module(module)
    module.sessionlib = lib  # create_app builds on whatever this name holds when called
    return module


def flask_app(lib: Any, client: Any, *, welcome: Any = None, **options: Any) -> flask.Flask:
    """interop/flask_app.py's app on ``lib`` and ``client``; with ``welcome``, also
    ``GET /welcome`` (exercise 9.2)."""
    app = flask_module(lib).create_app(client, **options)
    if welcome is not None:
        app.add_url_rule("/welcome", "welcome", welcome)

        @app.errorhandler(NotImplementedError)
        def not_written_yet(error: Exception) -> Any:
            return {"error": "not written yet: welcome"}, 501

    return app


# -- a Redis for Express ----------------------------------------------------------------------
class PrivateRedis:
    """A ``redis-server`` of this process's own on a free loopback port: nothing written
    to disk, stopped when this process ends (and by the kernel on Linux if it is killed)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += [
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        atexit.register(self.stop)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client.ping():
                    return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the parent dies."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_RUNNING: dict[str, Any] = {}


def private_redis() -> PrivateRedis | None:
    """This process's private redis-server (started on first use), or None without the
    ``redis-server`` binary."""
    server = _RUNNING.get("redis")
    if server is not None and server.running:
        return server
    if shutil.which("redis-server") is None:
        return None
    _RUNNING["redis"] = PrivateRedis()
    return _RUNNING["redis"]


# -- npm ----------------------------------------------------------------------------------
def cache_folder() -> Path:
    """Where the Express app's packages are installed: one folder per lockfile."""
    base = os.environ.get("SESSIONLIB_EXPRESS_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "sessionlib-course" / "express"
    lock = hashlib.sha256((EXPRESS / "package-lock.json").read_bytes()).hexdigest()[:16]
    return root / lock


def installed() -> bool:
    return (cache_folder() / "node_modules" / ".package-lock.json").exists()


def install(quiet: bool = False) -> Path:
    """``npm ci`` from the lockfile into the cache folder, unless it is there already.
    Several kernels may ask at once: one installs (under a lock), the others wait."""
    folder = cache_folder()
    if installed():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / (folder.name + ".lock")):
        if installed():
            return folder
        if not quiet:
            print(f"Installing the Express app's packages (npm ci, once) into {folder} ...")
        work = folder.parent / f"{folder.name}.{os.getpid()}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        for name in FILES:
            shutil.copy2(EXPRESS / name, work / name)
        npm = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline"]
        done = subprocess.run(npm, cwd=work, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(f"npm ci failed: {(done.stderr or done.stdout).strip()[-300:]}")
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    return folder


@contextlib.contextmanager
def _locked(path: Path) -> Any:
    with path.open("w") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; a second install would just redo the work
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def versions() -> str:
    """The pinned versions of the Express side, from interop/express/package.json."""
    pins = json.loads((EXPRESS / "package.json").read_text())["dependencies"]
    return ", ".join(
        f"{name} {pins[name]}" for name in ("express", "express-session", "connect-redis")
    )


# -- the two Express sides --------------------------------------------------------------------
class ExpressApp:
    """``interop/express/server.js`` under Node.js, as a child process that ends with this
    one (``EXIT_WITH_STDIN``)."""

    kind = "express"

    def __init__(
        self, redis_url: str, client: Any, *, secret: str, name: str, prefix: str, max_age: int
    ) -> None:
        folder = install()
        source = (EXPRESS / "server.js").read_bytes()
        script = folder / f"server-{hashlib.sha256(source).hexdigest()[:12]}.js"
        if not script.exists():  # named by its content: the latest server.js, never half-written
            partial = script.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(source)
            partial.replace(script)
        self.redis, self.prefix, self.name, self.secret = client, prefix, name, secret
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "SESSION_SECRET": secret,
            "SESSION_NAME": name,
            "SESSION_PREFIX": prefix,
            "SESSION_MAX_AGE_MS": str(max_age * 1000),
            "EXIT_WITH_STDIN": "1",
        }
        self.errors = tempfile.TemporaryFile(mode="w+")  # Node's stderr, read if it fails
        self.process = subprocess.Popen(
            ["node", script.name],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        atexit.register(self.stop)
        line = _first_line(self.process, timeout=30)
        if not line.startswith("{"):
            self.stop()
            self.errors.seek(0)
            raise RuntimeError(
                f"Express did not start: {(line + self.errors.read()).strip()[-300:]}"
            )
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"
        self.node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def call(self, jar: requests.Session, method: str, path: str, **options: Any) -> dict[str, Any]:
        response = jar.request(method, self.url + path, timeout=10, **options)
        return response.json() if response.ok else {"error": f"{response.status_code}"}

    def login(self, jar: requests.Session, user: str) -> dict[str, Any]:
        return self.call(jar, "POST", "/login", json={"user": user})

    def whoami(self, jar: requests.Session) -> dict[str, Any]:
        return self.call(jar, "GET", "/whoami")

    def set(self, jar: requests.Session, **values: Any) -> dict[str, Any]:
        return self.call(jar, "POST", "/set", json=values)

    def logout(self, jar: requests.Session) -> dict[str, Any]:
        return self.call(jar, "POST", "/logout")

    def stop(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or "" when it prints none in time."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


#: Recorded from the real Express app (server.js, express-session 1.19.0, connect-redis
#: 9.0.0, secret "keyboard cat"): a login's cookie and its Redis entry.
RECORDED_ID = "umWwRiaBAB_AUfi9mHrVYi9lYK_V2NAV"
RECORDED_COOKIE = (
    "s%3AumWwRiaBAB_AUfi9mHrVYi9lYK_V2NAV.eSzyfTUgDaFqcbq8T%2Fbe6abVgEupQRj8nkVGOMRAR94"
)
RECORDED_ENTRY = (
    '{"cookie":{"originalMaxAge":600000,"expires":"2026-11-27T06:17:14.011Z",'
    '"httpOnly":true,"path":"/","sameSite":"lax"},"user":"ada"}'
)
#: express-session rebuilds a stored session with ``if (!(key in session))``: the names its
#: session object already has are never restored: its ``id`` and ``req``, the methods of
#: ``Session.prototype``, and those every JavaScript object has.
EXPRESS_OWN = frozenset(
    {"id", "req", "cookie"}
    | {"touch", "resetMaxAge", "save", "reload", "destroy", "regenerate"}
    | {"constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable"}
    | {"toString", "valueOf", "toLocaleString", "__proto__"}
    | {"__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__"}
)


def js_date(seconds_from_now: float) -> str:
    """A date as JavaScript's toISOString() writes it: UTC, milliseconds, Z."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExpressStandIn:
    """Plays server.js without Node.js: reads and writes the cookie and the Redis entry
    exactly as express-session and connect-redis do (the recorded login's shape), and
    hides the keys Express can't see."""

    kind = "stand-in"
    url = "(the stand-in: no Express server)"
    running = True

    def __init__(self, client: Any, *, secret: str, name: str, prefix: str, max_age: int) -> None:
        self.redis, self.secret, self.name, self.prefix, self.max_age = (
            client,
            secret,
            name,
            prefix,
            max_age,
        )

    def _session(self, jar: requests.Session) -> tuple[str | None, dict[str, Any] | None]:
        value = unquote(jar.cookies.get(self.name) or "")  # express: cookie-parser, then unsign
        sid, dot, _ = value[2:].rpartition(".")
        expected = self._value(sid).encode()
        if not (value.startswith("s:") and dot and hmac.compare_digest(value.encode(), expected)):
            return None, None
        raw = self.redis.get(self.prefix + sid)  # connect-redis: GET sess:<id>
        return sid, (json.loads(raw) if raw else None)

    def _value(self, sid: str) -> str:
        """``s:`` + cookie-signature's ``sign(sid, secret)``."""
        mac = hmac.new(self.secret.encode(), sid.encode(), hashlib.sha256).digest()
        return f"s:{sid}.{base64.b64encode(mac).decode().rstrip('=')}"

    def _new(self, jar: requests.Session, data: dict[str, Any]) -> str:
        sid = secrets.token_urlsafe(24)  # uid-safe's 24 bytes
        entry = json.loads(RECORDED_ENTRY)
        entry["cookie"]["originalMaxAge"] = self.max_age * 1000
        del entry["user"]
        self._save(sid, {**entry, **data})
        jar.cookies.set(  # as Express's Set-Cookie: Path=/; Expires=...; HttpOnly; SameSite=Lax
            self.name,
            quote(self._value(sid), safe="-_.!~*'()"),
            domain="127.0.0.1",
            path="/",
            expires=int(time.time() + self.max_age),
            rest={"HttpOnly": None, "SameSite": "Lax"},
        )
        return sid

    def _save(self, sid: str, entry: dict[str, Any]) -> None:
        """express-session touches the cookie, connect-redis writes ``SET ... EX <ttl>``."""
        max_age = entry["cookie"]["originalMaxAge"] / 1000
        entry["cookie"]["expires"] = js_date(max_age)
        text = json.dumps(entry, separators=(",", ":"))
        self.redis.set(self.prefix + sid, text, ex=math.ceil(max_age))

    def login(self, jar: requests.Session, user: str) -> dict[str, Any]:
        sid, entry = self._session(jar)
        if entry is not None:
            self.redis.delete(self.prefix + sid)  # regenerate(): the old session is destroyed
        self._new(jar, {"user": user})
        return self.whoami(jar)

    def whoami(self, jar: requests.Session) -> dict[str, Any]:
        sid, entry = self._session(jar)
        if entry is None:
            return {"side": "express (stand-in)", "id": "(a new id)", "data": {}}
        data = {k: v for k, v in entry.items() if k not in EXPRESS_OWN}
        return {"side": "express (stand-in)", "id": sid, "data": data}

    def set(self, jar: requests.Session, **values: Any) -> dict[str, Any]:
        sid, entry = self._session(jar)
        values = {k: v for k, v in values.items() if k != "cookie"}
        if entry is None:
            self._new(jar, values)
        else:  # the rewrite keeps what Express could see, and the cookie
            kept = {k: v for k, v in entry.items() if k == "cookie" or k not in EXPRESS_OWN}
            self._save(sid, {**kept, **values})
        return self.whoami(jar)

    def logout(self, jar: requests.Session) -> dict[str, Any]:
        sid, _ = self._session(jar)
        if sid:
            self.redis.delete(self.prefix + sid)  # express-session's destroy(): the cookie stays
        return {"side": "express (stand-in)", "id": None, "data": {}}

    def stop(self) -> None:
        pass


def express_side(*, secret: str, name: str, prefix: str, max_age: int) -> Any:
    """The real Express app whenever it can run, else the stand-in; one line says which.
    Run again with the same settings, it reuses the Express app already running."""
    settings = (secret, name, prefix, max_age)
    running = _RUNNING.get("express")
    if running is not None and running.running and _RUNNING.get("settings") == settings:
        _say(running, reused=True)
        return running
    if running is not None:
        running.stop()
    side = _start(secret=secret, name=name, prefix=prefix, max_age=max_age)
    _RUNNING.update(express=side, settings=settings)
    _say(side)
    return side


def _start(**settings: Any) -> Any:
    why = None
    if os.environ.get("SESSIONLIB_EXPRESS") == "stand-in":
        why = "SESSIONLIB_EXPRESS=stand-in"
    elif not (shutil.which("node") and shutil.which("npm")):
        why = "no node and npm on PATH"
    else:
        redis = _redis_for_express()
        if redis is None:
            why = "Express needs a real Redis: no REDIS_URL and no redis-server"
        else:
            try:
                side = ExpressApp(redis[0], redis[1], **settings)
                side.redis_kind = redis[2]
                return side
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                why = str(error)
    side = ExpressStandIn(redis_client(), **settings)
    side.why, side.redis_kind = why, redis_kind()
    return side


def _redis_for_express() -> tuple[str, Any, str] | None:
    """(URL for Express, a client for Python, what it is), or None."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], redis_client(), redis_kind()
    server = private_redis()
    if server is None:
        return None
    return (
        server.url,
        server.client,
        f"a private redis-server at {server.url} (ends with the kernel)",
    )


def _say(side: Any, reused: bool = False) -> None:
    if side.kind == "express":
        again = ", already running" if reused else ""
        print(
            f"Express side: the real Express app ({versions()}, Node {side.node}) at {side.url}"
            f"{again}. Redis: {side.redis_kind}."
        )
    else:
        print(f"Express side: the Python stand-in ({side.why}). Redis: {side.redis_kind}.")


# -- what the lesson shows ------------------------------------------------------------------
def server_js_session() -> str:
    """The ``session({...})`` call of server.js, as a Markdown code block."""
    text = (EXPRESS / "server.js").read_text()
    start = text.index("app.use(\n  session(")
    return "```js\n" + text[start : text.index("\n);", start) + 3] + "\n```"


def entry_table(written_by_express: str, written_by_flask: str, key: str) -> Table:
    """Two Redis entries of one session, field by field."""

    def fields(text: str) -> dict[str, Any]:
        entry = json.loads(text)
        return {f"cookie.{k}": v for k, v in entry.pop("cookie").items()} | entry

    ours, theirs = fields(written_by_express), fields(written_by_flask)
    return Table(
        ["field", "written by Express", "written by sessionlib"],
        [
            [k, json.dumps(ours.get(k, "-")), json.dumps(theirs.get(k, "-"))]
            for k in dict.fromkeys([*ours, *theirs])
        ],
        f"Redis key {key[: len(key) - 24]}…",
    )


def cookie_id(jar: requests.Session, name: str) -> str | None:
    """The session id inside the jar's cookie ``name``."""
    value = unquote(jar.cookies.get(name) or "")
    if not value.startswith("s:"):
        return None
    return value[2:].rpartition(".")[0] or None


def copy_jar(jar: requests.Session) -> requests.Session:
    other = requests.Session()
    for cookie in jar.cookies:
        other.cookies.set_cookie(cookie)
    return other


# -- exercises -------------------------------------------------------------------------------
PROBES = [
    "cart",
    "id",
    "theme",
    "save",
    "constructor",
    "toString",
    "user",
    "req",
    "touch",
    "visits",
    "hasOwnProperty",
    "__proto__",
    "regenerate",
    "valueOf",
    "language",
    "isPrototypeOf",  # less familiar names: a list of the well-known ones misses them
    "toLocaleString",
    "__lookupGetter__",
]
ONLY_ASK = "write the keys through the Flask app's POST /set, then only ask Express"


def only_whoami(express: Any) -> Any:
    """``express`` as exercise 9.1 hands it to the learner: ``whoami(jar)`` and nothing
    else, so that the keys are written by Flask and only read by Express."""

    class AskExpress:
        def whoami(self, jar: requests.Session) -> dict[str, Any]:
            return express.whoami(jar)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):  # Python's and IPython's own lookups
                raise AttributeError(name)
            raise AssertionError(f"express.{name}: {ONLY_ASK} (express.whoami(jar))")

        def __repr__(self) -> str:
            return f"<the Express side: whoami(jar) only, {express.kind}>"

    return AskExpress()


@exercise(
    "9.1",
    "keys Express can't see",
    hints=[
        "One fresh requests.Session() as the browser: POST the keys to the Flask app's /set "
        "(json={key: 1, ...}), then ask express.whoami(jar) what it sees in data.",
        "The answer is the keys you wrote that are missing from Express's data: a set.",
    ],
    uses_package=False,
)
def check_invisible(invisible_to_express: Any, flask_url: str, express: Any) -> None:
    expected = {key for key in PROBES if key in EXPRESS_OWN}
    found = invisible_to_express(list(PROBES), flask_url, only_whoami(express))
    assert found is not None, "return the set of keys Express does not show"
    found = set(found)
    assert found <= set(PROBES), f"only keys you were given: {sorted(found - set(PROBES))}"
    missed, extra = expected - found, found - expected
    assert not extra, f"Express does show {len(extra)} of the keys you returned: ask Express"
    assert not missed, f"Express hides {len(missed)} more of the keys than you found"


@exercise(
    "9.2",
    "a login moves from Express to Flask",
    hints=[
        'Without session.get("user"): return {"error": "log in first"}, 401. Then, if the '
        'session has no mark of yours yet: session.rotate(), set the mark, "rotated": True.',
        "rotate() keeps the data under a new id (regenerate() would drop the user), and "
        "destroys the old id in Redis, which Express then can't use either.",
        "The mark must survive Express rewriting the session: a name Express can see (not "
        "id, save, touch ...), e.g. flask_seen.",
    ],
    uses_package=False,
)
def check_welcome(welcome: Any, lib: Any, express: Any) -> None:
    app = flask_app(
        lib,
        express.redis,
        welcome=welcome,
        secret=express.secret,
        name=express.name,
        prefix=express.prefix,
    )
    with LiveServer(app) as site:
        _check_welcome(site.url, express)


def _check_welcome(url: str, express: Any) -> None:
    name = express.name
    stranger = requests.get(url + "/welcome", timeout=10)
    if stranger.status_code == 501:
        raise NotImplementedError
    assert stranger.status_code == 401, f"without a login: 401, not {stranger.status_code}"
    assert stranger.json() == {"error": "log in first"}, f"without a login: {stranger.text[:80]}"
    jar = requests.Session()
    express.login(jar, "ada")
    before, old = cookie_id(jar, name), copy_jar(jar)
    first = jar.get(url + "/welcome", timeout=10)
    assert first.ok, f"GET /welcome after a login on Express: {first.status_code} {first.text[:80]}"
    assert first.json() == {"user": "ada", "rotated": True}, f"the first visit: {first.json()}"
    after = cookie_id(jar, name)
    assert after and after != before, "the first visit moves the session to a new id"
    assert not express.redis.exists(express.prefix + before), "the old id is gone from Redis"
    seen = express.whoami(jar)
    assert seen["id"] == after and seen["data"].get("user") == "ada", (
        f"Express follows the new id and still sees ada: {seen}"
    )
    again = jar.get(url + "/welcome", timeout=10).json()
    assert again == {"user": "ada", "rotated": False}, f"the second visit: {again}"
    assert cookie_id(jar, name) == after, "the second visit keeps the id"
    express.set(jar, visits=1)  # Express rewrites the session
    third = jar.get(url + "/welcome", timeout=10).json()
    assert third == {"user": "ada", "rotated": False}, (
        f"after Express rewrote the session: {third} (is your mark a key Express can see?)"
    )
    assert not express.whoami(old)["data"].get("user"), "the old cookie opens nothing on Express"
    assert old.get(url + "/welcome", timeout=10).status_code == 401, "nor on Flask"


# -- quiz ------------------------------------------------------------------------------------
question(
    9,
    "Flask and Express share sessions. Which settings must be the same on both sides?",
    {
        "a": "max_age and rolling",
        "b": "the Redis TTL and resave",
        "c": "the secret, the cookie name, the Redis database and key prefix, the cookie's "
        "path and domain",
    },
    "c",
    "Those decide whether one side can verify the cookie and find the entry; expiry and "
    "rolling may differ (the last writer sets the TTL).",
)
question(
    9,
    "Express logs the user out with req.session.destroy(). The browser still sends the "
    "cookie to Flask. What does Flask do?",
    {
        "a": "it re-creates the session under the old id",
        "b": "it verifies the signature, finds no entry, and starts a new, empty session "
        "under a new id",
        "c": "it answers 500",
    },
    "b",
    "An id the store doesn't know is never adopted: a new session, a new id.",
)
question(
    9,
    'A Flask view stores session["id"] = 7. What does Express make of it?',
    {
        "a": "it can't see it: its session object already has an id, so the stored key is "
        "skipped, and dropped when Express rewrites the session",
        "b": "it replaces the session id with 7",
        "c": "it shows it as data.id",
    },
    "a",
    "express-session copies a stored key only when its session object doesn't have that "
    "name yet (id, req, its methods, constructor, toString, ...).",
)
question(
    9,
    "Why can sessionlib's unset='destroy' not mean exactly what express-session's does?",
    {
        "a": "Flask sessions can't be destroyed",
        "b": "it does mean the same",
        "c": "express acts on req.session = null; Flask has no way to set the session to "
        "None, so sessionlib acts when a request empties the session",
    },
    "c",
    "Same name, a different trigger: the one difference of meaning in the options table.",
)
question(
    9,
    "Flask rotates a session that came from Express (rotate()). What does Express see next?",
    {
        "a": "an empty session: Express only knows the old id",
        "b": "the new id, with the same data: the cookie and the entry moved together",
        "c": "an error: two ids for one session",
    },
    "b",
    "The browser got the new cookie, signed with the shared secret, and Redis holds the "
    "data under the new key; the old key is gone.",
)


if __name__ == "__main__":  # pragma: no cover - a one-off install, e.g. before a class
    if shutil.which("npm") is None:
        sys.exit("npm is not on PATH")
    print("Express app installed in", install())
