"""The package's shape: one-way imports, no cycles, a public face that is listed and documented."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import neuroguide

ROOT = Path(neuroguide.__file__).parent  # the installed package (the wheel in `nox -s tests`)

# Interfaces may import lazily inside functions, so a command loads only what it needs (start-up time).
# Interfaces that load optional or heavy parts only when used (the cohort package needs Polars).
LAZY_OK = {
    "neuroguide._entry",
    "neuroguide.cli",
    "neuroguide._cli_audit",
    "neuroguide._cli_governance",
    "neuroguide._cli_serve",
    "neuroguide.sphinxext",
    "neuroguide.cohort",
    "neuroguide.cohort._cli",
    # The text report loads the plain-language summary only for --audience patient; the engine's medication rules
    # load the dose and neurotoxicity checks with the first drug they cover (start-up of `neuroguide assess`).
    # Their imports still go one way (the layers contract sees imports inside functions too).
    "neuroguide.report",
    "neuroguide._medcheck",
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> Iterator[tuple[str, bool]]:
    """Yield (imported package module, inside a function) for each import, skipping TYPE_CHECKING blocks."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                if target.startswith("neuroguide"):
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        yield (sub if sub in MODULES else target), inner
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("neuroguide"):
                        yield alias.name, inner
            yield from walk(child, inner)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _ in _imports(name, path):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_anywhere() -> None:
    # A package imports its own sub-modules by design (calculators -> its parts); drop parent->child edges.
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in _graph().items()}
    cycles = [sorted(c) for c in _components(graph) if len(c) > 1]
    assert cycles == []


def test_no_function_level_import_outside_the_interfaces() -> None:
    found = [
        f"{name} imports {target} inside a function"
        for name, path in MODULES.items()
        if name not in LAZY_OK and name != "neuroguide"
        for target, inside in _imports(name, path)
        if inside
    ]
    assert found == []


def test_formulas_import_only_units_numbers_and_exceptions() -> None:
    allowed = {"neuroguide.units", "neuroguide._plausible", "neuroguide._numeric", "neuroguide.exceptions"}
    for name, path in MODULES.items():
        if name.startswith("neuroguide.formulas"):
            outside = {t for t, _ in _imports(name, path) if not t.startswith("neuroguide.formulas")}
            assert outside <= allowed, name


def test_every_module_lists_its_public_names() -> None:
    missing = [name for name in MODULES if name != "neuroguide.__main__" and "__all__" not in vars(_load(name))]
    assert missing == []


def _load(name: str) -> object:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", neuroguide.__all__)
def test_every_public_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(neuroguide, name)
    if name in ("__version__", "ureg", "Q_") or not str(getattr(value, "__module__", "neuroguide")).startswith(
        "neuroguide"
    ):
        return  # third-party types (pint's Quantity) are documented by their library
    assert inspect.getdoc(value), f"neuroguide.{name} has no docstring"


def test_the_lazy_facade_has_one_name_table() -> None:
    # The TYPE_CHECKING re-exports (for type checkers) must name exactly the runtime table's names.
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    checked = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for sub in ast.walk(node)
        if isinstance(sub, ast.ImportFrom) and sub.module != "typing"  # typing: annotations only
        for alias in sub.names
    }
    table = {n for n in neuroguide.__all__ if n not in ("__version__", "ureg", "Q_")}
    assert checked == table
    assert dir(neuroguide) == sorted(neuroguide.__all__)


@pytest.mark.parametrize("module", ["neuroguide.calculators", "neuroguide.classify", "neuroguide.formulas"])
def test_calculator_modules_export_only_what_they_define_or_gather(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} listed in __all__ but missing"
