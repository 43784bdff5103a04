"""The spec modules import one way: at the top of the file, never in a loop, never late.

A cycle between spec modules used to be held off with imports inside functions (a pipeline
component holds steps, and steps name components). These tests read the modules' source, so they
fail as soon as such an import, or a cycle, comes back.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import jobs.specs

PACKAGE = Path(jobs.specs.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def spec_modules_named(node: ast.AST) -> list[str]:
    """The spec modules an import statement names (`from .x import`, `jobs.specs.x`, the package)."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 1:
            return [node.module] if node.module else [alias.name for alias in node.names]
        if node.level == 0 and node.module and node.module.startswith("jobs.specs"):
            return [node.module.removeprefix("jobs.specs").lstrip(".") or "__init__"]
    if isinstance(node, ast.Import):
        return [alias.name.removeprefix("jobs.specs").lstrip(".") or "__init__"
                for alias in node.names if alias.name.startswith("jobs.specs")]
    return []


def parse(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text(), filename=f"{module}.py")


def imports_of(module: str) -> set[str]:
    """The spec modules `module` imports, wherever the import stands."""
    return {name for node in ast.walk(parse(module)) for name in spec_modules_named(node)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        path.append(name)
        for other in sorted(graph.get(name, ())):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        path.pop()
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_it_finds_a_cycle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_it_imports_spec_modules_only_at_the_top_of_a_module():
    late = []
    for module in MODULES:
        tree = parse(module)
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if spec_modules_named(node) and id(node) not in top:
                late.append(f"{module}.py:{node.lineno}")  # in a function, a class, an if or a try
            if isinstance(node, ast.Name) and node.id in ("__import__", "importlib"):
                late.append(f"{module}.py:{node.lineno} ({node.id})")
    assert late == []


def test_it_never_imports_the_package_from_a_spec_module():
    # `from jobs.specs import X` inside the layer would go through the package's lazy loader and
    # hide a cycle from the other tests.
    assert [module for module in MODULES if "__init__" in imports_of(module)] == []


def test_it_imports_spec_modules_without_a_cycle():
    graph = {module: imports_of(module) for module in MODULES}
    assert set().union(*graph.values()) <= set(MODULES)
    assert find_cycle(graph) is None


def test_it_reads_pipeline_components_and_pipeline_jobs_with_the_same_steps_module():
    assert "steps" in imports_of("pipeline")
    assert "steps" not in imports_of("components") and "pipeline" not in imports_of("components")


@pytest.mark.parametrize("module", MODULES)
def test_it_imports_each_spec_module_first_in_a_fresh_interpreter(module):
    code = f"import jobs.specs.{module}, sys; assert not any(m.startswith('django') for m in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
