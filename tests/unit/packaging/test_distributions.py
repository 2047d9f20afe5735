"""The two distributions built from this repository: ome-framework (framework/) must pull
in nothing of the operator, and each must declare every package its code imports."""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FRAMEWORK = ROOT / "framework"
FRAMEWORK_PACKAGES = ("client", "workqueue", "informers", "runtime", "testing")
OPERATOR_PACKAGES = ("api", "serving", "controllers", "agent", "webhooks", "cli")
# What the operator needs for its model storage, and nothing the framework may pull in.
OPERATOR_ONLY = {"boto3", "botocore", "huggingface-hub", "hf-xet", "fsspec", "httpx2"}


def project(directory: Path) -> dict[str, object]:
    with (directory / "pyproject.toml").open("rb") as file:
        table = tomllib.load(file)["project"]
    assert isinstance(table, dict)
    return table


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def declared(directory: Path, *extras: str) -> set[str]:
    table = project(directory)
    requirements = list(table.get("dependencies", []))  # type: ignore[call-overload]
    optional = table.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    for extra in extras:
        requirements += optional[extra]
    return {requirement_name(r) for r in requirements}


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from sorted(root.rglob("*.py"))


def runtime_imports(path: Path) -> Iterator[str]:
    """Top-level names imported outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for child in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def third_party(modules: Iterator[str]) -> set[str]:
    tops = {module.split(".")[0] for module in modules}
    return {top for top in tops if top != "ome" and top not in sys.stdlib_module_names}


@functools.cache
def installed() -> dict[str, list[str]]:
    return dict(packages_distributions())


def distributions_of(module: str) -> set[str]:
    return {requirement_name(d) for d in installed().get(module, [])}


FRAMEWORK_FILES = list(python_files(*(FRAMEWORK / "src" / "ome" / p for p in FRAMEWORK_PACKAGES)))
OPERATOR_FILES = list(
    python_files(ROOT / "api", *(ROOT / "src" / "ome" / p for p in OPERATOR_PACKAGES[1:]))
)


def test_the_framework_requires_none_of_the_operators_packages() -> None:
    everything = declared(FRAMEWORK, *project(FRAMEWORK)["optional-dependencies"])  # type: ignore[arg-type]
    assert not everything & OPERATOR_ONLY
    assert not {r for r in everything if r.startswith("ome")}


def test_the_operator_keeps_its_storage_backends_in_extras() -> None:
    base = declared(ROOT)
    assert "ome-framework" in base
    assert not base & OPERATOR_ONLY
    assert declared(ROOT, "s3") - base == {"boto3", "botocore"}
    assert declared(ROOT, "hf") - base == {"huggingface-hub", "httpx2"}


def test_no_distribution_registers_a_pytest_plugin_on_install() -> None:
    for directory in (ROOT, FRAMEWORK):
        assert "pytest11" not in project(directory).get("entry-points", {})  # type: ignore[operator]


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=lambda p: str(p.relative_to(FRAMEWORK)))
def test_no_framework_module_imports_the_operator(path: Path) -> None:
    imported = set(runtime_imports(path))
    operator = {m for m in imported if m.split(".")[:2] in (["ome", p] for p in OPERATOR_PACKAGES)}
    assert not operator, f"{path.name} imports {sorted(operator)}"
    storage = {m for m in third_party(iter(imported)) if distributions_of(m) & OPERATOR_ONLY}
    assert not storage, f"{path.name} imports {sorted(storage)}"


@pytest.mark.parametrize(
    ("directory", "files", "extras"),
    [
        (FRAMEWORK, FRAMEWORK_FILES, ("testing", "k3s")),
        (ROOT, OPERATOR_FILES, ("s3", "hf")),
    ],
    ids=["ome-framework", "ome-operator"],
)
def test_every_imported_package_is_declared(
    directory: Path, files: list[Path], extras: tuple[str, ...]
) -> None:
    requirements = declared(directory, *extras)
    undeclared = {
        module: sorted(distributions_of(module))
        for path in files
        for module in third_party(runtime_imports(path))
        if not distributions_of(module) & requirements
    }
    assert not undeclared, f"imported but not declared in {directory.name}: {undeclared}"
