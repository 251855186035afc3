"""The project's import graph (docs/layout.md): no circle, and every package imports only its own
floor or the floors below it. Read with ast from every .py file git tracks, imports inside functions
and under TYPE_CHECKING included: a lazy import that closes a circle is still a circle a reader has to
untangle."""
from __future__ import annotations

import ast
import functools
import graphlib
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Lowest first. A module may import its own floor and the ones below it, never one above. The
# commands are the top: nothing on a floor below imports a command. Modules outside every floor
# (tests/, benchmarks/) sit above all of them.
FLOORS = [
    ("challenge", "folds", "models"),
    ("ensemble", "reporting"),
    ("recipebook",),
    ("planner", "parallel"),  # planner.lanes prices parallel.resources; parallel.cluster reads planner.machine
    ("train", "tune", "submit", "recipes", "report"),
]
UNFLOORED = ("tests", "benchmarks")


def tracked_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file git tracks under `root`."""
    try:
        listed = subprocess.run(["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    modules = {}
    for relative in listed.stdout.split():
        parts = list(Path(relative).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = root / relative
    return modules


def project_module(name: str, modules: dict) -> str | None:
    """The tracked module an imported name lands in (`pkg.mod.func` -> `pkg.mod`), or None (a library)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(path: Path, module: str) -> list[tuple[str, int]]:
    """(dotted name, line) of every import in the file, relative ones made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return names


@functools.cache  # both checks read the same graph: parse the files once
def import_graph(root: Path) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    """Module -> the project modules it imports (and, for a submodule, its packages' __init__, which
    Python runs first), plus 'file:line' of one import behind each edge."""
    modules = tracked_modules(root)
    graph, where = {module: set() for module in modules}, {}
    for module, path in modules.items():
        for name, line in imported_names(path, module):
            target = project_module(name, modules)
            if target is None:
                continue
            parents = target.split(".")
            for depth in range(1, len(parents) + 1):
                reached = ".".join(parents[:depth])
                # the importer's own packages are already imported before it runs
                if reached in modules and reached != module and not module.startswith(reached + "."):
                    graph[module].add(reached)
                    where.setdefault((module, reached), f"{path.relative_to(root)}:{line}")
    return graph, where


def floor_of(module: str) -> int | None:
    top = module.split(".")[0]
    return next((level for level, names in enumerate(FLOORS) if top in names), None)


def circle_in(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return err.args[1]
    return None


def test_the_import_graph_has_no_circle():
    graph, where = import_graph(REPO)
    circle = circle_in(graph)
    # CycleError lists the circle with its first module last again, each module imported by the next
    steps = [f"  {later} imports {earlier} ({where[later, earlier]})" for earlier, later in zip(circle, circle[1:])] \
        if circle else []
    assert circle is None, "the import graph has a circle:\n" + "\n".join(steps)


def test_every_package_has_a_floor_and_imports_none_above_it():
    graph, where = import_graph(REPO)
    tops = {module.split(".")[0] for module in graph}
    unplaced = sorted(top for top in tops if floor_of(top) is None and top not in UNFLOORED)
    assert not unplaced, (f"{unplaced}: give each a floor in tests/test_import_graph.py (FLOORS) and in "
                          f"docs/layout.md")
    upward = [f"  {module} imports {target} ({where[module, target]})"
              for module in sorted(graph) if floor_of(module) is not None
              for target in sorted(graph[module]) if floor_of(target) is not None and floor_of(target) > floor_of(module)]
    assert not upward, ("imports from a lower floor to a higher one (docs/layout.md: move the shared code down, "
                        "the command calls it):\n" + "\n".join(upward))


def test_the_walk_sees_a_circle_made_by_a_lazy_relative_import(tmp_path):
    """The checks above are only as good as the walk: a circle closed by a function-level relative
    import, in a throwaway repository, is found and named with its file and line."""
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "basket.py").write_text("from shop.prices import total\n")
    (package / "prices.py").write_text("def total():\n    from .basket import items\n    return items\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    graph, where = import_graph(tmp_path)
    assert graph["shop.basket"] == {"shop.prices"} and graph["shop.prices"] == {"shop.basket"}
    assert set(circle_in(graph)) == {"shop.basket", "shop.prices"}
    assert where["shop.prices", "shop.basket"] == "shop/prices.py:2"
