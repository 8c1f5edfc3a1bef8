"""The course runs: every lesson executes end to end, its self-checks pass with the
solutions, the learner copies run clean with their exercises still open, and what is
committed is clean (no outputs, copies current, ruff-clean)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LEARNER = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "scripts"))
import make_learner_copies  # noqa: E402

from coursekit.exercises import PASS, TODO  # noqa: E402
from coursekit.exercises import WRONG as HINT  # noqa: E402


def _lesson_marks(path: Path) -> list[pytest.MarkDecorator]:
    return [pytest.mark.notebooks, getattr(pytest.mark, f"lesson{int(path.name[:2])}")]


def _params(paths: list[Path]) -> list:
    return [pytest.param(p, id=p.stem, marks=_lesson_marks(p)) for p in paths]


def execute(path: Path, mine: Path | None = None) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in a fresh kernel, from the folder it lives in; the
    learner's package it writes goes to ``mine`` (a temporary folder of the test's)."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        if mine is not None:
            patch.setenv("SESSIONLIB_MINE", str(mine))
        NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return notebook, time.perf_counter() - started


def printed(notebook: nbformat.NotebookNode) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            elif "data" in output:
                texts.append(str(output["data"].get("text/plain", "")))
    return "\n".join(texts)


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


@pytest.mark.parametrize("path", _params(SOLUTIONS))
def test_lesson_runs_end_to_end_and_every_self_check_passes(
    path: Path, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)  # the course's default: fakeredis
    notebook, seconds = execute(path, tmp_path / "my_sessionlib")
    text = printed(notebook)
    assert not errors(notebook)
    assert text.count(PASS) >= 2, "each lesson has at least two self-checked exercises"
    assert TODO not in text and HINT not in text, text
    print(f"{path.name}: {seconds:.1f} s")


@pytest.mark.parametrize("path", _params(LEARNER))
def test_learner_copy_runs_clean_and_checks_what_is_filled_in(
    path: Path, monkeypatch, tmp_path: Path
) -> None:
    """As generated, every exercise is an open stub; once a learner fills some in (and runs
    ``pytest -m lessonN``), those must pass their self-checks."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    notebook, _ = execute(path, tmp_path / "my_sessionlib")
    text = printed(notebook)
    assert not errors(notebook)
    assert HINT not in text, text
    expected = make_learner_copies.expected_copies()[path]
    if path.read_text() == expected:
        assert text.count(TODO) >= 2, "the exercises are stubs the learner fills in"


@pytest.mark.lesson7
@pytest.mark.notebooks
def test_redis_lesson_runs_against_a_real_redis_server(
    tmp_path: Path, real_redis, redis_prefix: str, monkeypatch
) -> None:
    monkeypatch.setenv("SESSIONLIB_REDIS_PREFIX", redis_prefix + "sess:")  # deleted afterwards
    (path,) = [p for p in SOLUTIONS if "redis" in p.name]
    notebook, _ = execute(path, tmp_path / "my_sessionlib")
    text = printed(notebook)
    assert not errors(notebook)
    assert "real Redis" in text and HINT not in text and TODO not in text


def test_there_are_ten_lessons_with_learner_copies() -> None:
    numbers = {p.name[:2] for p in SOLUTIONS}
    assert {f"{n:02d}" for n in range(10)} <= numbers
    assert [p.name for p in LEARNER] == [p.name for p in SOLUTIONS]


def test_learner_copies_are_generated_from_the_current_solutions() -> None:
    stale = [
        path.name
        for path, text in make_learner_copies.expected_copies().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"run python scripts/make_learner_copies.py ({', '.join(stale)})"


def test_learner_copies_contain_no_solutions() -> None:
    for path in LEARNER:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name


def test_notebooks_are_stored_without_outputs() -> None:
    for path in [*SOLUTIONS, *LEARNER]:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_notebooks_pass_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stripping_keeps_indentation_and_removes_the_solution() -> None:
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    stub = make_learner_copies.strip_solutions(source)
    assert "return x + 1" not in stub
    assert "    raise NotImplementedError()" in stub
    namespace: dict = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)
