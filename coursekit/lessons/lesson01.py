"""Lesson 1, cookies and cookie jars: the lesson's cookie server and its routes, the
SameSite experiment (two sites, a headless browser when there is one), the server's own
record of what a browser sent, the checks of exercises 1.1 and 1.2, and the quiz.

The routes are on a Flask Blueprint, ``routes``, so that the notebook can show each one
where the lesson first uses it (``coursekit.show_source(lesson01.theme)``) and the checks
can serve the same routes on a server of their own.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import flask
import requests

import sessionlib

from ..exercises import compare, exercise, question
from ..live import LiveServer
from ..setcookie import parse_set_cookie, set_cookie_headers
from ..table import Table, shorten

__all__ = [
    "SAMESITE_COOKIES",
    "browser_requests",
    "check_server",
    "compare_samesite",
    "cookies_sent",
    "drive_headless_browser",
    "make_app",
    "make_secure_app",
    "other_site",
    "routes",
    "samesite_links",
    "samesite_table",
]

routes = flask.Blueprint("lesson01", __name__)


@routes.get("/")
def home():
    return "Lesson 1's cookie server: try /theme, /attributes, /login?user=ada, /whoami, /grades"


@routes.get("/theme")
def theme():
    response = flask.make_response("theme set")
    response.set_cookie("theme", "dark")  # werkzeug writes the Set-Cookie header
    return response


@routes.get("/echo")
@routes.get("/admin/echo")
@routes.get("/administrator/echo")
def echo():
    """The names of the cookies this request carried."""
    return flask.jsonify(sorted(flask.request.cookies))


@routes.get("/attributes")
def attributes():
    """One cookie per attribute, so each can be watched on its own."""
    response = flask.make_response("six cookies set")
    response.set_cookie("everywhere", "1")
    response.set_cookie("admin_only", "1", path="/admin")
    response.set_cookie("brief", "1", max_age=1)
    response.set_cookie("no_js", "1", httponly=True)
    response.set_cookie("same_site_only", "1", samesite="Strict")
    response.set_cookie("https_only", "1", secure=True)
    return response


@routes.get("/login")
def login():
    """A *client-side* "session": who you are and your role, kept in plain cookies."""
    user = flask.request.args.get("user", "guest")
    response = flask.make_response(f"logged in as {user}")
    response.set_cookie("user", user)
    response.set_cookie("role", "learner")
    return response


@routes.get("/whoami")
def whoami():
    return f"hello {flask.request.cookies.get('user', 'stranger')}"


@routes.get("/grades")
def grades():
    if flask.request.cookies.get("role") != "teacher":
        return "teachers only", 403
    return "ada: A, grace: A+, mallory: see me"


#: The SameSite experiment's cookies, each named after its SameSite attribute.
SAMESITE_COOKIES = ("strict", "lax", "none", "unset")


@routes.get("/samesite/")
def samesite_page():
    """Four cookies, one per SameSite value (None must be Secure), kept below /samesite/;
    then the same three requests as the other site's page, from this page itself."""
    response = flask.make_response(_launcher(flask.request.host_url, "The cookie server"))
    response.set_cookie("strict", "1", path="/samesite", samesite="Strict")
    response.set_cookie("lax", "1", path="/samesite", samesite="Lax")
    response.set_cookie("none", "1", path="/samesite", samesite="None", secure=True)
    response.set_cookie("unset", "1", path="/samesite")  # no SameSite attribute at all
    return response


@routes.route("/samesite/record", methods=["GET", "POST"])
def samesite_record():
    """Write down which of the four cookies came with this request, and who started it."""
    request = flask.request
    arrived = [name for name in SAMESITE_COOKIES if name in request.cookies]
    _log().samesite.append(
        Seen(
            browser=_browser(request.user_agent.string),
            request=request.args.get("how", "?"),
            page=request.args.get("page", "?"),
            target=request.host_url,
            fetch_site=request.headers.get("Sec-Fetch-Site", "—"),
            cookies=arrived,
        )
    )
    said = ", ".join(f"'{name}'" for name in arrived) or "no cookie at all"
    if request.args.get("how") == "image":
        badge = (
            "<svg xmlns='http://www.w3.org/2000/svg' width='360' height='22'>"
            f"<text x='2' y='16' font-family='sans-serif' font-size='14'>cookies received: "
            f"{html.escape(said)}</text></svg>"
        )
        response = flask.Response(badge, mimetype="image/svg+xml")
    else:
        response = flask.make_response(
            f"<!doctype html><title>recorded</title><p>Of its four cookies, the cookie server "
            f"received: <b>{html.escape(said)}</b>.</p>"
            "<p>Close this tab, or run the table cell in the notebook again.</p>"
        )
    response.headers["Cache-Control"] = "no-store"  # each reload is a new request
    return response


@routes.after_app_request
def _note_browser_requests(response: flask.Response) -> flask.Response:
    """Keep the last requests a browser (not ``requests``) made, with the cookies it sent."""
    request = flask.request
    agent = request.user_agent.string
    if agent and not agent.startswith("python-requests") and _outside_the_experiment(request):
        _log().browser.append(
            Seen(
                browser=_browser(agent),
                request=f"{request.method} {request.full_path.rstrip('?')}",
                cookies=[f"{k}={v}" for k, v in request.cookies.items(multi=True)],
                status=response.status_code,
                when=time.strftime("%H:%M:%S"),
            )
        )
        del _log().browser[:-20]
    return response


def _outside_the_experiment(request: flask.Request) -> bool:
    return not request.path.startswith("/samesite/") and request.path != "/favicon.ico"


@dataclass
class Seen:
    """One request as the cookie server saw it."""

    browser: str
    request: str
    cookies: list[str]
    page: str = ""
    target: str = ""
    fetch_site: str = "—"
    status: int | None = None
    when: str = ""


@dataclass
class Log:
    samesite: list[Seen] = field(default_factory=list)
    browser: list[Seen] = field(default_factory=list)


def _log(app: flask.Flask | None = None) -> Log:
    return (app or flask.current_app).extensions["lesson01"]


def make_app() -> flask.Flask:
    """The lesson's cookie server: plain cookies, no sessionlib (yet)."""
    app = flask.Flask("lesson01")
    app.extensions["lesson01"] = Log()
    app.register_blueprint(routes)
    return app


def make_secure_app() -> flask.Flask:
    """A sessionlib counter whose session cookie is Secure: sent over HTTPS only."""
    app = flask.Flask("lesson01-secure")
    sessionlib.SessionManager(app, secret="lesson 01", cookie={"secure": True})

    @app.get("/count")
    def count():
        flask.session["visits"] = flask.session.get("visits", 0) + 1
        return str(flask.session["visits"])

    return app


def cookies_sent(jar: requests.Session, url: str) -> list[str]:
    """The names of the cookies ``jar`` sends with a request to ``url`` (an echo route),
    as the server received them."""
    return jar.get(url).json()


# -- SameSite: two sites --------------------------------------------------------------------


def other_site(target: str) -> flask.Flask:
    """Another site's server: one page whose image, link and form make the browser send
    requests to the cookie server at ``target``."""
    app = flask.Flask("lesson01-other")

    @app.get("/")
    def page():
        return _launcher(target, "Another server")

    return app


def _launcher(target: str, title: str) -> str:
    """A page that makes three requests to ``target``'s /samesite/record: an image (as it
    loads), a link (when clicked) and a form POST (when sent)."""
    page = flask.request.host_url.rstrip("/")
    record = f"{target.rstrip('/')}/samesite/record?page={quote(page, safe='')}&how="
    return f"""<!doctype html><title>{html.escape(title)}: {html.escape(page)}</title>
<h1>{html.escape(title)} at {html.escape(page)}</h1>
<p>Each item sends a request to the cookie server, <b>{html.escape(target)}</b>, which
writes down which of its cookies <i>strict, lax, none, unset</i> came along.</p>
<ol>
<li>An image, loaded with this page: <img src="{record}image" alt="(image)"></li>
<li><a id="link" href="{record}link" target="_blank">A link: click it</a> (a new tab).</li>
<li><form method="post" action="{record}form+POST" target="_blank" style="display:inline">
<button id="post">A form that posts</button></form> (a new tab).</li>
</ol>
<p>Then run the notebook's table cell again.</p>"""


def _site_relation(page: str, target: str) -> str:
    page_parts, target_parts = urlsplit(page), urlsplit(target)
    if (page_parts.hostname, page_parts.port) == (target_parts.hostname, target_parts.port):
        return "same origin"
    if page_parts.hostname == target_parts.hostname:
        return "same site, other port"
    return "another site"


_RELATIONS = ["same origin", "same site, other port", "another site"]
_HOWS = ["image", "link", "form POST"]


def _browser(agent: str) -> str:
    for token, name in (
        ("HeadlessChrome/", "Chromium (headless)"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ):
        if token in agent:
            return f"{name} {agent.split(token)[1].split('.')[0]}"
    return shorten(agent, 30) or "unknown"


def samesite_links(server: LiveServer, other: LiveServer) -> Any:
    """Links to the three pages of the experiment, in the order to open them."""
    from IPython.display import HTML

    pages = [
        (f"{server.url}/samesite/", "the cookie server's page: sets the four cookies"),
        (f"http://localhost:{other.port}/", "another site: localhost is not 127.0.0.1"),
        (f"http://127.0.0.1:{other.port}/", "the same site on another port"),
    ]
    items = "".join(
        f'<li><a href="{url}" target="_blank" rel="noopener">{url}</a>: {what}</li>'
        for url, what in pages
    )
    note = ""
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        note = (
            "<p>On JupyterHub and Binder your browser reaches these servers only through "
            "Jupyter's proxy, one address for all, so it cannot see two sites: the table "
            "shows what a headless browser on the server saw, if there is one. Run the "
            "course on your own machine to try your browser.</p>"
        )
    return HTML(f"<ol>{items}</ol>{note}")


_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]


def _chromium() -> str | None:
    """A Chromium or Chrome on this machine (None: Playwright's own, if installed)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def drive_headless_browser(server: LiveServer, other: LiveServer, timeout: float = 20) -> None:
    """Open the three pages in a headless Chromium (on the cookie server's own page only
    the image; on the other server's two, the image, the link and the form), so that the
    table fills in; or say in one line why no browser ran."""
    if importlib.util.find_spec("playwright") is None:
        print("No browser driven (Playwright is not installed): open the pages yourself.")
        return
    result: dict[str, Any] = {}
    done = threading.Event()
    threading.Thread(  # Playwright's sync API can't run in the kernel's event loop
        target=_drive, args=(server, other.port, result, done), daemon=True
    ).start()
    if not done.wait(timeout):
        print(f"No browser driven (headless Chromium took over {timeout:.0f} s).")
    elif "error" in result:
        print(f"No browser driven ({shorten(result['error'], 90)}): open the pages yourself.")
    else:
        print(
            f"Headless Chromium {result['version']} opened the pages, clicked the links and "
            "sent the forms: its requests are in the table."
        )


def _drive(
    server: LiveServer, other_port: int, result: dict[str, Any], done: threading.Event
) -> None:
    """Drive the browser; ``done`` is set once the requests are recorded (or it failed),
    and the browser is closed after that, while the notebook goes on."""
    try:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory(
            prefix="lesson01-chromium-", ignore_cleanup_errors=True
        ) as profile:
            # Third-party cookies allowed, as in a normal Chrome window: otherwise the
            # browser's own blocking would hide what SameSite=None does.
            preferences = Path(profile) / "Default" / "Preferences"
            preferences.parent.mkdir()
            preferences.write_text(json.dumps({"profile": {"cookie_controls_mode": 0}}))
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=_chromium(), headless=True, args=_CHROMIUM_ARGS
                )
                try:
                    context.set_default_timeout(5000)
                    already = len(_log(server.app).samesite)
                    first = context.pages[0] if context.pages else context.new_page()
                    first.goto(f"{server.url}/samesite/")  # the cookies, and an image
                    for host in ("127.0.0.1", "localhost"):
                        first.goto(f"http://{host}:{other_port}/")  # loads the image
                        first.evaluate(CLICK_BOTH)  # the link and the form open new tabs
                    _wait_for_requests(server.app, already, time.monotonic() + 5)
                    result["version"] = context.browser.version if context.browser else ""
                    done.set()
                finally:
                    context.close()
    except Exception as error:  # no browser is fine: the lesson says so and goes on
        result.setdefault("error", f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        done.set()


CLICK_BOTH = "document.querySelector('#link').click(); document.querySelector('#post').click()"


def _wait_for_requests(app: flask.Flask, already: int, deadline: float) -> None:
    """Until the seven kinds of request (by who started them, and how) have arrived."""
    while time.monotonic() < deadline:
        kinds = {
            (_site_relation(seen.page, seen.target), seen.request)
            for seen in _log(app).samesite[already:]
        }
        if len(kinds) >= 7:
            return
        time.sleep(0.02)


def _latest(app: flask.Flask) -> dict[tuple[str, str, str], Seen]:
    """The latest request of each kind: by browser, starting page's relation, and how."""
    latest: dict[tuple[str, str, str], Seen] = {}
    for seen in _log(app).samesite:
        relation = _site_relation(seen.page, seen.target)
        latest[(seen.browser, relation, seen.request)] = seen
    return latest


def samesite_table(app: flask.Flask) -> Table | None:
    """Which of the four cookies each request brought, by who started it and how (the
    latest of each kind, per browser); a line instead while no browser has been there."""
    latest = _latest(app)
    if not latest:
        print("No browser has visited the pages yet: open them, then run this cell again.")
        return None

    def order(key: tuple[str, str, str]) -> tuple[str, int, int]:
        browser, relation, how = key
        return (browser, _RELATIONS.index(relation), _HOWS.index(how) if how in _HOWS else 9)

    rows = []
    for key in sorted(latest, key=order):
        seen = latest[key]
        marks = ["✔" if name in seen.cookies else "—" for name in SAMESITE_COOKIES]
        page = urlsplit(seen.page).netloc or seen.page
        rows.append([seen.browser, f"{page} ({key[1]})", seen.request, seen.fetch_site, *marks])
    return Table(
        ["browser", "started by a page at", "request", "Sec-Fetch-Site", *SAMESITE_COOKIES],
        rows,
        "Which cookies reached the cookie server (✔ sent, — kept back)",
    )


def compare_samesite(guess: Any, app: flask.Flask, page: str, how: str, why: str = "") -> None:
    """``coursekit.compare`` for the SameSite experiment: the guess against the cookies the
    latest such request brought (from any browser), or a line if there is none yet."""
    found = [seen for (_, relation, request), seen in _latest(app).items() if relation == page]
    found = [seen for seen in found if seen.request == how]
    if not found:
        print(f"No {how} from a page on {page} recorded yet: nothing to compare with.")
        return
    if isinstance(guess, (list, tuple, set, frozenset)):
        guess = sorted(guess)
    compare(guess, sorted(found[-1].cookies), why)


def browser_requests(app: flask.Flask) -> Table | None:
    """The last requests a browser made to the cookie server (the experiment's aside), with
    the cookies they carried and the server's answer."""
    seen = _log(app).browser[-8:]
    if not seen:
        print("No request from a browser has reached the server yet: follow the steps above.")
        return None
    return Table(
        ["time", "browser", "request", "cookies received", "status"],
        [[s.when, s.browser, s.request, "; ".join(s.cookies) or "—", s.status] for s in seen],
        "What your browser sent, as the server received it",
    )


# -- the checks' own server ------------------------------------------------------------------

_CHECK: dict[str, Any] = {}


def check_server() -> LiveServer:
    """A server with the lesson's routes, for the checks alone (started again if stopped)."""
    server = _CHECK.get("server")
    if server is None or not server.running:
        server = LiveServer(make_app(), name="lesson01-check").start()
        _CHECK["server"] = server
    return server


# -- exercise 1.1 ----------------------------------------------------------------------------


@exercise(
    "1.1",
    "promote yourself",
    hints=[
        "Mallory's edit above replaced her user cookie: same name, same domain, same path.",
        "A different domain or path adds a second cookie beside the first; "
        "coursekit.jar_table(jar) shows each cookie of a jar with its domain and path.",
        "jar.cookies.set(name, value, domain=..., path=...) edits the jar; no request needed.",
    ],
    uses_package=False,
)
def check_promote(promote: Any) -> None:
    server = check_server()
    learner = requests.Session()
    learner.get(server.url + "/login", params={"user": "ada"})
    promote(learner)
    roles = [cookie for cookie in learner.cookies if cookie.name == "role"]
    assert roles, "the jar holds no role cookie any more"
    where = ", ".join(f"{c.value} for {c.domain or 'any host'}{c.path}" for c in roles)
    assert len(roles) == 1, (
        f"the jar holds {len(roles)} role cookies ({where}): "
        "replace the one it had instead of adding another"
    )
    assert roles[0].value == "teacher", (
        f"the jar's role cookie says {roles[0].value!r}: edit the cookie in the jar"
    )
    response = learner.get(server.url + "/grades")
    assert response.status_code == 200, (
        f"/grades answers {response.status_code}; the jar sent "
        f"{response.request.headers.get('Cookie', 'no cookie')!r}"
    )
    said = learner.get(server.url + "/whoami").text
    assert said == "hello ada", f"/whoami now says {said!r}: keep the user, change only the role"


# -- exercise 1.2 ----------------------------------------------------------------------------


@exercise(
    "1.2",
    "set a cookie with attributes",
    hints=[
        "response.set_cookie(name, value, ...) takes one keyword per attribute: path, "
        "max_age, httponly, samesite (and expires, secure, domain).",
        "Max-Age counts seconds (express's maxAge counts milliseconds); a cookie's Path "
        "covers itself and what is below it.",
        "The strictest SameSite is 'Strict'. Secure would keep the cookie off plain http://.",
    ],
    uses_package=False,
)
def check_lang_app(make_lang_app: Any) -> None:
    app = make_lang_app()
    assert isinstance(app, flask.Flask), f"return the Flask app, not {type(app).__name__}"
    failures: list[BaseException] = []
    app.logger.disabled = True  # the verdict says what failed, without a traceback

    def failed(sender: Any, exception: BaseException, **extra: Any) -> None:
        failures.append(exception)

    flask.got_request_exception.connect(failed, app, weak=False)
    with LiveServer(app) as lang_server:
        jar = requests.Session()
        response = jar.get(lang_server.url + "/lang")
        if failures:
            error = failures[0]
            raise AssertionError(f"GET /lang failed: {type(error).__name__}: {error}")
        assert response.status_code == 200, f"GET /lang answered {response.status_code}"
        headers = [h for h in set_cookie_headers(response) if h.startswith("lang=")]
        assert headers, "GET /lang sent no Set-Cookie for a cookie named lang"
        _, value, attributes = parse_set_cookie(headers[-1])
        assert value == "fr", f"the cookie's value is {value!r}, not 'fr'"
        kept = [cookie for cookie in jar.cookies if cookie.name == "lang"]
        assert kept, "the jar did not keep the cookie: had it expired already?"
        assert kept[0].expires is not None, "it lives until the browser closes: give it 60 s"
        lifetime = kept[0].expires - time.time()
        assert 55 <= lifetime <= 61, f"it lives {lifetime:.0f} s, not 60 (Max-Age counts seconds)"
        assert "httponly" in attributes, "JavaScript can still read it"
        same_site = attributes.get("samesite", "")
        assert same_site.lower() == "strict", (
            f"SameSite={same_site or '(not set)'}: not the strictest"
        )
        sent = {
            path: "lang=fr" in jar.get(lang_server.url + path).request.headers.get("Cookie", "")
            for path in ["/docs", "/docs/intro", "/", "/lang", "/documents"]
        }
        assert sent["/docs"] and sent["/docs/intro"], (
            f"the jar does not send it to /docs and below (Path={attributes.get('path')}"
            + ("; Secure keeps it off plain http://" if "secure" in attributes else "")
            + ")"
        )
        elsewhere = [path for path in ["/", "/lang", "/documents"] if sent[path]]
        assert not elsewhere, f"the jar also sends it to {', '.join(elsewhere)}"


# -- the quiz ----------------------------------------------------------------------------------

question(
    1,
    "What does a Cookie request header carry?",
    {
        "a": "each cookie's name=value and its attributes (Path, Max-Age, ...)",
        "b": "one cookie per header, with its Path",
        "c": "only the cookies marked HttpOnly",
        "d": "name=value pairs only, all the cookies in one header",
    },
    "d",
    "Attributes are instructions to the jar, sent in Set-Cookie; the jar uses them to decide "
    "what to send and sends back only the pairs.",
)
question(
    1,
    "A cookie was set with Path=/admin. Which request carries it?",
    {"a": "GET /administrator", "b": "GET /admin/users", "c": "GET /", "d": "all three"},
    "b",
    "A path covers itself and what is below it (/admin, /admin/...); /administrator only "
    "begins with the same letters.",
)
question(
    1,
    "A page on another site shows an image from your server. Which of your cookies can go "
    "with that image request?",
    {
        "a": "all of them",
        "b": "SameSite=Strict and Lax ones",
        "c": "only SameSite=None ones (and only where the browser allows third-party cookies)",
        "d": "only SameSite=Lax ones",
    },
    "c",
    "Lax cookies go along only on top-level navigations (clicking a link); a cross-site "
    "image or form POST carries no Lax or Strict cookie.",
)
question(
    1,
    "Are http://127.0.0.1:5000 and http://127.0.0.1:8000 the same site?",
    {
        "a": "yes: a site ignores the port (they are two origins of one site)",
        "b": "no: another port is another site",
        "c": "only for cookies with SameSite=None",
        "d": "only over HTTPS",
    },
    "a",
    "The experiment showed it: from the other port even strict arrived. localhost and "
    "127.0.0.1, though, are two sites.",
)
question(
    1,
    "What does HttpOnly do?",
    {
        "a": "the page's JavaScript can't read it (document.cookie), so an injected script "
        "can't steal it",
        "b": "the cookie is sent over http:// only, never https://",
        "c": "the cookie goes only with top-level navigations",
        "d": "the server can't change it any more",
    },
    "a",
    "It changes nothing about what the jar sends; it hides the cookie from scripts.",
)
question(
    1,
    "/grades believes a role=teacher cookie. What stops a learner from promoting themselves?",
    {
        "a": "HttpOnly",
        "b": "SameSite=Strict",
        "c": "nothing in the cookie: keep the role on the server (lesson 2) or sign the "
        "cookie (lesson 3)",
        "d": "Secure",
    },
    "c",
    "Attributes decide when a browser sends a cookie; none of them stops its owner from "
    "editing it, as the devtools walkthrough showed.",
)
