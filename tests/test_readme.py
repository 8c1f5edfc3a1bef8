"""The README's examples work as printed, and its two commands are the ones CI runs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import blinker
import pytest
import requests

import sessionlib

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
COMMANDS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def _block(containing: str) -> str:
    (block,) = [b for b in BLOCKS if containing in b]
    return block


def test_the_usage_example_counts_per_visitor(serve) -> None:
    namespace: dict = {"__name__": "readme_example"}
    exec(_block("def count():"), namespace)
    server = serve(namespace["app"])
    alice, bob = requests.Session(), requests.Session()
    assert [alice.get(server.url + "/count").text for _ in range(3)] == ["1", "2", "3"]
    assert bob.get(server.url + "/count").text == "1"
    assert "sid" in alice.cookies


def test_the_logging_example_logs_each_session_step(serve, caplog) -> None:
    app_namespace: dict = {"__name__": "readme_example"}
    exec(_block("def count():"), app_namespace)
    signals = [
        value for value in vars(sessionlib.signals).values() if isinstance(value, blinker.Signal)
    ]
    before = {signal: set(signal.receivers) for signal in signals}
    exec(_block("import logging"), {})
    try:
        with caplog.at_level(logging.INFO, logger="myapp.sessions"):
            server = serve(app_namespace["app"])
            jar = requests.Session()
            jar.get(server.url + "/count")
            jar.cookies.set("sid", "s%3Aforged.signature", domain="127.0.0.1")
            jar.get(server.url + "/count")
    finally:
        for signal in signals:
            for receiver_id in set(signal.receivers) - before[signal]:
                signal.disconnect(signal.receivers[receiver_id])
    text = caplog.text
    assert "session_created" in text and "store_called" in text
    assert "'rejected': 'bad_signature'" in text


@pytest.mark.parametrize(
    "what", ["jupyter lab --allow-root notebooks/", "python -m pytest", "python3 -m venv"]
)
def test_the_readme_has_the_two_set_up_commands(what: str) -> None:
    assert any(what in command for command in COMMANDS)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    (test_command,) = [c.strip() for c in COMMANDS if "pytest" in c and "jupyter" not in c]
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert test_command in [line.strip() for line in ci_script.splitlines()]
