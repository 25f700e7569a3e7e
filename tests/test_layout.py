"""The architecture, checked from the code: one import name, stages whose imports point one
way, no import circles, and an install that nothing in the current folder can shadow.

The stage order is declared here, once (the README's layout section draws it): a module may
import its own stage and the stages before it, never a later one. Every import counts,
those inside functions included, and so do module paths written as strings (lazy
``importlib`` homes). The package root alone may name later stages, and only lazily, from a
module ``__getattr__`` (PEP 562).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The stages, lowest first, each with the module prefixes it owns (the longest prefix
#: that matches a module decides its stage).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("basics", ("cropcast",)),
    ("world", ("cropcast.features.world",)),
    ("readers", ("cropcast.features.sources",)),
    ("features", ("cropcast.features",)),
    ("models", ("cropcast.models",)),
    ("evaluation", ("cropcast.forecast", "cropcast.forecast.evaluation")),
    ("reporting", ("cropcast.forecast.reporting",)),
    ("command line", ("cropcast.forecast.cli", "cropcast.configs")),
)
_MODULE_PATH = re.compile(r"cropcast(\.\w+)*")


def _package_dirs() -> dict[str, str]:
    """Import name -> folder, from pyproject.toml."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools["package-dir"]


def _modules() -> dict[str, Path]:
    """Every module of the distribution: import name -> file."""
    found = {}
    for name, folder in _package_dirs().items():
        for path in sorted((ROOT / folder).glob("*.py")):
            module = name if path.stem == "__init__" else f"{name}.{path.stem}"
            found[module] = path
        for path in sorted((ROOT / folder).glob("*/**/*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[0] in {"__pycache__"} or f"{name}.{parts[0]}" in _package_dirs():
                continue
            module = ".".join([name, *parts])
            found[module.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _stage(module: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def _lazy_getattr_lines(tree: ast.Module) -> set[int]:
    """Line numbers inside a module-level ``def __getattr__`` (PEP 562)."""
    lines: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """``(imported cropcast module, line, written as an import statement)``."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno, True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            base = node.module or ""
            for alias in node.names:
                child = f"{base}.{alias.name}"
                out.append((child if child in MODULES else base, node.lineno, True))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _MODULE_PATH.fullmatch(node.value.split(":")[0])):
            named = node.value.split(":")[0]
            while named and named not in MODULES:
                named = named.rpartition(".")[0]
            if named:
                out.append((named, node.lineno, False))
    return [(name, line, statement) for name, line, statement in out
            if name == "cropcast" or name.startswith("cropcast.")]


def test_one_import_name_and_every_package_listed():
    dirs = _package_dirs()
    assert set(dirs) == {"cropcast", "cropcast.configs", "cropcast.features",
                         "cropcast.forecast", "cropcast.models"}
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]
    on_disk = sorted(m for m, p in MODULES.items() if p.name == "__init__.py")
    assert sorted(listed) == on_disk


def test_every_module_has_a_stage_and_declares_all():
    for module, path in MODULES.items():
        assert _stage(module) >= 0, module
        assert re.search(r"^__all__\b", path.read_text(), re.M), f"{path}: no __all__"


def test_no_import_from_a_lower_stage_to_a_higher_one():
    wrong = []
    for module, path in MODULES.items():
        lazy = _lazy_getattr_lines(ast.parse(path.read_text())) if module == "cropcast" else set()
        for target, line, _ in _imports(module, path):
            if _stage(target) > _stage(module) and line not in lazy:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {STAGES[_stage(module)][0]} "
                             f"imports {target} ({STAGES[_stage(target)][0]})")
    assert wrong == []


def test_no_import_circles():
    graph = {module: {t for t, _, statement in _imports(module, path)
                      if statement and t != module and t in MODULES}
             for module, path in MODULES.items()}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert circles == []


def test_the_stage_check_sees_imports_inside_functions_and_strings(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from cropcast.forecast.cli import main\n"
                    "HOME = 'cropcast.models.residual:TrendResidualRegressor'\n")
    found = {(t, statement) for t, _, statement in _imports("cropcast.features.x", path)}
    assert found == {("cropcast.forecast.cli.main", True), ("cropcast.models.residual", False)}


def test_imports_resolve_into_the_checkout_whatever_the_current_folder_holds(tmp_path):
    """A notebook started in a workdir: its features/store/, models/ and forecast/ folders,
    and an unrelated cropcast/, shadow nothing."""
    for folder in ("features/store", "models", "forecast", "cropcast/notes"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "features" / "store" / "manifest.json").write_text("{}")
    code = ("import cropcast, cropcast.features.store.store, cropcast.models, "
            "cropcast.forecast.cli.main as cli\n"
            "from cropcast.features.store.store import FeatureStore\n"
            "for m in (cropcast, cropcast.features.store.store, cropcast.models, cli):\n"
            "    print(m.__name__, m.__file__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for folder in (tmp_path, ROOT):  # a workdir, and the checkout itself
        done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                              text=True, timeout=120, env=env, check=False)
        assert done.returncode == 0, done.stderr
        files = dict(line.split(" ", 1) for line in done.stdout.splitlines())
        assert len(files) == 4
        for name, file in files.items():
            resolved = Path(file).resolve()
            assert resolved.is_relative_to(ROOT) and not resolved.is_relative_to(tmp_path), (
                name, file)
