"""JupyterLab in a real browser: the first lesson opens, runs top to bottom without an
error, draws its Mermaid diagrams as SVG and shows the cookie jar as a table.

JupyterLab runs headless on a free loopback port, rooted at a copy of ``notebooks/`` as the
course command and Binder root it (so the
run never writes outputs into the repository); Debian's Chromium is driven through
Playwright's Python package. Screenshots are left in the test's temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from support import free_port

import coursekit

ROOT = Path(__file__).resolve().parent.parent
LESSON = "00_stateless_http.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]
STARTUP_SECONDS = 120  # a loaded machine (many test workers) starts it slowly
RUN_SECONDS = 45

pytestmark = [pytest.mark.notebooks, pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass
class Lab:
    url: str
    token: str
    log: Path


def _course_copy(folder: Path) -> Path:
    """``notebooks/`` copied into ``folder``: JupyterLab saves what it runs, and the
    repository keeps its notebooks without outputs."""
    lesson = ROOT / "notebooks" / LESSON
    if not lesson.exists():
        pytest.fail(f"notebooks/{LESSON} is missing: python scripts/make_learner_copies.py")
    notebooks = folder / "notebooks"
    shutil.copytree(
        ROOT / "notebooks",
        notebooks,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    return notebooks / LESSON


def _settings(folder: Path) -> Path:
    """User settings for this JupyterLab: no news or update check (no network here)."""
    settings = folder / "settings"
    plugin = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    plugin.parent.mkdir(parents=True)
    plugin.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return settings


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium and Playwright's Python package, or a skip that says which is
    missing (a failure under CI, which installs both: a skip there would hide that)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright's Python package (pip install playwright)")
    if missing:
        message = "missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " (CI installs both)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A JupyterLab server on a free loopback port, stopped (kernels and all) afterwards."""
    course = tmp_path / "course"
    course.mkdir()
    root = _course_copy(course).parent  # the lessons' folder is the root, as on Binder
    port, token = free_port(), os.urandom(16).hex()
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(_settings(tmp_path)),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)  # plain localhost links, as on a laptop
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, f"{url}/api/status?token={token}", log)
        yield Lab(url, token, log)
    finally:
        server.send_signal(signal.SIGTERM)  # a clean stop: shuts its kernels down too
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(server: subprocess.Popen, status_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


# The kernel is started and connected: the status bar reads "Python 3 (ipykernel) | Idle".
# (The toolbar's indicator says "idle" earlier, while it still reads "No Kernel |
# Initializing", and cells run then are silently dropped.)
KERNEL_READY = """
() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .map((item) => item.textContent.trim())
    .some((text) => /\\|\\s*Idle$/.test(text) && !text.startsWith('No Kernel'))
"""

# Done when the kernel is idle, no cell is queued or running ([*]), and either every code
# cell has an execution count or an error stopped the run.
RUN_FINISHED = """
(panel) => {
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    if (!indicator || indicator.dataset.status !== 'idle') return false;
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .map((p) => p.textContent.trim());
    if (prompts.length === 0 || prompts.some((p) => p.includes('*'))) return false;
    const numbered = prompts.filter((p) => /\\[\\d+\\]/.test(p)).length;
    if (numbered === 0) return false;
    const failed = [...panel.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .some((o) => o.textContent.includes('Traceback'));
    return numbered === prompts.length || failed;
}
"""


def test_first_lesson_runs_in_jupyterlab_in_chromium(
    chromium: Path, lab: Lab, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(RUN_SECONDS * 1000)
            query = urllib.parse.urlencode({"token": lab.token, "reset": ""})
            page.goto(f"{lab.url}/lab/tree/{LESSON}?{query}")

            panel = page.locator(".jp-NotebookPanel").filter(
                has=page.locator(".jp-Notebook-ExecutionIndicator")
            )
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.wait_for_function(KERNEL_READY)

            # Run > Run All Cells, as a learner would
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            try:
                page.wait_for_function(RUN_FINISHED, arg=panel.element_handle())
                _assert_no_cell_failed(panel)
                mermaid = _assert_mermaid_drawn_as_svg(panel)
                jar = _assert_cookie_jar_table(panel)
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"))
                print(f"screenshot: {tmp_path / 'failure.png'}; state: {_state(panel)}")
                print("JupyterLab's log:\n" + lab.log.read_text()[-4000:])
                raise

            mermaid.first.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "jupyterlab-mermaid.png"))
            mermaid.first.screenshot(path=str(tmp_path / "mermaid.png"))
            jar.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "jupyterlab-cookie-jar.png"))
            jar.screenshot(path=str(tmp_path / "cookie-jar.png"))
        finally:
            browser.close()
    seconds = time.monotonic() - started
    print(f"{LESSON} in JupyterLab + Chromium: {seconds:.1f} s; screenshots in {tmp_path}")


def _state(panel) -> dict:  # noqa: ANN001 (a Playwright Locator)
    """What the notebook shows, for a failure message."""
    return {
        "kernel": panel.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status"),
        "prompts": panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents(),
        "stderr": panel.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_text_contents(),
    }


def _assert_no_cell_failed(panel) -> None:  # noqa: ANN001 (a Playwright Locator)
    tracebacks = [
        text
        for text in panel.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_text_contents()
        if "Traceback" in text or re.search(r"^\w+(Error|Exception)\b", text, re.M)
    ]
    assert not tracebacks, "a cell failed:\n" + "\n\n".join(tracebacks)
    prompts = [
        p.strip() for p in panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()
    ]
    unrun = [i for i, p in enumerate(prompts, start=1) if not re.search(r"\[\d+\]", p)]
    assert not unrun, f"code cells not run: {unrun} (prompts {prompts})"


def _assert_mermaid_drawn_as_svg(panel):  # noqa: ANN001, ANN202 (Playwright Locators)
    """JupyterLab's Mermaid renderer (4.1+) shows each ``text/vnd.mermaid`` output as a
    ``.jp-RenderedMermaid`` whose ``<figure>`` holds the diagram drawn to SVG, as an
    ``<img src="data:image/svg+xml,...">``; a diagram it cannot parse gets
    ``jp-mod-warning`` and its source in a ``<details>`` instead."""
    diagrams = panel.locator(".jp-OutputArea-output.jp-RenderedMermaid")
    diagrams.first.wait_for(state="attached")
    # drawing is asynchronous: wait until every diagram has its figure or its warning
    panel.page.wait_for_function(
        """(panel) => [...panel.querySelectorAll('.jp-OutputArea-output.jp-RenderedMermaid')]
            .every((d) => d.querySelector('figure img') || d.classList.contains('jp-mod-warning'))
        """,
        arg=panel.element_handle(),
    )
    failed = panel.locator(".jp-RenderedMermaid.jp-mod-warning").all_text_contents()
    assert not failed, "Mermaid could not draw:\n" + "\n\n".join(failed)
    figures = diagrams.locator("figure img")
    assert figures.count() == diagrams.count() >= 1
    for index in range(figures.count()):
        image = figures.nth(index)
        image.scroll_into_view_if_needed()
        source = image.get_attribute("src") or ""
        assert source.startswith("data:image/svg+xml,"), source[:80]
        svg = urllib.parse.unquote(source.split(",", 1)[1])
        assert re.search(r"<svg\b", svg) and "</svg>" in svg, svg[:200]
        panel.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        box = image.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, box
    return figures


def _assert_cookie_jar_table(panel):  # noqa: ANN001, ANN202 (Playwright Locators)
    """The jar, as ``coursekit.jar_table`` shows it: a table with the jar's columns and
    at least one cookie in it."""
    columns = coursekit.jar_table(requests.Session()).columns
    tables = panel.locator("table.coursekit")
    tables.first.wait_for()
    for index in range(tables.count()):
        table = tables.nth(index)
        heads = [h.strip() for h in table.locator("thead th").all_text_contents()]
        if heads == columns:
            rows = table.locator("tbody tr")
            assert rows.count() >= 1, "the cookie jar table is empty"
            assert table.is_visible()
            return table
    captions = tables.locator("caption").all_text_contents()
    raise AssertionError(f"no cookie-jar table among the tables: {captions}")
