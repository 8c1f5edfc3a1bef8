// The Express side of the HTTP benchmark: the same routes as flask_apps.py, one variant per
// server, chosen by BENCH_VARIANT:
//   bare             GET /count answers "ok", no session
//   redis2           GET /count sends two node-redis commands (GET, then SET ... EX), no session
//   express_session  express-session + connect-redis; GET /count increments req.session.n
// GET /peek answers the counter without changing it. Redis at BENCH_REDIS_URL, keys under
// bench-http:<BENCH_RUN_ID>:es:. BENCH_WORKERS > 1 forks that many processes with node:cluster
// (the primary only hands out connections). Prints {"port": N} once it listens.
// Run from a folder where interop/express/package.json's packages are installed (npm ci).

import cluster from "node:cluster";
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

const env = process.env;
const variant = env.BENCH_VARIANT || "bare";
const workers = Number(env.BENCH_WORKERS || 1);
const port = Number(env.PORT || 0);
const runId = env.BENCH_RUN_ID || "0";
const maxAge = 86400 * 1000;

if (workers > 1 && cluster.isPrimary) {
  // Listen once here so the port is known; workers share it through the primary.
  let ready = 0;
  cluster.setupPrimary({ silent: false });
  const chosen = port || (await freePort());
  for (let i = 0; i < workers; i += 1) {
    const worker = cluster.fork({ ...env, PORT: String(chosen), BENCH_WORKERS: "1", BENCH_CHILD: "1" });
    worker.on("message", () => {
      ready += 1;
      if (ready === workers) console.log(JSON.stringify({ port: chosen }));
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  await serve();
}

async function freePort() {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
}

async function serve() {
  const app = express();
  app.set("etag", false);
  let client = null;
  if (variant !== "bare") {
    client = createClient({ url: env.BENCH_REDIS_URL });
    client.on("error", (error) => console.error("redis:", error.message));
    await client.connect();
  }
  if (variant === "express_session") {
    app.use(
      session({
        store: new RedisStore({ client, prefix: `bench-http:${runId}:es:` }),
        secret: "bench secret",
        name: "sid",
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge, httpOnly: true, sameSite: "lax", path: "/" },
      }),
    );
    app.get("/count", (req, res) => {
      req.session.n = (req.session.n || 0) + 1;
      res.type("text/plain").send(String(req.session.n));
    });
    app.get("/peek", (req, res) => res.type("text/plain").send(String(req.session.n || 0)));
  } else {
    const key = `bench-http:${runId}:redis2-node`;
    app.get("/count", async (req, res, next) => {
      try {
        if (client) {
          await client.get(key);
          await client.set(key, "1", { EX: 86400 });
        }
        res.type("text/plain").send("ok");
      } catch (error) {
        next(error);
      }
    });
    app.get("/peek", (req, res) => res.type("text/plain").send("ok"));
  }
  const server = app.listen(port, "127.0.0.1", () => {
    if (env.BENCH_CHILD === "1") process.send("ready");
    else console.log(JSON.stringify({ port: server.address().port }));
  });
  const stop = async () => {
    server.close();
    server.closeAllConnections?.();
    if (client) await client.close().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
