"""The framework's pytest plugin is opt-in: a project that has the framework installed but
not pytest-asyncio runs its tests as before, and one that opts in without pytest-asyncio
is told what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ABSENT = 'raise ModuleNotFoundError("No module named \'pytest_asyncio\'", name="pytest_asyncio")\n'


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a child process, as if pytest-asyncio were not installed: a package of
    that name that fails to import comes first on the path, and pytest-asyncio's own
    plugin (entry point ``asyncio``) is not loaded."""
    shadow = tmp_path / "shadow" / "pytest_asyncio"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(ABSENT)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_plain.py").write_text("def test_plain() -> None:\n    assert True\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio", *args],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(shadow.parent)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_project_without_pytest_asyncio_runs_its_tests(tmp_path: Path) -> None:
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_opting_in_without_pytest_asyncio_says_what_to_install(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "-p", "ome.testing.pytest_plugin")
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "ome.testing.pytest_plugin needs pytest-asyncio" in done.stderr
    assert "pip install 'ome-framework[testing]'" in done.stderr
