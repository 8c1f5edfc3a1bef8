"""HTTP benchmark: sessionlib and its alternatives behind real HTTP servers, on loopback.

Stacks: gunicorn with 2 and with 4 sync workers (and with 2 whose Redis clients hold one
connection each, ``single_connection_client=True``), waitress with 4 threads (as it comes, and
with ``send_bytes=18000``: see bench/README.md), each serving ``flask_apps.py``; Express
in one process (``express_app.js``, express-session + connect-redis pinned as in
``interop/express``; ``BENCH_EXPRESS_CLUSTER=1`` adds two processes with node:cluster).
Routes: a bare route, the bare route plus two Redis commands, Flask's cookie session,
Flask-Session on Redis, sessionlib on Redis; Express: bare, bare + two Redis commands,
express-session on Redis.

Load: ``wrk`` (Debian package ``wrk``) with ``count.lua``, or, without wrk, ``loadgen.py``
(the same method in Python). One connection per wrk thread, each a client with its own
cookie sending ``GET /count`` back to back. Every answer is checked (status 200; the
session's counter one more than that client's last), and afterwards each client's counter
is read back with ``GET /peek``: it must equal the requests that client sent (the answered
ones, plus the one wrk may have had in flight when it stopped). With ``--route reader`` each
client makes its session once (``GET /count``) and then only reads it (``GET /peek``): every
answer, and the counter read back, must be 1 (the two-command route is left out: its Redis
work is a write's). One redis-server, started
here on a free loopback port with ``--save '' --appendonly no`` and stopped by its PID at
the end, serves every variant (each server under fresh keys). Every variant runs once per
round, rounds after one another; printed: requests/s and p99 latency (medians over the
rounds, each round's figure beside them), each variant's throughput divided by its own
stack's bare route (the median of the rounds' quotients), and the server's CPU time per
answered request (every process and thread of the server, from /proc: it moves far less
than throughput when the machine's speed drifts), all from this one run.

    python bench/http/run.py                       # everything: 3 rounds, ~9-10 minutes
    python bench/http/run.py --only waitress       # variants whose "stack/route" contains it
    python bench/http/run.py --rounds 1 --duration 3 --connections 8
    python bench/http/run.py --redis-options '{"socket_keepalive": false}'
    python bench/http/run.py --route reader        # the session routes read, never change
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import loadgen  # noqa: E402

ROUTES = {
    "bare": "bare route (no session)",
    "redis2": "bare route + 2 Redis commands (GET, SET), no session",
    "cookie": "Flask built-in cookie session",
    "flask_session": "Flask-Session 0.8, Redis",
    "sessionlib": "sessionlib, RedisStore",
    "express_session": "express-session + connect-redis",
}
COUNTERS = {"cookie", "flask_session", "sessionlib", "express_session"}


@dataclass
class Stack:
    name: str
    kind: str  # "flask" or "express"
    routes: list[str]
    options: dict[str, Any] = field(default_factory=dict)

    def command(self, port: int) -> list[str]:
        if self.kind == "express":
            return ["node", "express_app.js"]
        if self.options.get("server") == "gunicorn":
            return [
                sys.executable, "-m", "gunicorn", "-k", "sync",
                "-w", str(self.options["workers"]),
                "-b", f"127.0.0.1:{port}", "--chdir", str(HERE),
                "--log-level", "warning", "flask_apps:app",
            ]  # fmt: skip
        return [
            sys.executable, "-m", "waitress", f"--threads={self.options['threads']}",
            f"--listen=127.0.0.1:{port}", *self.options.get("extra", []), "flask_apps:app",
        ]  # fmt: skip


FLASK_ROUTES = ["bare", "redis2", "cookie", "flask_session", "sessionlib"]
EXPRESS_ROUTES = ["bare", "redis2", "express_session"]
STACKS = [
    Stack("gunicorn, 2 sync workers", "flask", FLASK_ROUTES, {"server": "gunicorn", "workers": 2}),
    Stack("gunicorn, 4 sync workers", "flask", FLASK_ROUTES, {"server": "gunicorn", "workers": 4}),
    Stack(  # redis-py's cheapest client: no pool on the way of each command (bench/README)
        "gunicorn, 2 sync workers, one Redis connection each",
        "flask",
        FLASK_ROUTES,
        {"server": "gunicorn", "workers": 2, "redis": {"single_connection_client": True}},
    ),
    Stack("waitress, 4 threads", "flask", FLASK_ROUTES, {"server": "waitress", "threads": 4}),
    Stack(
        "waitress, 4 threads, send_bytes=18000",
        "flask",
        FLASK_ROUTES,
        {"server": "waitress", "threads": 4, "extra": ["--send-bytes=18000"]},
    ),
    Stack("Express, 1 process", "express", EXPRESS_ROUTES, {"workers": 1}),
]
if os.environ.get("BENCH_EXPRESS_CLUSTER"):  # optional: Express on every core
    STACKS.append(
        Stack("Express, 2 processes (node:cluster)", "express", EXPRESS_ROUTES, {"workers": 2})
    )


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a process this script started, by its PID (then the process group it leads:
    gunicorn's and node:cluster's workers)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of this group only, if any
    except (ProcessLookupError, PermissionError):
        pass


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return process, port
        except OSError:
            time.sleep(0.05)
    stop(process)
    sys.exit("redis-server did not start")


def install_express(directory: Path) -> Path | None:
    """interop/express's package.json and lock in a temp folder, ``npm ci`` there."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("node/npm not found: the Express stacks are skipped", file=sys.stderr)
        return None
    target = directory / "express"
    target.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "interop" / "express" / name, target / name)
    shutil.copy(HERE / "express_app.js", target / "express_app.js")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    return target


def get(port: int, path: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if cookie:
        request.add_header("Cookie", cookie)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def start_server(
    stack: Stack, route: str, env: dict[str, str], express_dir: Path | None, log: Path
) -> tuple[subprocess.Popen[Any], int]:
    env = {**env, "BENCH_VARIANT": route}
    if "redis" in stack.options:  # this stack's redis.Redis(...) extras, over --redis-options
        given = json.loads(env.get("BENCH_REDIS_OPTIONS") or "{}")
        env["BENCH_REDIS_OPTIONS"] = json.dumps({**given, **stack.options["redis"]})
    if stack.kind == "express":
        assert express_dir is not None
        env["BENCH_WORKERS"] = str(stack.options["workers"])
        process = subprocess.Popen(
            stack.command(0),
            cwd=express_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            start_new_session=True,
            text=True,
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        if not ready:
            stop(process)
            raise RuntimeError(f"{stack.name}/{route} did not start: see {log}")
        port = json.loads(process.stdout.readline())["port"]
    else:
        port = free_port()
        process = subprocess.Popen(
            stack.command(port),
            cwd=HERE,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if get(port, "/peek")[0] == 200:
                return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{stack.name}/{route} did not start:\n{tail}")
        time.sleep(0.1)


# -- load ----------------------------------------------------------------------------------


def load(port: int, seconds: float, connections: int, mode: str, tool: str) -> dict[str, Any]:
    if tool == "wrk":
        command = [
            "wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds:g}s",
            "--timeout", "10s", "-s", str(HERE / "count.lua"),
            f"http://127.0.0.1:{port}/count", "--", mode,
        ]  # fmt: skip
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
        line = next(line for line in output.splitlines() if line.startswith("BENCH-JSON "))
        return json.loads(line.removeprefix("BENCH-JSON "))
    return loadgen.run("127.0.0.1", port, seconds, connections, mode)


def check(result: dict[str, Any], port: int, mode: str) -> tuple[bool, str]:
    """Every answer a 200 with the right body (each client's counter one more than its
    last; a reader's always 1), and each client's counter, read back from the server, at
    the requests that client sent: the ones answered, plus the one wrk may have had in
    flight at the stop (a reader's: still 1)."""
    problems = []
    errors = {name: count for name, count in result["errors"].items() if count}
    if errors:
        problems.append(f"load errors {errors}")
    in_flight = 0
    for thread in result["threads"]:
        if thread["bad"]:
            problems.append(f"{thread['bad']} bad answers, first: {thread['first_bad']}")
        if mode == "plain":
            continue
        expected = 1 if mode == "reader" else thread["got"]
        if thread["last"] != expected:
            problems.append(f"last counter {thread['last']} after {thread['got']} answers")
        status, body = get(port, "/peek", thread["cookie"])
        stored = int(body) if status == 200 and body.isdigit() else -1
        if mode == "counter" and stored == thread["got"] + 1:
            in_flight += 1  # sent before the stop, counted, its answer not awaited
        elif stored != expected:
            problems.append(f"server counter {stored} after {thread['got']} answers")
    answered = sum(thread["got"] for thread in result["threads"])
    if problems:
        return False, "; ".join(problems[:3])
    note = f"{answered} answers ok"
    if mode == "counter":
        note += f", server counters = requests sent ({in_flight} in flight at the stop)"
    elif mode == "reader":
        note += ", every session still holds 1"
    return True, note


# -- report --------------------------------------------------------------------------------


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def versions(express_dir: Path | None) -> str:
    parts = [
        f"Python {platform.python_version()}",
        f"Flask {version('flask')}",
        f"Werkzeug {version('werkzeug')}",
        f"gunicorn {version('gunicorn')}",
        f"waitress {version('waitress')}",
        f"Flask-Session {version('flask-session')}",
        f"redis-py {version('redis')}",
        f"sessionlib {version('sessionlib')}",
    ]
    server = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    parts.append("Redis " + server.stdout.split("v=")[1].split()[0])
    if express_dir is not None:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
        parts.append(f"Node {node.strip()}")
        for package in ("express", "express-session", "connect-redis", "redis"):
            manifest = express_dir / "node_modules" / package / "package.json"
            parts.append(f"{package} {json.loads(manifest.read_text())['version']}")
    if shutil.which("wrk"):
        parts.append(
            subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()[1]
        )
    return ", ".join(parts)


def stat_fields(path: str) -> list[str]:
    """The fields of a ``/proc/.../stat`` file after the command name; [] once it is gone."""
    try:
        return Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(fields: list[str]) -> float:
    """User + system CPU seconds in ``stat_fields``' answer (NaN when there is none)."""
    if not fields:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main_thread_cpu(pid: int) -> float:
    """CPU seconds used so far by the process's first thread (waitress's I/O loop)."""
    return cpu_seconds(stat_fields(f"/proc/{pid}/task/{pid}/stat"))


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children, every thread counted: the
    whole server (gunicorn's master and workers, node:cluster's processes)."""
    stats = {int(p.name): stat_fields(f"{p}/stat") for p in Path("/proc").glob("[0-9]*")}
    parents = {child: int(fields[1]) for child, fields in stats.items() if fields}
    tree, grown = {pid}, True
    while grown:  # children, grandchildren, ...
        children = {child for child, parent in parents.items() if parent in tree}
        grown, tree = not children <= tree, tree | children
    return sum(cpu_seconds(stats[member]) for member in tree if stats.get(member))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4, help="measured seconds per variant")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds first")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every variant")
    parser.add_argument("--connections", type=int, default=8, help="clients (wrk threads)")
    parser.add_argument("--only", action="append", help="variants whose stack/route contains this")
    parser.add_argument(
        "--route",
        choices=["counter", "reader"],
        default="counter",
        help="counter: each request changes the session; reader: each reads it, unchanged",
    )
    parser.add_argument("--redis-options", default="", help="JSON: redis.Redis(...) extras")
    parser.add_argument("--waitress-args", default="", help="extra waitress-serve arguments")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--load", choices=["wrk", "python"], help="load generator (default: wrk when installed)"
    )
    args = parser.parse_args()
    tool = args.load or ("wrk" if shutil.which("wrk") else "python")

    for stack in STACKS:
        if stack.options.get("server") == "waitress" and args.waitress_args:
            stack.options["extra"] = [*stack.options.get("extra", []), *args.waitress_args.split()]
    chosen = [
        (stack, route)
        for stack in STACKS
        for route in stack.routes
        if not args.only or any(part in f"{stack.name}/{route}" for part in args.only)
        if not (args.route == "reader" and route == "redis2")  # a write's Redis work
    ]
    directory = Path(tempfile.mkdtemp(prefix="sessionlib-http-bench-"))
    redis_process, redis_port = start_redis(directory)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        need_node = any(stack.kind == "express" for stack, _ in chosen)
        express_dir = install_express(directory) if need_node else None
        if express_dir is None:
            chosen = [(stack, route) for stack, route in chosen if stack.kind != "express"]
        env = {
            **os.environ,
            "BENCH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "BENCH_REDIS_OPTIONS": args.redis_options,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        print(versions(express_dir))
        print(
            f"{os.cpu_count()} CPUs; {args.connections} connections; {args.rounds} rounds of "
            f"{args.warmup:g} s warm-up + {args.duration:g} s per variant; "
            f"load: {'wrk' if tool == 'wrk' else 'loadgen.py'}; session routes: "
            f"{'GET /peek, a read' if args.route == 'reader' else 'GET /count, a change'}\n",
            flush=True,
        )
        for round_number in range(1, args.rounds + 1):
            for stack, route in chosen:
                env["BENCH_RUN_ID"] = uuid.uuid4().hex[:8]  # fresh keys for every server
                mode = "plain" if route not in COUNTERS else args.route
                log = directory / "server.log"
                process, port = start_server(stack, route, env, express_dir, log)
                try:
                    if args.warmup:
                        load(port, args.warmup, args.connections, mode, tool)
                    loop_before, server_before = (
                        main_thread_cpu(process.pid),
                        process_tree_cpu(process.pid),
                    )
                    result = load(port, args.duration, args.connections, mode, tool)
                    loop_cpu = (main_thread_cpu(process.pid) - loop_before) / args.duration
                    server_cpu = process_tree_cpu(process.pid) - server_before
                    ok, note = check(result, port, mode)
                finally:
                    stop(process)
                answers = sum(thread["got"] for thread in result["threads"])
                run = {
                    "rps": result["requests"] / (result["duration_us"] / 1e6),
                    "p50_ms": result["latency_us"]["p50"] / 1000,
                    "p99_ms": result["latency_us"]["p99"] / 1000,
                    "answers": answers,
                    "loop_cpu": loop_cpu,
                    "cpu_us": server_cpu / max(answers, 1) * 1e6,
                    "ok": ok,
                    "check": note,
                }
                runs.setdefault((stack.name, route), []).append(run)
                loop = f"  waitress loop CPU {loop_cpu:4.0%}" if "waitress" in stack.name else ""
                print(
                    f"[{round_number}] {stack.name:38} {route:15} {run['rps']:7.0f} req/s  "
                    f"p50 {run['p50_ms']:6.2f} ms  p99 {run['p99_ms']:7.2f} ms  "
                    f"server CPU {run['cpu_us']:5.0f} µs/request{loop}  "
                    f"{'ok' if ok else 'FAILED'}: {note}",
                    flush=True,
                )
    finally:
        stop(redis_process)
        shutil.rmtree(directory, ignore_errors=True)

    rows = []
    for (stack_name, route), results in runs.items():
        bare = runs.get((stack_name, "bare"))
        ratios = [run["rps"] / base["rps"] for run, base in zip(results, bare or [], strict=False)]
        rows.append(
            {
                "stack": stack_name,
                "route": route,
                "rps": median([run["rps"] for run in results]),
                "rps_each": [round(run["rps"]) for run in results],
                "p99_ms": median([run["p99_ms"] for run in results]),
                "p99_each": [round(run["p99_ms"], 2) for run in results],
                "ratio": median(ratios) if ratios else float("nan"),
                "loop_cpu": median([run["loop_cpu"] for run in results]),
                "cpu_us": median([run["cpu_us"] for run in results]),
                "cpu_each": [round(run["cpu_us"]) for run in results],
                "answers": sum(run["answers"] for run in results),
                "ok": all(run["ok"] for run in results),
                "checks": [run["check"] for run in results if not run["ok"]],
            }
        )
    print(
        f"\nMedians of {args.rounds} rounds (each round's figure in brackets); "
        "× own bare: the median of each round's quotient with the same stack's bare route; "
        "server CPU: the server's processes' CPU time over the answers.\n"
    )
    print(
        "| server | route | req/s | p99 ms | × own bare | server CPU µs/request "
        "| waitress I/O thread CPU | every request checked |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        each = "/".join(str(value) for value in row["rps_each"])
        p99_each = "/".join(f"{value:g}" for value in row["p99_each"])
        cpu_each = "/".join(str(value) for value in row["cpu_each"])
        verdict = f"yes, {row['answers']:,} answers" if row["ok"] else "NO: " + row["checks"][0]
        loop = f"{row['loop_cpu']:.0%}" if "waitress" in row["stack"] else "-"
        ratio = "-" if math.isnan(row["ratio"]) else f"{row['ratio']:.2f}x"  # no bare route run
        print(
            f"| {row['stack']} | {ROUTES[row['route']]} | {row['rps']:.0f} ({each}) "
            f"| {row['p99_ms']:.1f} ({p99_each}) | {ratio} "
            f"| {row['cpu_us']:.0f} ({cpu_each}) | {loop} | {verdict} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if not all(row["ok"] for row in rows):
        sys.exit("some variants failed their checks")


if __name__ == "__main__":
    main()
