// An Express app on express-session + connect-redis that shares its sessions with the
// Flask app in ../flask_app.py (sessionlib): same secret, cookie name, Redis and prefix.
//
// Configured by environment variables, so a test or a notebook can start it as a child
// process:
//   REDIS_URL             redis://127.0.0.1:6379/0 (the database number selects the db)
//   SESSION_SECRET        "keyboard cat", or a JSON list: the first signs, all verify
//   SESSION_NAME          cookie name, "sid"
//   SESSION_PREFIX        Redis key prefix, "sess:"
//   SESSION_MAX_AGE_MS    cookie maxAge in milliseconds; empty = a browser-session cookie
//   SESSION_ROLLING       "1" to re-send the cookie (and refresh the TTL) on every response
//   PORT                  0 (the default) lets the OS pick a free port
//   EXIT_WITH_STDIN       "1": exit when stdin closes, so a parent that dies (a test run, a
//                         restarted notebook kernel) never leaves this server behind
// Once it listens it prints one JSON line to stdout: {"port": <port>}.
//
// Routes (the Flask app has the same ones):
//   GET  /whoami   -> {"side": "express", "id": <session id>, "data": {...}}
//   POST /login    {"user": "ada"}: regenerate the session, then store the user
//   POST /set      {"key": value, ...}: merge the keys into the session
//   POST /logout   destroy the session in the store (express-session leaves the cookie)

import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

const env = process.env;

function secretOption(text) {
  return text.trim().startsWith("[") ? JSON.parse(text) : text;
}

const config = {
  redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379/0",
  secret: secretOption(env.SESSION_SECRET || "keyboard cat"),
  name: env.SESSION_NAME || "sid",
  prefix: env.SESSION_PREFIX ?? "sess:",
  maxAge: env.SESSION_MAX_AGE_MS ? Number(env.SESSION_MAX_AGE_MS) : null,
  rolling: env.SESSION_ROLLING === "1",
  port: Number(env.PORT || 0),
};

const client = createClient({ url: config.redisUrl });
client.on("error", (error) => console.error("redis:", error.message));
await client.connect();

const app = express();
app.use(express.json());
app.use(
  session({
    store: new RedisStore({ client, prefix: config.prefix }),
    secret: config.secret,
    name: config.name,
    resave: false,
    saveUninitialized: false,
    rolling: config.rolling,
    cookie: { maxAge: config.maxAge, httpOnly: true, sameSite: "lax", path: "/" },
  }),
);

// The session's data without its cookie object: what a handler put there.
function report(req) {
  const data = {};
  for (const [key, value] of Object.entries(req.session ?? {})) {
    if (key !== "cookie") data[key] = value;
  }
  return { side: "express", id: req.sessionID ?? null, data };
}

app.get("/whoami", (req, res) => res.json(report(req)));

app.post("/login", (req, res, next) => {
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.user = req.body.user;
    res.json(report(req));
  });
});

app.post("/set", (req, res) => {
  for (const [key, value] of Object.entries(req.body ?? {})) {
    if (key !== "cookie") req.session[key] = value;
  }
  res.json(report(req));
});

app.post("/logout", (req, res, next) => {
  req.session.destroy((error) => {
    if (error) return next(error);
    res.json({ side: "express", id: null, data: {} });
  });
});

const server = app.listen(config.port, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});

async function shutdown() {
  server.close();
  server.closeAllConnections?.();
  await client.close().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
if (env.EXIT_WITH_STDIN === "1") {
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.resume();
}
