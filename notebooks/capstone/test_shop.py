"""The shop's specification (``SPEC.md`` beside this file), rule by rule, over HTTP.

Each test's name starts with the id of the rule it checks (``test_L3_...``) and each
failure says which rule broke and how. Run it against the shop your lesson 8 notebook
serves, from the ``notebooks/`` folder::

    SHOP_URL=http://127.0.0.1:<port> python -m pytest capstone/test_shop.py -p no:xdist

or against a module with a ``create_app(lib, store)``, on the reference ``sessionlib`` or
(``SHOP_LIB=mine``) on your own package::

    SHOP_APP=path/to/shop.py python -m pytest capstone/test_shop.py -p no:xdist

Against a URL, the rules that need the store or the app itself (S6, X4, L5, L7, E3) are
skipped. Lesson 8's self-checks call these same functions with a shop they start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests

COOKIE = "shop.sid"
SECRET, OLD_SECRET = "shop secret 2", "shop secret 1"
USERS = {"alice": "wonderland", "bob": "builder", "carol": "chocolate"}
IDLE, LIFETIME = 30 * 60, 8 * 3600
CSRF_REFUSED = {"error": "CSRF token missing or wrong"}
WRONG_LOGIN = {"error": "wrong user name or password"}
LOG_IN_FIRST = {"error": "log in first"}


# -- the shop under test ------------------------------------------------------------------
@dataclass
class Shop:
    """A running shop: its URL, and (when this process started it) its app and store."""

    url: str
    app: Any = None
    store: Any = None
    server: Any = None

    def needs_internals(self, rule: str) -> None:
        if self.app is None:
            pytest.skip(f"{rule} needs the shop's store and app: lesson 8's self-check runs it")


class ScanSpy:
    """Mixed into the shop's store: notes any call that reads every session (rule E3)."""

    scanned = False

    def ids(self) -> list[str]:
        self.scanned = True
        return super().ids()  # type: ignore[misc]

    def all(self) -> dict[str, Any]:
        self.scanned = True
        return super().all()  # type: ignore[misc]


def scan_spy_client() -> Any:
    """A fresh fakeredis client that notes any SCAN or KEYS made on it (rule E3)."""
    import fakeredis

    class ScanSpyRedis(fakeredis.FakeRedis):
        scanned = False

        def scan(self, *args: Any, **kwargs: Any) -> Any:  # scan_iter calls it too
            self.scanned = True
            return super().scan(*args, **kwargs)

        def keys(self, *args: Any, **kwargs: Any) -> Any:
            self.scanned = True
            return super().keys(*args, **kwargs)

    return ScanSpyRedis(server=fakeredis.FakeServer())


def start(create_app: Callable[[Any, Any], Any], lib: Any) -> Shop:
    """Serve ``create_app(lib, store)`` on a store of its own (a fresh fakeredis)."""
    import coursekit

    store_class = type("ShopStore", (ScanSpy, lib.RedisStore), {})
    store = store_class(scan_spy_client(), prefix="shop:")
    app = create_app(lib, store)
    server = coursekit.LiveServer(app).start()
    return Shop(server.url, app, store, server)


def _load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("shop_under_test", Path(path).resolve())
    assert spec is not None and spec.loader is not None, f"no Python module at {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _library(which: str) -> Any:
    if which == "sessionlib":
        import sessionlib

        return sessionlib
    import coursekit

    if which == "mine":
        return coursekit.mine(8, quiet=True)
    from coursekit import package

    return package.load_package(package.with_reference(Path(which), keep=set()))


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    if os.environ.get("SHOP_URL"):
        yield Shop(os.environ["SHOP_URL"].rstrip("/"))
        return
    if not os.environ.get("SHOP_APP"):
        pytest.skip("set SHOP_URL (lesson 8 prints it) or SHOP_APP (a module with create_app)")
    module = _load(os.environ["SHOP_APP"])
    running = start(module.create_app, _library(os.environ.get("SHOP_LIB", "sessionlib")))
    yield running
    running.server.stop()


# -- a browser ----------------------------------------------------------------------------
class Browser:
    """One browser: its own cookie jar, and the CSRF token its session was given."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.jar = requests.Session()
        self.csrf: str | None = None

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.answered(self.jar.get(self.shop.url + path, timeout=10, **options))

    def page(self) -> dict[str, Any]:
        return self.get("/").json()

    def token(self) -> str:
        """This session's CSRF token (asked for once, then remembered)."""
        if self.csrf is None:
            self.csrf = self.get("/csrf").json()["csrf"]
        return self.csrf

    def post(self, path: str, *, token: str | None = None, **form: str) -> requests.Response:
        """A POST with this session's token (or ``token``), following the redirect."""
        return self.answered(self.send(path, token=token, **form))

    def send(self, path: str, *, token: str | None = None, **form: str) -> requests.Response:
        """``post``, taking any answer as it comes (a 501 from a view not written yet too)."""
        headers = {"X-CSRF-Token": self.token() if token is None else token}
        return self.jar.post(self.shop.url + path, data=form, headers=headers, timeout=10)

    def answered(self, response: requests.Response) -> requests.Response:
        return _answered(response)

    def login(self, user: str, password: str | None = None) -> requests.Response:
        response = self.post(
            "/login", user=user, password=USERS[user] if password is None else password
        )
        if response.ok:
            self.csrf = None  # a login brings a new token (L4)
        return response

    @property
    def cookie(self) -> str | None:
        """The session cookie in the jar, as the browser holds it."""
        return self.jar.cookies.get(COOKIE)

    @property
    def session_id(self) -> str | None:
        return None if self.cookie is None else id_in(self.cookie)

    def copy(self) -> Browser:
        """Another browser holding the same cookie (a thief, or an old copy)."""
        other = type(self)(self.shop)
        for cookie in self.jar.cookies:
            other.jar.cookies.set_cookie(cookie)
        other.csrf = self.csrf
        return other


def _answered(response: requests.Response) -> requests.Response:
    """The response; a view still holding its stub (501) means "not written yet", and a
    500 is a view that raised (Flask printed its traceback where the shop runs)."""
    request = f"{response.request.method} {response.request.path_url}"
    if response.status_code == 501:
        raise NotImplementedError(f"{request}: {_error(response)}")
    if response.status_code == 500:
        raise AssertionError(f"{request} answered 500: the view raised an exception")
    return response


def _guarded(response: requests.Response) -> requests.Response:
    """A POST's answer as the CSRF guard left it: "not written yet" only when the guard
    itself is a stub (a 501 from the view means the guard let the POST through)."""
    if response.status_code == 501 and "check_csrf" in _error(response):
        raise NotImplementedError(f"POST {response.request.path_url}: {_error(response)}")
    if response.status_code == 500:
        raise AssertionError(f"POST {response.request.path_url} answered 500: the guard raised")
    return response


def _error(response: requests.Response) -> str:
    try:
        return str(response.json().get("error"))
    except ValueError:
        return response.text[:80]


def set_cookies(response: requests.Response) -> list[str]:
    """Every Set-Cookie header of the response and the redirects before it."""
    return [
        h for hop in [*response.history, response] for h in hop.raw.headers.getlist("Set-Cookie")
    ]


def first_hop(response: requests.Response) -> requests.Response:
    """The response to the request itself (a POST), before any redirect was followed."""
    return response.history[0] if response.history else response


def attributes(header: str) -> dict[str, str]:
    """A Set-Cookie header's attributes, by lower-case name ("" for flags)."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts}


def deletes_cookie(header: str) -> bool:
    return header.startswith(COOKIE + "=") and attributes(header).get("max-age") == "0"


def sign(value: str, secret: str) -> str:
    """cookie-signature's scheme: ``value.base64(HMAC-SHA256)`` without padding."""
    mac = hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()
    return value + "." + base64.b64encode(mac).decode().rstrip("=")


def id_in(value: str) -> str:
    """The session id inside a cookie value (``s:<id>.<signature>``, percent-encoded)."""
    return unquote(value).removeprefix("s:").rpartition(".")[0]


def cookie_for(sid: str, secret: str) -> str:
    return quote("s:" + sign(sid, secret), safe="-_.!~*'()")


def raw_get(shop: Shop, path: str, cookie: str | None = None, **headers: str) -> requests.Response:
    """A GET from no browser: exactly the cookie given, nothing kept afterwards."""
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    return _answered(requests.get(shop.url + path, headers=headers, timeout=10))


def shop_cookie(response: requests.Response) -> str:
    headers = [h for h in set_cookies(response) if h.startswith(COOKIE + "=")]
    assert headers, f"no {COOKIE} cookie was set (Set-Cookie: {set_cookies(response) or 'none'})"
    return headers[-1]


def stored(shop: Shop, sid: str) -> Any:
    return shop.store.get(sid)


# -- S: the session cookie ----------------------------------------------------------------
def test_S1_reading_the_page_stores_nothing(shop: Shop) -> None:
    browser = Browser(shop)
    response = browser.get("/")
    assert response.json()["user"] is None, f"a new visitor is nobody: {response.json()}"
    assert not set_cookies(response), f"S1: reading / set a cookie: {set_cookies(response)}"
    if shop.store is not None:
        assert not shop.store.get(browser.session_id or "-"), "S1: nothing is stored"


def test_S2_the_cookie_has_the_shops_name_and_attributes(shop: Shop) -> None:
    header = shop_cookie(Browser(shop).get("/csrf"))
    found = attributes(header)
    assert header.startswith("shop.sid="), f"S2: the cookie is named shop.sid: {header}"
    assert "httponly" in found, f"S2: HttpOnly is missing: {header}"
    assert found.get("samesite", "").lower() == "lax", f"S2: SameSite=Lax: {header}"
    assert found.get("path") == "/", f"S2: Path=/: {header}"
    assert found.get("max-age") == str(IDLE), f"S2: Max-Age=1800 (seconds): {header}"


def test_S3_secure_over_https_not_over_http(shop: Shop) -> None:
    plain = attributes(shop_cookie(raw_get(shop, "/csrf")))
    assert "secure" not in plain, "S3: over plain HTTP the cookie must not be Secure"
    https = attributes(shop_cookie(raw_get(shop, "/csrf", **{"X-Forwarded-Proto": "https"})))
    assert "secure" in https, "S3: behind the TLS proxy (X-Forwarded-Proto: https), Secure"


def test_S4_every_response_renews_the_cookie(shop: Shop) -> None:
    browser = Browser(shop)
    browser.token()
    first = browser.cookie
    again = browser.get("/csrf")
    renewed = [h for h in set_cookies(again) if h.startswith(COOKIE + "=")]
    assert renewed, "S4: a request with the cookie gets it back (30 minutes from now)"
    assert attributes(renewed[0]).get("max-age") == str(IDLE), f"S4: Max-Age=1800: {renewed[0]}"
    assert browser.cookie == first, "S4: the same session, the same id"


def test_S5_the_new_secret_signs_and_the_old_one_still_works(shop: Shop) -> None:
    browser = Browser(shop)
    browser.token()
    sid = browser.session_id or ""
    assert unquote(browser.cookie or "") == "s:" + sign(sid, SECRET), (
        'S5: cookies are signed with "shop secret 2"'
    )
    old = raw_get(shop, "/csrf", cookie=cookie_for(sid, OLD_SECRET))
    value = unquote(shop_cookie(old).split(";")[0].partition("=")[2])
    assert id_in(value) == sid, (
        'S5: a cookie signed with the old secret "shop secret 1" still opens its session'
    )
    assert value == "s:" + sign(sid, SECRET), "S5: the response re-signs it with the new secret"


def test_S6_a_session_ends_eight_hours_after_it_began(shop: Shop) -> None:
    shop.needs_internals("S6")
    for age, alive in ((LIFETIME - 60, True), (LIFETIME + 1, False)):
        browser = Browser(shop)
        browser.token()
        sid = browser.session_id or ""
        data = stored(shop, sid)
        data["_created"] = round((time.time() - age) * 1000)  # as if it began `age` s ago
        shop.store.set(sid, data)
        browser.get("/csrf")
        hours = f"{age / 3600:.2f} h"
        if alive:
            assert browser.session_id == sid, f"S6: a session {hours} old still lives"
        else:
            assert browser.session_id != sid, f"S6: a session {hours} old has ended"


# -- T: the CSRF token --------------------------------------------------------------------
def random_bytes(token: str) -> int:
    """How many random bytes a token can hold at most, judged by its alphabet."""
    if re.fullmatch(
        r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[1-8][0-9a-fA-F]{3}-?[89abAB]"
        r"[0-9a-fA-F]{3}-?[0-9a-fA-F]{12}",
        token,
    ):
        return 15  # a UUID: 122 random bits at most, fewer than 128
    if re.fullmatch(r"[0-9a-fA-F]+", token):
        return len(token) // 2
    return len(token) * 6 // 8


def test_T1_the_token_is_long_random_and_starts_a_session(shop: Shop) -> None:
    browser = Browser(shop)
    response = browser.get("/csrf")
    token = response.json().get("csrf")
    assert isinstance(token, str) and re.fullmatch(r"[A-Za-z0-9_-]+", token), (
        f"T1: the token is URL-safe text: {token!r}"
    )
    assert random_bytes(token) >= 16, (
        f"T1: 128 random bits or more (secrets.token_urlsafe(32)): {token!r}"
    )
    assert browser.cookie is not None, (
        "T1: the first ask keeps the token in a new session: a cookie"
    )


def test_T2_one_token_per_session(shop: Shop) -> None:
    browser = Browser(shop)
    first = browser.get("/csrf").json()["csrf"]
    assert browser.get("/csrf").json()["csrf"] == first, "T2: the same session, the same token"
    others = {Browser(shop).get("/csrf").json()["csrf"] for _ in range(3)}
    assert first not in others and len(others) == 3, "T2: every session gets a token of its own"


def test_T3_the_token_is_not_the_session_id(shop: Shop) -> None:
    browser = Browser(shop)
    token = browser.token()
    sid = browser.session_id or ""
    assert sid not in token and sid[:12] not in token, (
        "T3: the token must not contain the session id"
    )


# -- X: the CSRF guard --------------------------------------------------------------------
def test_X1_a_post_without_the_token_is_refused(shop: Shop) -> None:
    browser = Browser(shop)
    browser.token()
    bare = _guarded(browser.jar.post(shop.url + "/cart/add", data={"item": "apple"}, timeout=10))
    assert bare.status_code == 403, f"X1: a POST without the token: 403, not {bare.status_code}"
    assert bare.json() == CSRF_REFUSED, f"X1: the answer is {CSRF_REFUSED}: {bare.text[:80]}"
    in_url = _guarded(
        browser.jar.post(
            shop.url + "/cart/add",
            params={"csrf_token": browser.token()},
            data={"item": "apple"},
            timeout=10,
        )
    )
    assert in_url.status_code == 403, (
        f"X1: a token in the query string must be refused (403, not {in_url.status_code}): "
        "a URL leaks into logs and Referer headers. Read the header or the form field, "
        "not request.values."
    )
    with_header = _guarded(browser.send("/cart/add", item="apple"))
    assert with_header.status_code != 403, "X1: the right token in X-CSRF-Token is accepted"
    form = {"item": "apple", "csrf_token": browser.token()}
    with_field = _guarded(browser.jar.post(shop.url + "/cart/add", data=form, timeout=10))
    assert with_field.status_code != 403, "X1: the right token in the csrf_token field is accepted"


def test_X2_another_sessions_token_or_a_strange_one_is_refused(shop: Shop) -> None:
    browser, other = Browser(shop), Browser(shop)
    browser.token()
    for token, what in (
        (other.token(), "another session's token"),
        ("wönderland", "a non-ASCII token"),
    ):
        response = _guarded(browser.send("/cart/add", token=token, item="apple"))
        assert response.status_code == 403, f"X2: {what}: 403, not {response.status_code}"


def test_X3_no_session_and_no_token_is_refused(shop: Shop) -> None:
    for headers in ({}, {"X-CSRF-Token": ""}):
        response = _guarded(
            requests.post(
                shop.url + "/cart/add", data={"item": "apple"}, headers=headers, timeout=10
            )
        )
        assert response.status_code == 403, (
            f"X3: no session, {'an empty' if headers else 'no'} token: {response.status_code}"
        )


class Spy(str):
    """A token (or password) that notes being compared with ``==`` or ``!=``, and whose
    ``encode()`` does the same (rules X4, L7)."""

    compared: list[str] = []

    def __eq__(self, other: object) -> bool:
        Spy.compared.append("==")
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        Spy.compared.append("!=")
        return str.__ne__(self, other)

    __hash__ = str.__hash__

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> SpyBytes:
        return SpyBytes(str.encode(self, encoding, errors))


class SpyBytes(bytes):
    """A ``Spy``'s bytes: ``==`` and ``!=`` are noted; ``hmac.compare_digest`` uses neither."""

    def __eq__(self, other: object) -> bool:
        Spy.compared.append("==")
        return bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        Spy.compared.append("!=")
        return bytes.__ne__(self, other)

    __hash__ = bytes.__hash__


def test_X4_tokens_are_compared_in_constant_time(shop: Shop) -> None:
    shop.needs_internals("X4")
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    browser = Browser(shop)
    spy = Spy(browser.token())
    Spy.compared = []
    cookie = {"Cookie": f"{COOKIE}={browser.cookie}"}
    with shop.app.test_request_context("/cart/add", method="POST", headers=cookie):
        import flask

        flask.request.headers = Headers([*cookie.items(), ("X-CSRF-Token", spy)])
        flask.request.form = ImmutableMultiDict({"item": "apple", "csrf_token": spy})
        refused = shop.app.preprocess_request()
    assert refused is None, f"X4: the right token was refused: {refused}"
    assert not Spy.compared, (
        "X4: compare tokens with hmac.compare_digest, never with == or != (on text or bytes)"
    )


# -- C: the cart --------------------------------------------------------------------------
def test_C1_add_puts_one_more_in_the_cart(shop: Shop) -> None:
    reader = Browser(shop)
    assert not set_cookies(reader.get("/")), "C1: reading / sets no cookie for a new visitor"
    browser = Browser(shop)
    page = browser.post("/cart/add", item="apple").json()
    assert page["cart"] == {"apple": 1}, f"C1: one apple: {page['cart']}"
    assert page["messages"] == ["Added apple"], f"C1: flash 'Added apple': {page['messages']}"
    browser.post("/cart/add", item="apple")
    page = browser.post("/cart/add", item="bread").json()
    assert page["cart"] == {"apple": 2, "bread": 1}, f"C1: two apples and a bread: {page['cart']}"
    assert page["total"] == 3.2, f"C1: 2 x 0.50 + 2.20 = 3.20, not {page['total']}"


def test_C2_an_unknown_item_is_a_404(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="apple")
    response = browser.post("/cart/add", item="caviar")
    assert response.status_code == 404, f"C2: an item not for sale: 404, not {response.status_code}"
    assert response.json() == {"error": "no such item: caviar"}, f"C2: {response.text[:80]}"
    page = browser.page()
    assert page["cart"] == {"apple": 1}, f"C2: the cart did not change: {page['cart']}"


def test_C3_remove_takes_one_out(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="apple")
    browser.post("/cart/add", item="apple")
    page = browser.post("/cart/remove", item="apple").json()
    assert page["cart"] == {"apple": 1}, f"C3: two apples minus one: {page['cart']}"
    assert page["messages"] == ["Removed apple"], f"C3: flash 'Removed apple': {page['messages']}"
    page = browser.post("/cart/remove", item="apple").json()
    assert page["cart"] == {}, f"C3: at zero the apple leaves the cart: {page['cart']}"
    page = browser.post("/cart/remove", item="bread").json()
    assert page["cart"] == {}, f"C3: removing what is not there changes nothing: {page['cart']}"
    assert page["messages"] == ["bread is not in your cart"], f"C3: {page['messages']}"
    empty = Browser(shop).post("/cart/remove", item="cheese")
    assert empty.ok, f"C3: with no cart at all: not an error ({empty.status_code})"
    assert empty.json()["messages"] == ["cheese is not in your cart"], f"C3: {empty.json()}"


def test_C4_totals_are_rounded_and_messages_shown_once(shop: Shop) -> None:
    browser = Browser(shop)
    for _ in range(3):
        browser.post("/cart/add", item="bread")
    page = browser.page()
    assert page["total"] == 6.6, f"C4: three breads cost 6.6, not {page['total']}"
    assert page["messages"] == [], f"C4: messages are shown once: {page['messages']}"


# -- L: login and checkout ----------------------------------------------------------------
def test_L1_a_failed_login_changes_nothing(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="cheese")
    before = browser.cookie
    for user, password in (
        ("alice", "guess"),
        ("zed", ""),
        ("zed", "wonderland"),
        ("alice", "wönderland"),
        ("", ""),
    ):
        response = browser.post("/login", user=user, password=password)
        assert response.status_code == 401, (
            f"L1: user {user!r}, password {password!r}: 401, not {response.status_code}"
        )
        assert response.json() == WRONG_LOGIN, f"L1: the same answer for all: {response.text[:80]}"
    page = browser.page()
    assert page["user"] is None and page["cart"] == {"cheese": 1}, f"L1: nothing changed: {page}"
    assert browser.cookie == before, "L1: a failed login keeps the session id"


def test_L2_login_moves_the_session_to_a_new_id_and_keeps_the_cart(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="apple")
    before = browser.session_id
    page = browser.login("alice").json()
    assert page["user"] == "alice", f"L2: the page shows the user: {page}"
    assert page["messages"] == ["Welcome, alice"], f"L2: flash 'Welcome, alice': {page['messages']}"
    assert page["cart"] == {"apple": 1}, f"L2: the cart survives the login: {page['cart']}"
    assert browser.session_id != before, "L2: a login moves the session to a new id"


def test_L3_the_id_from_before_the_login_is_dead(shop: Shop) -> None:
    victim = Browser(shop)
    victim.post("/cart/add", item="apple")
    attacker = victim.copy()  # planted before the login, or copied
    victim.login("bob")
    page = attacker.page()
    assert page["user"] is None, f"L3: the old id must not be logged in (fixation): {page}"
    assert page["cart"] == {}, f"L3: the old id holds nothing any more: {page['cart']}"


def test_L4_login_brings_a_new_csrf_token(shop: Shop) -> None:
    browser = Browser(shop)
    old_token = browser.token()
    browser.login("alice")
    assert browser.token() != old_token, "L4: the token after the login is a new one"
    response = browser.post("/cart/add", token=old_token, item="apple")
    assert response.status_code == 403, (
        f"L4: the token from before the login: 403, not {response.status_code}"
    )


def test_L5_login_records_the_session_in_the_users_index(shop: Shop) -> None:
    shop.needs_internals("L5")
    browser = Browser(shop)
    browser.token()
    anonymous = browser.session_id
    browser.login("alice")
    key = "users:" + shop.store.prefix + "alice"
    members = {m.decode() for m in shop.store.client.smembers(key)}
    assert browser.session_id in members, f"L5: the new id is in the set {key}"
    assert anonymous not in members, "L5: record the id after the login moved the session"
    ttl = shop.store.client.ttl(key)
    now = "it never expires" if ttl < 0 else f"it expires in {ttl} s"
    assert LIFETIME - 60 <= ttl <= LIFETIME, (
        f"L5: the index must expire LIFETIME ({LIFETIME} s) after the login, but {now}. "
        "Sooner, log out everywhere misses live sessions; later, the index outlives them."
    )


def test_L6_checkout_needs_a_login_and_empties_the_cart(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="apple")
    browser.post("/cart/add", item="apple")
    browser.post("/cart/add", item="bread")
    anonymous = browser.post("/checkout")
    assert anonymous.status_code == 401, (
        f"L6: checkout without a login: 401, not {anonymous.status_code}"
    )
    assert anonymous.json() == LOG_IN_FIRST, f"L6: {anonymous.text[:80]}"
    assert browser.page()["cart"] == {"apple": 2, "bread": 1}, (
        "L6: the refused checkout kept the cart"
    )
    browser.login("bob")
    page = browser.post("/checkout").json()
    assert page["cart"] == {}, f"L6: the order empties the cart: {page['cart']}"
    assert page["messages"] == ["Order placed: 3.20 EUR"], f"L6: {page['messages']}"


def test_L7_passwords_are_compared_in_constant_time(shop: Shop) -> None:
    shop.needs_internals("L7")
    import flask
    from werkzeug.datastructures import ImmutableMultiDict

    Spy.compared = []
    with shop.app.test_request_context("/login", method="POST"):
        flask.request.form = ImmutableMultiDict({"user": "alice", "password": Spy("wonderland")})
        shop.app.view_functions["login"]()
    assert not Spy.compared, (
        "L7: compare passwords with hmac.compare_digest, never with == or != (on text or bytes)"
    )


# -- O: logout ----------------------------------------------------------------------------
def test_O1_logout_deletes_the_cookie(shop: Shop) -> None:
    browser = Browser(shop)
    browser.login("alice")
    response = browser.post("/logout")
    headers = [h for h in set_cookies(response) if h.startswith(COOKIE + "=")]
    assert headers and all(deletes_cookie(h) for h in headers), (
        f"O1: the logout deletes the cookie (Max-Age=0), and sets no other: {headers or 'none'}"
    )
    assert browser.cookie is None, "O1: the browser holds no session cookie afterwards"
    assert response.json()["user"] is None, "O1: logged out"


def test_O2_the_session_is_gone_from_the_store(shop: Shop) -> None:
    browser = Browser(shop)
    browser.post("/cart/add", item="cheese")
    browser.login("alice")
    old = browser.copy()
    sid = browser.session_id
    browser.post("/logout")
    replay = old.get("/")
    page = replay.json()
    assert page["user"] is None, f"O2: the old cookie must not be logged in any more: {page}"
    assert page["cart"] == {}, f"O2: the old cookie must not find the cart: {page['cart']}"
    again = old.get("/csrf")
    assert sid not in [id_in(h.split(";")[0].partition("=")[2]) for h in set_cookies(again)], (
        "O2: the logged-out id is served again: it is still in the store"
    )
    if shop.store is not None:
        assert shop.store.get(sid or "-") is None, "O2: the session's entry is still in the store"


def test_O3_logging_out_without_a_session_is_fine(shop: Shop) -> None:
    browser = Browser(shop)
    browser.token()
    response = browser.post("/logout")
    assert response.ok, f"O3: logging out with no login: not an error ({response.status_code})"


# -- E: log out everywhere ----------------------------------------------------------------
def log_carol_out_everywhere(shop: Shop) -> None:
    """Start from no session of carol's (an earlier run may have left some)."""
    browser = Browser(shop)
    browser.login("carol")
    browser.post("/logout-everywhere")


def test_E1_logout_everywhere_ends_every_session_of_the_user(shop: Shop) -> None:
    log_carol_out_everywhere(shop)
    laptop, phone, tablet, bob = (Browser(shop) for _ in range(4))
    for browser, user in ((laptop, "carol"), (phone, "carol"), (tablet, "carol"), (bob, "bob")):
        browser.post("/cart/add", item="apple")
        browser.login(user)
    response = phone.post("/logout-everywhere")
    assert response.status_code == 200, f"E1: {response.status_code} {response.text[:80]}"
    assert response.json() == {"ended": 3}, f"E1: carol had 3 sessions: {response.json()}"
    for name, browser in (("laptop", laptop), ("tablet", tablet), ("phone", phone)):
        page = browser.page()
        assert page["user"] is None and page["cart"] == {}, f"E1: carol's {name} still has {page}"
    assert bob.page()["user"] == "bob", "E1: bob stays logged in"


def test_E2_sessions_already_ended_do_not_count(shop: Shop) -> None:
    log_carol_out_everywhere(shop)
    first, second, third = (Browser(shop) for _ in range(3))
    for browser in (first, second, third):
        browser.login("carol")
    first.post("/logout")
    response = second.post("/logout-everywhere")
    assert response.json() == {"ended": 2}, (
        f"E2: one of carol's 3 had logged out: {response.json()}"
    )


def test_E3_it_reads_the_index_not_every_session(shop: Shop) -> None:
    shop.needs_internals("E3")
    browser = Browser(shop)
    browser.login("carol")
    shop.store.scanned = shop.store.client.scanned = False
    browser.post("/logout-everywhere")
    assert not (shop.store.scanned or shop.store.client.scanned), (
        "E3: use the user's index, not store.ids(), store.all() or a SCAN of your own"
    )


def test_E4_logout_everywhere_needs_a_login(shop: Shop) -> None:
    browser = Browser(shop)
    browser.token()
    response = browser.post("/logout-everywhere")
    assert response.status_code == 401, f"E4: without a login: 401, not {response.status_code}"
    assert response.json() == LOG_IN_FIRST, f"E4: {response.text[:80]}"


def test_E5_the_cookie_goes_and_the_user_can_log_in_again(shop: Shop) -> None:
    browser = Browser(shop)
    browser.login("carol")
    response = browser.post("/logout-everywhere")
    headers = [h for h in set_cookies(response) if h.startswith(COOKIE + "=")]
    assert headers and all(deletes_cookie(h) for h in headers), f"E5: delete the cookie: {headers}"
    again = Browser(shop)
    assert again.login("carol").json()["user"] == "carol", "E5: carol can log in again"
    assert again.post("/logout-everywhere").json() == {"ended": 1}, "E5: then one session ends"
