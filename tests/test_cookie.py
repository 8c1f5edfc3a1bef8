"""The session cookie as a unit: settings, countdown, express-shaped JSON, Set-Cookie text."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from support import attributes
from werkzeug.http import dump_cookie

from sessionlib.cookie import CookieOptions, SessionCookie, path_matches

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def new_cookie(request_is_secure: bool = False, **options) -> SessionCookie:
    return CookieOptions.build(options, "sid").new_cookie(request_is_secure)


def from_json(stored: dict) -> SessionCookie:
    """A cookie whose expiry was read back from express's stored cookie object."""
    cookie = new_cookie()
    cookie.load_expiry(stored, fixed=False)
    return cookie


def clearing_header(name: str, cookie: SessionCookie) -> str:
    return cookie.header(name, "")


# -- defaults and attributes ---------------------------------------------------------------


@pytest.mark.lesson1
def test_default_cookie_is_httponly_lax_root_path_browser_session():
    header = new_cookie().header("connect.sid", "value")
    assert header.startswith("connect.sid=value;")
    attrs = attributes(header)
    assert "httponly" in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    assert "secure" not in attrs
    assert "expires" not in attrs and "max-age" not in attrs  # gone when the browser closes


@pytest.mark.lesson1
def test_http_only_false_leaves_the_flag_out():
    assert "httponly" not in attributes(new_cookie(http_only=False).header("n", "v"))


@pytest.mark.lesson1
@pytest.mark.parametrize(
    ("setting", "expected"),
    [("Strict", "Strict"), ("lax", "Lax"), ("none", "None"), (True, "Strict"), (None, None)],
)
def test_same_site_setting_is_spelled_as_browsers_expect(setting, expected):
    secure = setting == "none"  # SameSite=None needs Secure
    attrs = attributes(new_cookie(secure, same_site=setting, secure=secure).header("n", "v"))
    assert attrs.get("samesite") == expected


@pytest.mark.lesson6
@pytest.mark.parametrize(
    ("https", "secure", "expected"),
    [(False, "auto", "Lax"), (True, "auto", "None"), (True, False, "Lax"), (True, True, "None")],
)
def test_same_site_auto_is_none_only_for_a_secure_cookie(https, secure, expected):
    assert new_cookie(https, same_site="auto", secure=secure).same_site == expected


@pytest.mark.lesson6
@pytest.mark.parametrize(
    ("setting", "https", "expected"),
    [(True, False, True), (False, True, False), ("auto", True, True), ("auto", False, False)],
)
def test_secure_setting_resolves_per_request(setting, https, expected):
    cookie = new_cookie(https, secure=setting)
    assert cookie.secure is expected
    assert ("secure" in attributes(cookie.header("n", "v"))) is expected


@pytest.mark.lesson1
def test_domain_partitioned_and_priority_reach_the_header():
    options = {"domain": "example.test", "partitioned": True, "priority": "high", "secure": True}
    attrs = attributes(new_cookie(True, **options).header("n", "v"))
    assert attrs["domain"] == "example.test"
    assert "partitioned" in attrs
    assert "secure" in attrs  # browsers only accept Partitioned together with Secure
    assert attrs["priority"] == "High"


@pytest.mark.lesson1
def test_custom_path_reaches_the_header():
    assert attributes(new_cookie(path="/admin").header("n", "v"))["path"] == "/admin"


@pytest.mark.lesson1
@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"maxage": 60}, "unknown cookie option"),
        ({"max_age": "60"}, "max_age"),
        ({"max_age": 60, "expires": datetime(2030, 1, 1, tzinfo=timezone.utc)}, "max_age"),
        ({"secure": "yes"}, "secure"),
        ({"http_only": "no"}, "http_only"),
        ({"path": "admin"}, "path"),
        ({"path": "/a;Domain=evil.test"}, "path"),
        ({"domain": "example.test; Secure"}, "domain"),
        ({"domain": "exa mple.test"}, "domain"),
        ({"same_site": "sideways"}, "same_site"),
        ({"same_site": "None"}, "secure"),  # browsers drop SameSite=None without Secure
        ({"same_site": "None", "secure": "auto"}, "secure"),
        ({"partitioned": True}, "secure"),
        ({"priority": "urgent"}, "priority"),
        ({"expires": datetime(2030, 1, 1)}, "expires"),  # naive: which timezone?
    ],
)
def test_invalid_cookie_options_are_refused_naming_the_option(options, error):
    with pytest.raises(ValueError, match=error):
        CookieOptions.build(options, "sid")


@pytest.mark.lesson6
@pytest.mark.parametrize(
    ("name", "options", "ok"),
    [
        ("__Secure-sid", {"secure": True}, True),
        ("__Secure-sid", {}, False),
        ("__Secure-sid", {"secure": "auto"}, False),
        ("__Host-sid", {"secure": True}, True),
        ("__Host-sid", {"secure": True, "path": "/admin"}, False),
        ("__Host-sid", {"secure": True, "domain": "example.test"}, False),
    ],
)
def test_cookie_name_prefixes_bring_their_rules(name, options, ok):
    if ok:
        assert CookieOptions.build(options, name).new_cookie(True).secure
    else:
        with pytest.raises(ValueError, match="secure|path"):
            CookieOptions.build(options, name)


# -- expiry --------------------------------------------------------------------------------


@pytest.mark.lesson5
def test_max_age_sets_expires_and_max_age_attributes():
    before = datetime.now(timezone.utc)
    cookie = new_cookie(max_age=60)
    attrs = attributes(cookie.header("n", "v"))
    assert attrs["max-age"] == "60"
    expires = parsedate_to_datetime(attrs["expires"])
    assert abs((expires - before).total_seconds() - 60) <= 1.5
    assert cookie.original_max_age == 60
    assert cookie.max_age == pytest.approx(60, abs=0.5)


@pytest.mark.lesson5
def test_max_age_accepts_a_timedelta():
    assert new_cookie(max_age=timedelta(minutes=2)).original_max_age == 120


@pytest.mark.lesson5
def test_max_age_counts_down_from_the_stored_expiry_and_touch_restarts_it():
    expires = datetime.now(timezone.utc) + timedelta(seconds=20)
    stored = {
        "originalMaxAge": 60000,
        "expires": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "httpOnly": True,
        "path": "/",
    }
    cookie = from_json(stored)
    assert cookie.max_age == pytest.approx(20, abs=0.5)
    assert cookie.original_max_age == 60
    cookie.reset_max_age()
    assert cookie.max_age == pytest.approx(60, abs=0.5)
    assert cookie.original_max_age == 60


@pytest.mark.lesson5
def test_fixed_expires_is_not_moved_by_a_touch():
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    cookie = new_cookie(expires=moment)
    assert cookie.expires == moment
    cookie.reset_max_age()
    assert cookie.expires == moment
    assert parsedate_to_datetime(attributes(cookie.header("n", "v"))["expires"]) == moment


@pytest.mark.lesson5
def test_past_expiry_has_negative_max_age_and_zero_max_age_attribute():
    cookie = new_cookie()
    cookie.expires = datetime.now(timezone.utc) - timedelta(seconds=5)
    assert cookie.max_age < 0
    assert attributes(cookie.header("n", "v"))["max-age"] == "0"


@pytest.mark.lesson5
def test_browser_session_cookie_never_expires_server_side():
    cookie = new_cookie()
    assert cookie.expires is None and cookie.max_age is None


@pytest.mark.lesson5
def test_setting_max_age_on_a_session_cookie_restarts_its_countdown():
    cookie = new_cookie(max_age=60)
    cookie.max_age = 5
    assert cookie.original_max_age == 5
    assert cookie.max_age == pytest.approx(5, abs=0.5)
    cookie.max_age = None
    assert cookie.expires is None and cookie.original_max_age is None


# -- express-session's JSON shape ----------------------------------------------------------


@pytest.mark.lesson7
def test_json_has_express_session_shape_and_units():
    data = new_cookie(max_age=60).to_json()
    assert list(data) == ["originalMaxAge", "expires", "httpOnly", "path", "sameSite"]
    assert data["originalMaxAge"] == 60000  # milliseconds, as express stores it
    assert ISO_MS_Z.match(data["expires"])
    assert data["httpOnly"] is True
    assert data["path"] == "/"
    assert data["sameSite"] == "lax"


@pytest.mark.lesson7
def test_json_of_a_browser_session_cookie_has_null_expiry():
    data = new_cookie().to_json()
    assert data["originalMaxAge"] is None
    assert data["expires"] is None


@pytest.mark.lesson7
def test_json_key_order_follows_express_cookie_data():
    options = {"secure": True, "domain": "d.test", "partitioned": True, "priority": "low"}
    data = new_cookie(True, max_age=1, **options).to_json()
    assert list(data) == [
        "originalMaxAge",
        "partitioned",
        "priority",
        "expires",
        "secure",
        "httpOnly",
        "domain",
        "path",
        "sameSite",
    ]
    assert data["priority"] == "low"


@pytest.mark.lesson7
def test_an_express_cookie_gives_its_expiry_and_nothing_else():
    # What connect-redis stores for an express-session cookie (maxAge 1 day): only the
    # expiry belongs to the session; the attributes come from today's settings.
    stored = {
        "originalMaxAge": 86400000,
        "expires": "2099-01-01T00:00:00.000Z",
        "secure": False,
        "httpOnly": False,
        "domain": "shop.test",
        "path": "/app",
        "sameSite": "none",
    }
    cookie = from_json(stored)
    assert cookie.original_max_age == 86400
    assert cookie.expires == datetime(2099, 1, 1, tzinfo=timezone.utc)
    assert cookie.http_only is True and cookie.same_site == "Lax" and cookie.domain is None
    assert (cookie.path, cookie.secure) == ("/", False)


@pytest.mark.lesson7
@pytest.mark.parametrize(
    "stored",
    [
        {"originalMaxAge": 1e20, "expires": None},
        {"originalMaxAge": 1000, "expires": "10000-01-01T00:00:00Z"},
        {"originalMaxAge": 1000, "expires": "yesterday"},
        "not an object",
    ],
)
def test_a_stored_expiry_no_cookie_can_hold_is_refused(stored):
    with pytest.raises(ValueError):
        new_cookie().load_expiry(stored, fixed=False)


@pytest.mark.lesson7
def test_json_round_trip_keeps_the_expiry_to_the_millisecond():
    cookie = new_cookie(max_age=30)
    again = from_json(cookie.to_json())
    assert again.expires == cookie.expires
    assert again.original_max_age == cookie.original_max_age


# -- clearing and path matching ------------------------------------------------------------


@pytest.mark.lesson6
def test_clearing_header_expires_the_cookie_at_once_on_the_same_path_and_domain():
    cookie = new_cookie(path="/admin", domain="example.test")
    attrs = attributes(clearing_header("sid", cookie))
    assert clearing_header("sid", cookie).startswith("sid=;")
    assert attrs["max-age"] == "0"
    assert parsedate_to_datetime(attrs["expires"]).timestamp() <= time.time()
    assert attrs["path"] == "/admin"
    assert attrs["domain"] == "example.test"


@pytest.mark.lesson1
@pytest.mark.parametrize(
    ("cookie_path", "request_path", "matches"),
    [
        ("/", "/", True),
        ("/", "/anything/at/all", True),
        ("/admin", "/admin", True),
        ("/admin", "/admin/", True),
        ("/admin", "/admin/users", True),
        ("/admin", "/administrator", False),
        ("/admin", "/adm", False),
        ("/admin", "/", False),
        ("/admin/", "/admin/users", True),
        ("/admin/", "/admin", False),
    ],
)
def test_cookie_path_matches_per_rfc_6265(cookie_path, request_path, matches):
    assert path_matches(cookie_path, request_path) is matches


# -- the clearing header ------------------------------------------------------------------


@pytest.mark.lesson1
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"path": "/admin", "domain": "example.test"},
        {"secure": True, "same_site": "None", "partitioned": True},
    ],
)
def test_clearing_header_is_what_dump_cookie_writes(options):
    cookie = new_cookie(True, **options)
    expected = dump_cookie(
        "sid",
        "",
        max_age=0,
        expires=datetime(1970, 1, 1, tzinfo=timezone.utc),
        path=cookie.path,
        domain=cookie.domain,
        secure=cookie.secure,
        httponly=cookie.http_only,
        samesite=cookie.same_site,
        partitioned=cookie.partitioned,
    )
    assert clearing_header("sid", cookie) == expected
