"""The import graph between ohsc's top-level packages, read from the source (every import
statement, function-local ones included), its cycles, and a Mermaid picture of it.

    python scripts/import_graph.py            # edges, then cycles (exit 1 when there is one)
    python scripts/import_graph.py --mermaid  # the picture in docs/architecture.md

``lint-imports`` (import-linter, configured in pyproject.toml) checks the layer order; this
script checks what import-linter's layers leave to trust: that no two top-level packages import
each other, even through a function-local import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "ohsc"


def _imported(node: ast.AST, parts: tuple[str, ...]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = ["ohsc", *parts[:-1]]
            base = base[: len(base) - (node.level - 1)]
            yield ".".join(base + ([node.module] if node.module else []))
            if not node.module:
                yield from (".".join([*base, a.name]) for a in node.names)
        elif node.module:
            yield node.module
            if node.module == "ohsc":
                yield from (f"ohsc.{a.name}" for a in node.names)


def package_edges(root: Path = ROOT) -> dict[str, dict[str, set[str]]]:
    """``{package: {imported package: {files}}}`` between top-level packages and modules."""
    edges: dict[str, dict[str, set[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] == "__init__.py":
            continue
        src = parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(node, parts):
                bits = name.split(".")
                if bits[0] == "ohsc" and len(bits) > 1 and bits[1] != src and bits[1] != "__version__":
                    edges.setdefault(src, {}).setdefault(bits[1], set()).add(str(path.relative_to(root)))
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    nodes = sorted(set(edges) | {d for out in edges.values() for d in out})
    for v in nodes:
        if v not in index:
            visit(v)
    return found


def _reaches(edges: dict[str, dict[str, set[str]]], src: str, dst: str, skip: str) -> bool:
    """Whether ``dst`` is reachable from ``src`` without the direct edge ``src -> skip``."""
    todo = [n for n in edges.get(src, {}) if n != skip]
    seen = set(todo)
    while todo:
        node = todo.pop()
        if node == dst:
            return True
        for nxt in edges.get(node, {}):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def mermaid(edges: dict[str, dict[str, set[str]]]) -> str:
    """The graph without the arrows that a longer path already implies (its transitive reduction)."""
    lines = ["```mermaid", "graph TD"]
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            if not _reaches(edges, src, dst, skip=dst):
                lines.append(f"  {src} --> {dst}")
    lines.append("```")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    edges = package_edges()
    if "--mermaid" in argv:
        print(mermaid(edges))
        return 0
    for src in sorted(edges):
        print(f"{src} -> {' '.join(sorted(edges[src]))}")
    found = cycles(edges)
    for group in found:
        print("cycle:", " ".join(group))
        for a in group:
            for b in sorted(edges.get(a, {})):
                if b in group:
                    print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
