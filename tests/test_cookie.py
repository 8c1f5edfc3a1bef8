"""The session cookie as a unit: settings, countdown, express-shaped JSON, Set-Cookie text."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import attributes
from werkzeug.http import dump_cookie

import sessionlib
from sessionlib.cookie import clearing_header, iso_utc, path_matches

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def new_cookie(request_is_secure: bool = False, **options) -> sessionlib.SessionCookie:
    return sessionlib.CookieOptions.from_mapping(options).new_cookie(request_is_secure)


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
    attrs = attributes(new_cookie(same_site=setting).header("n", "v"))
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
    attrs = attributes(
        new_cookie(domain="example.test", partitioned=True, priority="high").header("n", "v")
    )
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
        ({"maxage": 60}, TypeError),
        ({"max_age": "60"}, TypeError),
        ({"secure": "yes"}, ValueError),
        ({"path": "admin"}, ValueError),
        ({"same_site": "sideways"}, ValueError),
        ({"priority": "urgent"}, ValueError),
        ({"expires": datetime(2030, 1, 1)}, ValueError),  # naive: which timezone?
    ],
)
def test_invalid_cookie_options_are_refused_up_front(options, error):
    with pytest.raises(error):
        sessionlib.CookieOptions.from_mapping(options)


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
    cookie = sessionlib.SessionCookie.from_json(stored)
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
def test_past_expiry_is_expired_with_negative_max_age_and_zero_max_age_attribute():
    cookie = new_cookie()
    cookie.expires = datetime.now(timezone.utc) - timedelta(seconds=5)
    assert cookie.expired
    assert cookie.max_age < 0
    assert attributes(cookie.header("n", "v"))["max-age"] == "0"


@pytest.mark.lesson5
def test_browser_session_cookie_never_expires_server_side():
    cookie = new_cookie()
    assert cookie.expires is None and cookie.max_age is None and not cookie.expired


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
    data = new_cookie(
        True, max_age=1, secure=True, domain="d.test", partitioned=True, priority="low"
    ).to_json()
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
def test_cookie_written_by_express_session_is_read_back():
    # What connect-redis stores for express-session's default cookie (maxAge 1 day).
    stored = {
        "originalMaxAge": 86400000,
        "expires": "2099-01-01T00:00:00.000Z",
        "secure": True,
        "httpOnly": False,
        "domain": "shop.test",
        "path": "/app",
        "sameSite": "strict",
    }
    cookie = sessionlib.SessionCookie.from_json(stored)
    assert cookie.original_max_age == 86400
    assert cookie.expires == datetime(2099, 1, 1, tzinfo=timezone.utc)
    assert cookie.secure is True and cookie.http_only is False
    assert (cookie.domain, cookie.path, cookie.same_site) == ("shop.test", "/app", "Strict")
    assert cookie.to_json() == stored


@pytest.mark.lesson7
def test_json_round_trip_keeps_the_expiry_to_the_millisecond():
    cookie = new_cookie(max_age=30)
    again = sessionlib.SessionCookie.from_json(cookie.to_json())
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


# -- the header is werkzeug's dump_cookie text, byte for byte --------------------------------


@pytest.mark.lesson1
@given(
    name=st.sampled_from(["connect.sid", "sid", "ключ", "a b"]),
    value=st.one_of(
        st.from_regex(r"s%3A[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9%]{43,60}", fullmatch=True),
        st.text(max_size=30),  # values dump_cookie must quote take its own path
    ),
    max_age=st.one_of(st.none(), st.floats(min_value=-10, max_value=1e9)),
    path=st.sampled_from(["/", "/admin", "/a b;c"]),
    domain=st.sampled_from([None, "example.test", ".example.test"]),
    secure=st.booleans(),
    http_only=st.booleans(),
    same_site=st.sampled_from([None, "Lax", "Strict", "None"]),
    partitioned=st.booleans(),
    priority=st.sampled_from([None, "Low", "High"]),
)
@settings(max_examples=400, deadline=None)
def test_header_is_what_dump_cookie_writes(
    name, value, max_age, path, domain, secure, http_only, same_site, partitioned, priority
):
    cookie = sessionlib.SessionCookie(
        http_only=http_only,
        secure=secure,
        same_site=same_site,
        domain=domain,
        path=path,
        partitioned=partitioned,
        priority=priority,
    )
    cookie.max_age = max_age
    expected = dump_cookie(
        name,
        value,
        max_age=None if max_age is None else max(0, round(cookie.max_age)),
        expires=cookie.expires_at,
        path=path,
        domain=domain,
        secure=secure,
        httponly=http_only,
        samesite=same_site,
        partitioned=partitioned,
    )
    if priority is not None:
        expected += f"; Priority={priority}"
    header = cookie.header(name, value)
    # max_age counts down between the two calls: compare once the second is the same
    if "Max-Age" in header:
        expected = re.sub(r"Max-Age=\d+", "Max-Age=N", expected)
        header = re.sub(r"Max-Age=\d+", "Max-Age=N", header)
    assert header == expected


@pytest.mark.lesson1
@given(
    st.one_of(
        st.floats(min_value=0, max_value=253402300799),
        st.integers(min_value=0, max_value=253402300799 * 1000).map(lambda ms: ms / 1000),
    )
)
@settings(max_examples=2000, deadline=None)
def test_iso_utc_is_what_datetime_writes(timestamp):
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    expected = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert iso_utc(timestamp) == expected


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
    cookie = new_cookie(**options)
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
