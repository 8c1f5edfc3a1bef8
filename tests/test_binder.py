"""Binder: ``binder/start`` gives the course a real Redis and then becomes the Jupyter
server, and ``binder/requirements.txt`` installs everything the notebooks import."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import free_port

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
START = BINDER / "start"


# -- binder/start --------------------------------------------------------------------------


def _stop(pidfile: Path) -> None:
    """Stop the redis-server that ``binder/start`` left running, by its pidfile."""
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


# The "Jupyter server" the start script hands over to: it reports its own PID (the
# script's, when the script exec'd it), REDIS_URL, and what that server says about itself.
PROBE = """
import json, os, sys
import redis
url = os.environ.get("REDIS_URL")
report = {"pid": os.getpid(), "REDIS_URL": url, "args": sys.argv[1:]}
if url:
    client = redis.Redis.from_url(url, decode_responses=True)
    client.set("binder:probe", "ok")
    report.update(
        ping=client.ping(),
        probe=client.get("binder:probe"),
        save=client.config_get("save")["save"],
        appendonly=client.config_get("appendonly")["appendonly"],
        bind=client.config_get("bind")["bind"],
        dir=client.config_get("dir")["dir"],
        redis_pid=client.info("server")["process_id"],
    )
    client.delete("binder:probe")
print(json.dumps(report))
"""


def _run_start(env: dict[str, str], *command: str) -> tuple[subprocess.Popen, dict, str]:
    process = subprocess.Popen(
        [str(START), *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return process, json.loads(out.strip().splitlines()[-1]), err


def test_start_runs_a_private_redis_and_execs_the_server(tmp_path: Path) -> None:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    redis_dir = tmp_path / "redis"
    env = {**os.environ, "REDIS_PORT": str(port), "REDIS_DIR": str(redis_dir)}
    env.pop("REDIS_URL", None)
    try:
        process, report, log = _run_start(env, sys.executable, "-c", PROBE, "--lab", "x y")

        # exec "$@": the command replaced the script (same PID), arguments intact
        assert report["pid"] == process.pid
        assert report["args"] == ["--lab", "x y"]
        # a reachable Redis, announced through REDIS_URL
        assert report["REDIS_URL"] == f"redis://127.0.0.1:{port}/0", log
        assert report["ping"] is True and report["probe"] == "ok"
        # loopback only, no disk persistence, files under the given folder in /tmp
        assert report["bind"] == "127.0.0.1"
        assert report["save"] == "" and report["appendonly"] == "no"
        assert Path(report["dir"]).resolve() == redis_dir.resolve()
        pidfile = redis_dir / "redis.pid"
        assert int(pidfile.read_text()) == report["redis_pid"]
        # run by the user who ran the script, not escalated
        status = Path(f"/proc/{report['redis_pid']}/status").read_text()
        assert re.search(rf"^Uid:\s+{os.getuid()}\s", status, re.M), status

        # a second start in the same container reuses that server
        _, again, _ = _run_start(env, sys.executable, "-c", PROBE)
        assert again["redis_pid"] == report["redis_pid"]
    finally:
        _stop(redis_dir / "redis.pid")
    assert not any(p.suffix in {".rdb", ".aof"} for p in redis_dir.iterdir())


def test_start_still_starts_the_server_without_redis(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty), "REDIS_PORT": str(free_port()), "REDIS_DIR": str(tmp_path / "r")}
    process = subprocess.run(
        ["/bin/bash", str(START), "/bin/sh", "-c", 'echo "pid=$$ url=[$REDIS_URL]"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 0, process.stderr
    assert "url=[]" in process.stdout
    assert "fakeredis" in process.stderr


def test_start_keeps_a_redis_url_it_is_given(tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": "redis://example.invalid:1/0", "REDIS_DIR": str(tmp_path)}
    process = subprocess.run(
        [str(START), "/bin/sh", "-c", 'echo "$REDIS_URL"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.stdout.strip() == "redis://example.invalid:1/0"
    assert not list(tmp_path.iterdir()), "no redis-server started"


def test_binder_roots_jupyter_at_the_lessons_as_the_course_command_does(tmp_path: Path) -> None:
    probe = (
        "from jupyter_server.serverapp import ServerApp\n"
        "app = ServerApp()\n"
        "app.load_config_file()\n"
        "print(app.root_dir)"
    )
    env = {**os.environ, "REDIS_URL": "redis://example.invalid:1/0"}  # no Redis started
    env.pop("JUPYTER_CONFIG_PATH", None)
    done = subprocess.run(
        [str(START), sys.executable, "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,  # importing jupyter_server is slow on a loaded machine
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]) == ROOT / "notebooks"
    badge = re.search(r"urlpath=lab/tree/(\S+?)\)", (ROOT / "README.md").read_text())
    assert badge is not None and (ROOT / "notebooks" / badge[1]).exists()


def test_binder_config_files() -> None:
    assert os.access(START, os.X_OK), "binder/start must be executable"
    assert START.read_text().splitlines()[0] == "#!/bin/bash"
    assert "redis-server" in (BINDER / "apt.txt").read_text().split()
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime)
    minor = int(runtime.split(".")[1])
    assert minor >= 11, "pyproject.toml requires Python >= 3.11"


def test_the_server_link_reaches_the_live_server_through_jupyter_server_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside JupyterHub/Binder a notebook links to ``{prefix}proxy/{port}/``: a Jupyter
    server with jupyter-server-proxy under that prefix serves the live Flask app there,
    cookies and all."""
    if importlib.util.find_spec("jupyter_server_proxy") is None:
        if os.environ.get("CI"):
            pytest.fail("jupyter-server-proxy is not installed (it is in requirements.txt)")
        pytest.skip("jupyter-server-proxy is not installed (pip install jupyter-server-proxy)")
    import requests
    from flask import Flask, session

    import coursekit
    import sessionlib

    app = Flask("proxied")
    sessionlib.SessionManager(app, secret="proxy test")

    @app.get("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    prefix, token, port = "/user/learner/", os.urandom(16).hex(), free_port()
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser"]
    command += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"]
    command += [f"--ServerApp.base_url={prefix}", f"--ServerApp.token={token}"]
    command += [f"--ServerApp.root_dir={tmp_path}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = tmp_path / "jupyter-server.log"
    with log.open("w") as out:
        jupyter = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with coursekit.LiveServer(app) as live:
            monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", prefix)
            path = coursekit.browser_url(live, "/count")
            assert path == f"{prefix}proxy/{live.port}/count"
            assert f'href="{path}"' in coursekit.server_link(live, "/count").data

            jar = requests.Session()
            jar.headers["Authorization"] = f"token {token}"
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 40
            while True:
                assert jupyter.poll() is None, log.read_text()
                try:
                    if jar.get(f"{base}{prefix}api/status", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)

            answers = [jar.get(base + path, timeout=10) for _ in range(3)]
            assert [r.status_code for r in answers] == [200, 200, 200], answers[0].text[:300]
            assert [r.text for r in answers] == ["1", "2", "3"], "the session cookie came back"
            assert "connect.sid" in answers[0].headers["Set-Cookie"]
    finally:
        jupyter.send_signal(signal.SIGTERM)
        try:
            jupyter.wait(timeout=15)
        except subprocess.TimeoutExpired:
            jupyter.kill()
            jupyter.wait()


# -- binder/requirements.txt ---------------------------------------------------------------


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement_lines(path: Path) -> list[str]:
    """The requirements of a pip requirements file, following ``-r``; the local project
    (``-e .`` or ``.``, relative to the repository root where pip runs) becomes its
    pyproject dependencies."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += _requirement_lines(path.parent / line.split(maxsplit=1)[1])
        elif line in {"-e .", "--editable .", ".", "-e ./", "./"}:
            lines += [_pyproject()["project"]["name"], *_pyproject()["project"]["dependencies"]]
        elif line.startswith("-"):
            raise AssertionError(f"{path.name}: an option this test does not know: {line}")
        else:
            lines.append(line)
    return lines


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9._\[\]-]+)==([^\s;#]+).*", line)
        if match:
            pins[canonicalize_name(Requirement(match[1]).name)] = match[2]
    return pins


def _installed_closure(requirements: list[str]) -> set[str]:
    """Every distribution that installing ``requirements`` brings in, read from the
    metadata of what is installed here."""
    found: set[str] = set()
    todo = [Requirement(line) for line in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        found.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            nested = Requirement(text)
            extras = requirement.extras or {""}
            if nested.marker and not any(nested.marker.evaluate({"extra": e}) for e in extras):
                continue
            todo.append(nested)
    return found


def _top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _notebook_imports(path: Path) -> set[str]:
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell  # %magics and !shell lines -> Python
    notebook = json.loads(path.read_text())
    names: set[str] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            names |= _top_level_imports(transform(source))
    return names


def _module_imports(path: Path) -> set[str]:
    """Imports a module runs when it is loaded (not those inside functions, which tests
    use for optional tools behind ``pytest.importorskip``)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= _top_level_imports(ast.unparse(node))
    return names


def _what_learners_run() -> dict[str, set[str]]:
    """Top-level imports of the notebooks, the course helpers and the lesson checks."""
    sources = {}
    for path in sorted((ROOT / "notebooks").glob("**/[0-9][0-9]_*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            sources[str(path.relative_to(ROOT))] = _notebook_imports(path)
    for folder in ("sessionlib", "coursekit", "tests"):
        for path in sorted((ROOT / folder).glob("**/*.py")):
            sources[str(path.relative_to(ROOT))] = _module_imports(path)
    return sources


def _repository_modules() -> set[str]:
    """Modules the repository itself holds (tests, scripts, examples put their folders on
    ``sys.path``): nothing to install for those."""
    names = set()
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if any(part.startswith(".") or part == "node_modules" for part in parts):
            continue
        names.add(path.parent.name if path.name == "__init__.py" else path.stem)
    return names


def test_binder_requirements_install_everything_the_course_imports() -> None:
    requirements = _requirement_lines(BINDER / "requirements.txt")
    installed = _installed_closure(requirements)
    project_modules = {
        pattern.rstrip("*.")
        for pattern in _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    local = project_modules | _repository_modules()
    providers = packages_distributions()

    missing = []
    imports = _what_learners_run()
    assert any(name.endswith(".ipynb") for name in imports) or not list(
        (ROOT / "notebooks").glob("**/*.ipynb")
    )
    for where, names in imports.items():
        for name in sorted(names - set(sys.stdlib_module_names) - local):
            dists = {canonicalize_name(d) for d in providers.get(name, [])}
            if not dists:
                missing.append(f"{where}: `import {name}`: no installed distribution provides it")
            elif not dists & installed:
                missing.append(f"{where}: `import {name}` needs one of {sorted(dists)}")
    assert not missing, "binder/requirements.txt does not install:\n" + "\n".join(missing)


def test_binder_pins_match_the_project_requirements() -> None:
    binder, project = _pins(BINDER / "requirements.txt"), _pins(ROOT / "requirements.txt")
    differ = {
        name: (version, project[name])
        for name, version in binder.items()
        if name in project and project[name] != version
    }
    assert not differ, f"binder/requirements.txt vs requirements.txt: {differ}"
    assert "jupyter-server-proxy" in binder, "links to the live server need jupyter-server-proxy"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    assert "-e ." in lines, "Binder installs the project itself"
