"""The plan the code keeps: layers named for every package, no import cycle between top-level
packages (function-local imports included), every table module registered, the doc's picture
drawn from the code."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from ohsc.store.all_models import model_modules

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src" / "ohsc"


def _graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts" / "import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["id"] == "layers"]
    return [name.strip().removeprefix("ohsc.") for layer in layers for name in layer.split("|")]


def test_no_import_cycle_between_top_level_packages() -> None:
    graph = _graph()
    assert graph.cycles(graph.package_edges(SRC)) == []


def test_a_cycle_is_found_when_there_is_one(tmp_path: Path) -> None:
    root = tmp_path / "ohsc"
    for pkg, target in (("a", "b"), ("b", "a")):
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("")
        # a function-local import counts as much as a module-level one
        (root / pkg / "m.py").write_text(f"def f() -> None:\n    from ohsc.{target} import m\n")
    graph = _graph()
    assert graph.cycles(graph.package_edges(root)) == [["a", "b"]]


def test_every_top_level_package_has_a_layer() -> None:
    names = {
        p.name.removesuffix(".py")
        for p in SRC.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.name != "__init__.py")
    }
    missing = sorted(names - set(_layers()) - {"__main__"})
    assert missing == [], f"give these a layer in pyproject.toml [tool.importlinter]: {missing}"


def test_every_module_with_tables_is_registered() -> None:
    with_tables = set()
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(s, ast.Assign) and any(getattr(t, "id", "") == "__tablename__" for t in s.targets)
                for s in node.body
            ):
                rel = path.relative_to(SRC.parent).with_suffix("")
                with_tables.add(".".join(rel.parts))
    missing = sorted(with_tables - set(model_modules()))
    assert missing == [], f'name these in pyproject.toml [project.entry-points."ohsc.models"]: {missing}'


def test_the_architecture_doc_draws_the_code() -> None:
    graph = _graph()
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = graph.mermaid(graph.package_edges(SRC))
    assert picture in doc, "regenerate it: python scripts/import_graph.py --mermaid"


# --- units one can hold in one's head (issue 12.5) -----------------------------------------------

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500
#: too large still, each with its reason; remove a name once it is split
LARGE_MODULES = {
    "ohsc/errors.py": "the one exception tree (house rule: exceptions are declared there)",
    "ohsc/settings.py": "every OHSC_* setting is declared in one place (house rule)",
}
LARGE_FUNCTIONS: dict[str, str] = {}


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    """Lines per module and per function (``module:Class.function``); migrations are history."""
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(SRC.parent).as_posix()
        text = path.read_text(encoding="utf-8")
        modules[rel] = len(text.splitlines())
        stack: list[tuple[ast.AST, str]] = [(ast.parse(text), "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                name = prefix
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert child.end_lineno is not None
                    functions[f"{rel}:{prefix}{child.name}"] = child.end_lineno - child.lineno + 1
                    name = f"{prefix}{child.name}."
                elif isinstance(child, ast.ClassDef):
                    name = f"{prefix}{child.name}."
                stack.append((child, name))
    return modules, functions


def test_no_module_over_500_lines() -> None:
    modules, _ = _sizes()
    large = {m: n for m, n in modules.items() if n > MAX_MODULE_LINES and m not in LARGE_MODULES}
    assert large == {}, f"split these modules (or name them in LARGE_MODULES, with why): {large}"
    fixed = sorted(m for m in LARGE_MODULES if modules.get(m, 0) <= MAX_MODULE_LINES)
    assert fixed == [], f"no longer large: remove them from LARGE_MODULES: {fixed}"


def test_no_function_over_80_lines() -> None:
    _, functions = _sizes()
    large = {f: n for f, n in functions.items() if n > MAX_FUNCTION_LINES and f not in LARGE_FUNCTIONS}
    assert large == {}, f"split these functions (or name them in LARGE_FUNCTIONS, with why): {large}"
    fixed = sorted(f for f in LARGE_FUNCTIONS if functions.get(f, 0) <= MAX_FUNCTION_LINES)
    assert fixed == [], f"no longer large: remove them from LARGE_FUNCTIONS: {fixed}"
