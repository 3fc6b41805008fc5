"""The layer order of docs/architecture.md holds: no module imports a higher layer, the service never imports
the CLI, internal code never imports the front door, and every package ``__init__`` follows one convention."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOC = ROOT / "docs" / "architecture.md"

#: Imports that still run up the layers, each with the issue that removes it.  Keep this empty.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def layer_table() -> dict[str, int]:
    """Module prefix → layer, from the table under "## Layer order" in docs/architecture.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Layer order", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for row in re.finditer(r"^\|\s*(\d+)\s*\|[^|]*\|(.*)\|\s*$", section, flags=re.MULTILINE):
        for prefix in re.findall(r"`([\w.]+)`", row.group(2)):
            layers[prefix] = int(row.group(1))
    return layers


def layer_of(module: str, layers: dict[str, int]) -> int | None:
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        prefix = ".".join(parts[:k])
        if prefix in layers:
            return layers[prefix]
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, int]]:
    """Every skyfence module ``path`` imports (also inside functions and TYPE_CHECKING blocks), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("skyfence")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("skyfence"):
            if node.module == "skyfence":  # `from skyfence import data` is the package skyfence.data
                found += [(f"skyfence.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((node.module, node.lineno))
    return found


def sources() -> list[Path]:
    return sorted(p for p in (SRC / "skyfence").rglob("*.py") if "migrations" not in p.parts)


def test_the_layer_table_is_read_from_the_document():
    layers = layer_table()
    assert layers["skyfence.errors"] == 0 and layers["skyfence.orbits.propagate"] == 2
    assert layers["skyfence.policy"] > layers["skyfence.coverage"] > layers["skyfence.earth"]
    assert layers["skyfence.cli"] == layers["skyfence.service"] > layers["skyfence.report"]


def test_every_module_has_a_layer():
    layers = layer_table()
    missing = [module_name(p) for p in sources() if layer_of(module_name(p), layers) is None]
    assert not missing, f"add these to the layer table of docs/architecture.md: {missing}"


def test_no_import_runs_up_the_layers():
    layers = layer_table()
    upward = []
    for path in sources():
        importer = module_name(path)
        own = layer_of(importer, layers)
        for imported, line in imports(path):
            theirs = layer_of(imported, layers)
            if own is None or theirs is None or theirs <= own or (importer, imported) in KNOWN_UPWARD:
                continue
            upward.append(
                f"{path.relative_to(ROOT)}:{line}: {importer} (layer {own}) imports {imported} (layer {theirs})"
            )
    assert not upward, "imports up the layers of docs/architecture.md:\n" + "\n".join(upward)


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [("skyfence.service", "skyfence.cli"), ("skyfence.", "skyfence")],
    ids=["service-never-imports-cli", "no-front-door-inside"],
)
def test_forbidden_imports(importer, forbidden):
    bad = []
    for path in sources():
        name = module_name(path)
        if not (name == importer or name.startswith(importer.rstrip(".") + ".")) or name == "skyfence.__main__":
            continue
        for imported, line in imports(path):
            if imported == forbidden or (forbidden != "skyfence" and imported.startswith(forbidden + ".")):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {imported}")
    assert not bad, bad


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test above can fail: a lower module importing a higher one is reported."""
    layers = layer_table()
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from skyfence.report.html import write_report\n")
    ((imported, _),) = imports(probe)
    assert layer_of(imported, layers) > layer_of("skyfence.orbits.elements", layers)


def _init_files() -> list[Path]:
    return [p for p in sources() if p.name == "__init__.py" and module_name(p) != "skyfence.cli"]


@pytest.mark.parametrize("path", _init_files(), ids=lambda p: module_name(p))
def test_every_package_init_follows_one_convention(path):
    """A docstring that maps the package; public names (if any) resolved on first use from the module that
    defines them (skyfence/_lazy.py), ``__all__`` listing exactly those names; no eager import of a submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), "a package __init__ starts with a docstring that maps the package"
    eager = [
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and (node.module or "") not in ("__future__", "typing", "skyfence._lazy", "skyfence._version")
    ]
    assert not eager, f"eager imports at lines {eager}: resolve names lazily (skyfence._lazy.lazy_exports)"
    where = next((n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "_WHERE"), None)
    exported = next((n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"), None)
    if where is None:
        assert exported is None, "__all__ without _WHERE"
        return
    names = {key.value for key in where.keys}  # type: ignore[union-attr]
    assert exported is not None and {e.value for e in exported.elts} == names  # type: ignore[union-attr]
    for key, value in zip(where.keys, where.values, strict=True):  # type: ignore[union-attr]
        target = SRC / Path(*value.value.split("."))
        assert target.with_suffix(".py").is_file() or (target / "__init__.py").is_file(), (key.value, value.value)
