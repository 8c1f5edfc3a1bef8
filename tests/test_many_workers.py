"""One user, many requests at once, many processes: eight gunicorn workers on one Redis
serve parallel requests of the same session, each changing a different key. With
``merge=True`` no change is lost, whichever worker served it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support import free_port

pytestmark = [pytest.mark.lesson7, pytest.mark.slow]

REQUESTS = 48


@pytest.fixture
def gunicorn(real_redis, redis_prefix: str, tmp_path: Path):
    if shutil.which("gunicorn") is None and not _importable("gunicorn"):
        pytest.skip("gunicorn is not installed (pip install gunicorn)")
    port = free_port()
    apps = str(Path(__file__).parent / "apps")
    env = {**os.environ, "SESSION_PREFIX": redis_prefix + "sess:", "PYTHONPATH": apps}
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "8", "-b", f"127.0.0.1:{port}", "merge_app:app"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # eight workers booting on a busy machine
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/keys", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # not listening, or booting
                time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_parallel_changes_of_one_session_on_eight_workers_all_survive(gunicorn: str) -> None:
    user = requests.Session()
    user.post(gunicorn + "/set/first", timeout=10)
    cookie = user.cookies.get_dict()

    def change(number: int) -> int:
        response = requests.post(f"{gunicorn}/set/k{number:02d}", cookies=cookie, timeout=30)
        return response.status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(change, range(REQUESTS)))
    assert statuses == [200] * REQUESTS
    keys = requests.get(gunicorn + "/keys", cookies=cookie, timeout=10).json()
    assert keys == sorted(["first", *[f"k{n:02d}" for n in range(REQUESTS)]])
