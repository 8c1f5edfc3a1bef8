"""A Flask app for ``test_many_workers.py``, served by gunicorn: sessions on the Redis at
``REDIS_URL`` under ``SESSION_PREFIX``, with ``merge=True``. ``POST /set/<key>`` sets one
key of the session; ``GET /keys`` lists them."""

from __future__ import annotations

import os

import redis
from flask import Flask, jsonify, session

import sessionlib

app = Flask(__name__)
store = sessionlib.RedisStore(
    redis.Redis.from_url(os.environ["REDIS_URL"]), prefix=os.environ["SESSION_PREFIX"]
)
sessionlib.SessionManager(app, secret="many workers", store=store, merge=True)


@app.post("/set/<key>")
def set_key(key: str) -> str:
    session[key] = os.getpid()
    return "ok"


@app.get("/keys")
def keys() -> object:
    return jsonify(sorted(session))
