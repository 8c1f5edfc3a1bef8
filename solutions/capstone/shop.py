"""The capstone's shop (``notebooks/capstone/SPEC.md``), as lesson 8's solution notebook
builds it: the spine (its data, routes and error pages), then each exercise's views.

The notebook holds the same code, cell by cell (``tests/test_lesson08_exercises.py``
compares them), and the test suite runs the specification against this module::

    SHOP_APP=solutions/capstone/shop.py python -m pytest notebooks/capstone/test_shop.py -p no:xdist
"""

from __future__ import annotations

import hmac
import secrets
import traceback
from functools import partial

from flask import Flask, current_app, flash, get_flashed_messages, redirect, request, session

# -- the spine ----------------------------------------------------------------------------
USERS = {"alice": "wonderland", "bob": "builder", "carol": "chocolate"}  # a real shop: hashes
PRICES = {"apple": 0.50, "bread": 2.20, "cheese": 4.00}
IDLE, LIFETIME = 30 * 60, 8 * 3600  # seconds: 30 minutes idle, 8 hours at most


def index_key(store, user):
    """The Redis set that lists ``user``'s session ids (rule L5)."""
    return "users:" + store.prefix + user


ROUTES = [  # SPEC.md's routes: (method, path, the view that answers it)
    ("GET", "/", "home"),
    ("GET", "/csrf", "csrf"),
    ("POST", "/cart/add", "add_to_cart"),
    ("POST", "/cart/remove", "remove_from_cart"),
    ("POST", "/login", "login"),
    ("POST", "/checkout", "checkout"),
    ("POST", "/logout", "logout"),
    ("POST", "/logout-everywhere", "logout_everywhere"),
]


def create_app(lib, store):
    """The shop of SPEC.md on ``lib`` (a sessionlib) and ``store``."""
    app = Flask("shop")
    lib.SessionManager(app, **shop_settings(store))
    for method, path, view in ROUTES:
        app.add_url_rule(path, view, partial(run_view, view), methods=[method])

    @app.before_request
    def guard():  # every POST must carry the session's CSRF token
        return run_view("check_csrf") if request.method == "POST" else None

    @app.errorhandler(lib.StoreUnavailable)
    def store_unavailable(error):
        return {"error": "sessions are unavailable, please try again soon"}, 503

    @app.errorhandler(NotImplementedError)
    def not_written_yet(error):  # a view that is still a stub says so
        where = error.args[0] if error.args else traceback.extract_tb(error.__traceback__)[-1].name
        return {"error": f"not written yet: {where}"}, 501

    return app


def run_view(name):
    """Call the function ``name`` as it is defined now: a view you re-run is live at once."""
    view = globals().get(name)
    if view is None:
        raise NotImplementedError(name)
    return view()


def csrf():
    """GET /csrf: the session's CSRF token."""
    return {"csrf": csrf_token()}


# -- Exercise 8.1: the settings and the token ----------------------------------------------
def shop_settings(store):
    """The SessionManager options of SPEC.md's rules S1 to S6."""
    return dict(
        secret=["shop secret 2", "shop secret 1"],  # the first signs, both verify (S5)
        name="shop.sid",
        store=store,
        rolling=True,  # every response renews the cookie: an idle timeout (S4)
        absolute_timeout=LIFETIME,  # however active, 8 hours at most (S6)
        proxy=True,  # one TLS proxy in front: believe its X-Forwarded-Proto (S3)
        cookie={"max_age": IDLE, "secure": "auto", "same_site": "Lax", "http_only": True},
    )


def csrf_token():
    """The session's CSRF token, made on first use (rules T1 to T3)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


# -- Exercise 8.2: the CSRF guard ----------------------------------------------------------
def check_csrf():
    """Before every POST: None when it carries its session's token, else a 403 (X1 to X4)."""
    expected = session.get("csrf", "")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        return {"error": "CSRF token missing or wrong"}, 403
    return None


# -- Exercise 8.3: the cart ----------------------------------------------------------------
def home():
    """GET /: the page."""
    cart = session.get("cart", {})
    total = sum(PRICES[item] * count for item, count in cart.items())
    return {
        "user": session.get("user"),
        "cart": cart,
        "total": round(total, 2),
        "messages": get_flashed_messages(),
    }


def add_to_cart():
    """POST /cart/add: one more item."""
    item = request.form.get("item", "")
    if item not in PRICES:
        return {"error": f"no such item: {item}"}, 404
    cart = session.setdefault("cart", {})
    cart[item] = cart.get(item, 0) + 1  # a change inside the session: sessionlib sees it
    flash(f"Added {item}")
    return redirect("/")


def remove_from_cart():
    """POST /cart/remove: one item fewer."""
    item = request.form.get("item", "")
    cart = session.get("cart", {})
    if item not in cart:
        flash(f"{item} is not in your cart")
        return redirect("/")
    cart[item] -= 1
    if cart[item] == 0:
        del cart[item]
    flash(f"Removed {item}")
    return redirect("/")


# -- Exercise 8.4: login and checkout ------------------------------------------------------
def login():
    """POST /login: check the password, then a new id that keeps the cart."""
    user, password = request.form.get("user", ""), request.form.get("password", "")
    known = USERS.get(user)
    if known is None or not hmac.compare_digest(known.encode(), password.encode()):
        return {"error": "wrong user name or password"}, 401
    session.rotate()  # a new id, the same data: fixation fails (L2, L3)
    session.pop("csrf", None)  # and a new CSRF token on the next ask (L4)
    session["user"] = user
    store = current_app.extensions["sessionlib"].store
    key = index_key(store, user)
    store.client.sadd(key, session.id)  # the new id, for "log out everywhere" (L5)
    store.client.expire(key, LIFETIME)
    flash(f"Welcome, {user}")
    return redirect("/")


def checkout():
    """POST /checkout: logged-in users only; place the order, empty the cart."""
    if "user" not in session:
        return {"error": "log in first"}, 401
    cart = session.pop("cart", {})
    total = sum(PRICES[item] * count for item, count in cart.items())
    flash(f"Order placed: {total:.2f} EUR")
    return redirect("/")


# -- Exercise 8.5: logout ------------------------------------------------------------------
def logout():
    """POST /logout: end the session, in the store and in the browser."""
    session.destroy()  # the entry is deleted, the cookie expired (O1, O2)
    return redirect("/")


# -- Exercise 8.6: log out everywhere ------------------------------------------------------
def logout_everywhere():
    """POST /logout-everywhere: end every session of this user, this one included."""
    user = session.get("user")
    if user is None:
        return {"error": "log in first"}, 401
    store = current_app.extensions["sessionlib"].store
    key = index_key(store, user)
    ended = 0
    for member in store.client.smembers(key):
        sid = member.decode() if isinstance(member, bytes) else member
        if store.get(sid) is not None:  # count only sessions that still exist (E2)
            store.destroy(sid)
            ended += 1
    store.client.delete(key)
    session.destroy()  # already gone from the store; this expires the cookie (E5)
    return {"ended": ended}
