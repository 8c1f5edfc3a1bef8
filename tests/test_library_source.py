"""One source: ``sessionlib/`` is what the solution notebooks export, it stays small, and a
learner's own package (exported from the learner copies, filled in cell by cell) runs the
live server and the lesson tests, with the reference standing in for unfinished cells."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest
import requests
from flask import Flask

from coursekit import package

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "sessionlib"


def test_sessionlib_is_exactly_what_the_solution_notebooks_export() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        differ = package.main(["--check"])
    assert differ == 0, out.getvalue() + "\nrun: python -m coursekit.package"


def test_the_library_is_at_most_1500_lines() -> None:
    lines = sum(len(path.read_text().splitlines()) for path in LIBRARY.rglob("*.py"))
    assert lines <= 1500, f"sessionlib/ has {lines} lines"


def _code_lines(source: str) -> set[str]:
    """The lines of ``source`` that are code: no blank lines, comments or docstrings."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings |= set(range(value.lineno, value.end_lineno + 1))
    return {
        line.strip()
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    }


def test_every_line_of_the_library_is_in_a_solution_notebook() -> None:
    cells = "\n".join(
        cell.source
        for path in package.lesson_notebooks(package.SOLUTIONS)
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    )
    in_notebooks = {line.strip() for line in cells.splitlines()}
    missing = []
    for path in LIBRARY.rglob("*.py"):
        for line in _code_lines(path.read_text()):
            relative_import = line.startswith("from .") or line.startswith("__all__")
            if not relative_import and line not in in_notebooks and not line.startswith("'"):
                missing.append(f"{path.relative_to(ROOT)}: {line}")
    assert not missing, "\n".join(missing[:20])


@pytest.fixture(scope="module")
def learner_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package a new learner starts from: the learner copies, exported."""
    folder = tmp_path_factory.mktemp("learner") / "my_sessionlib"
    package.export(package.lesson_notebooks(package.LESSONS), folder)
    return folder


def test_a_new_learners_package_has_a_stub_exactly_where_each_exercise_is(
    learner_package: Path,
) -> None:
    unfinished = package.unfinished(learner_package)
    stubs = {(chunk.lesson, name) for chunk in unfinished for name in chunk.names}
    assert {(3, "sign"), (3, "unsign"), (3, "cookie_value"), (3, "id_from_cookie")} <= stubs
    assert {(2, "MemoryStore"), (4, "save_reason"), (4, "should_set_cookie")} <= stubs
    assert {(6, "regenerate"), (6, "destroy"), (7, "RedisStore")} <= stubs
    reference = {chunk.cell_id: chunk.text for chunk in package.chunks(LIBRARY)}
    for chunk in package.chunks(learner_package):
        if not chunk.unfinished:  # everything but the exercises is the library's own code
            body = chunk.text.partition("\n")[2]
            assert body == reference[chunk.cell_id].partition("\n")[2], chunk.names


def _serve_a_count(lib) -> list[str]:  # noqa: ANN001 (a package module)
    app = Flask(__name__)
    lib.SessionManager(app, secret="s")

    @app.get("/count")
    def count() -> str:
        from flask import session

        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    client = app.test_client()
    return [client.get("/count").text for _ in range(3)]


def test_the_reference_stands_in_for_every_unfinished_cell(learner_package: Path) -> None:
    lib = package.load_package(package.with_reference(learner_package, keep=set()))
    assert _serve_a_count(lib) == ["1", "2", "3"]
    stubbed = package.load_package(package.with_reference(learner_package, keep={3}))
    with pytest.raises(NotImplementedError):
        stubbed.sign("value", "secret")


def test_a_cell_the_learner_runs_replaces_its_stub(tmp_path: Path, learner_package: Path) -> None:
    mine = tmp_path / "my_sessionlib"
    package.export(package.lesson_notebooks(package.LESSONS), mine)
    wrong = 'def sign(value: str, secret: Secret) -> str:\n    return value + ".unsigned"\n'
    assert package.write_cell(mine, "signing", wrong)
    assert not package.write_cell(mine, "signing", "def not_in_the_library():\n    pass\n")
    lib = package.load_package(package.with_reference(mine, keep=set()))
    assert lib.sign("hello", "tobiiscool") == "hello.unsigned"  # theirs runs, right or wrong


def test_a_lesson_opened_on_its_own_gets_a_whole_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lesson alone in a folder (an nbgrader assignment per lesson): its setup builds
    the whole package, this lesson's cells from the learner's notebook, the rest from the
    course's learner copies; the live server runs on it."""
    nb = nbformat.read(package.SOLUTIONS / "03_signing.ipynb", as_version=4)
    nbformat.write(nb, tmp_path / "03_signing.ipynb")  # a learner who finished lesson 3
    monkeypatch.setenv("SESSIONLIB_MINE", str(tmp_path / "my_sessionlib"))
    monkeypatch.chdir(tmp_path)
    sources = package.package_sources(tmp_path)
    assert [path.name[:2] for path in sources] == [f"{n:02d}" for n in range(10)]
    assert tmp_path / "03_signing.ipynb" in sources
    with redirect_stdout(io.StringIO()):
        lib = package.mine(lesson=3)
    unfinished = {
        name for chunk in package.unfinished(tmp_path / "my_sessionlib") for name in chunk.names
    }
    assert "sign" not in unfinished and "MemoryStore" in unfinished  # 3 theirs, 2 a stub
    assert _serve_a_count(lib) == ["1", "2", "3"]


def test_mine_says_in_one_line_which_pieces_are_not_written_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONLIB_MINE", str(tmp_path / "my_sessionlib"))
    monkeypatch.chdir(package.LESSONS)
    out = io.StringIO()
    with redirect_stdout(out):
        lib = package.mine(lesson=3)
    line = out.getvalue().strip()
    assert "\n" not in line and "sign" in line and "unsign" in line
    assert "save_reason" not in line  # lesson 4's stubs are not lesson 3's business
    assert _serve_a_count(lib) == ["1", "2", "3"]


def test_a_cell_run_in_a_lesson_kernel_lands_in_the_package(tmp_path: Path) -> None:
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    mine = tmp_path / "my_sessionlib"
    cells = [
        "import coursekit.package\ncoursekit.package.start_lesson(3)",
        "#| export signing\ndef unsign(signed, secrets):\n    return 'mine'",
        "lib = coursekit.package.mine(3)\nprint('unsign:', lib.unsign('a.b', 's'))",
    ]
    notebook = new_notebook(cells=[new_code_cell(source) for source in cells])
    env = {"SESSIONLIB_MINE": str(mine)}
    client = NotebookClient(
        notebook, kernel_name="python3", resources={"metadata": {"path": str(package.LESSONS)}}
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        client.execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "unsign: mine" in printed
    assert "def unsign(signed, secrets):" in (mine / "signing.py").read_text()


@pytest.mark.slow
def test_lesson_tests_run_on_the_learners_package(tmp_path: Path) -> None:
    mine = tmp_path / "my_sessionlib"
    package.export(package.lesson_notebooks(package.LESSONS), mine)

    def lesson3(impl_path: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-m", "lesson3"]
        command += ["--impl", "mine", f"--mine={impl_path}", "tests/test_signing.py"]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    unfinished = lesson3(mine)
    assert unfinished.returncode != 0 and "NotImplementedError" in unfinished.stdout
    for chunk in package.chunks(LIBRARY):  # the learner writes lesson 3 as the solutions do
        if chunk.module == "signing.py" and chunk.lesson == 3:
            code = chunk.text.partition("\n")[2]
            package.write_cell(mine, "signing", code.replace("from .", "from sessionlib."))
    finished = lesson3(mine)
    assert finished.returncode == 0, finished.stdout[-2000:]


def test_the_learner_copies_package_serves_http(learner_package: Path, serve) -> None:  # noqa: ANN001
    lib = package.load_package(package.with_reference(learner_package, keep=set()))
    app = Flask(__name__)
    lib.SessionManager(app, secret="s")
    app.add_url_rule("/", "home", lambda: "ok")
    assert requests.get(serve(app).url + "/").text == "ok"
