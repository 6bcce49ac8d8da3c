"""The package's layer order: no module imports a module of a higher layer.

Every ``import`` of every module counts, at module level, inside functions and under
``TYPE_CHECKING`` alike, so that a lazy import cannot hide a cycle again (the old
spec → sweeps/validate → config → hosts → spec one). A new module must be placed in
:data:`LAYERS`: where it belongs is a decision, not an accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hybridflow

PACKAGE = Path(hybridflow.__file__).parent

#: lowest first; a module may import its own layer and the ones below. ``pkg.*`` names a
#: package with all its modules.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("errors", "names", "durations", "limits", "policies", "progress", "dag", "hostconfig", "hostentry",
              "templating", "files", "yamlsafe", "jobfields", "usage", "processes")),
    ("states", ("states",)),
    ("spec", ("spec",)),
    ("derived", ("budget", "sweeps", "snapshot", "labels", "retry", "rerun", "readiness", "notify", "rounds", "keys",
                 "callnodes", "functions.runner")),
    ("config", ("config",)),
    ("hosts", ("hosts", "hosts.*")),
    ("load", ("validate", "load", "savedstate")),
    ("views", ("store", "store.*", "render", "render.*")),
    ("engine", ("runstate", "hostpool", "faults", "logreading", "logsource", "jobcancel", "resume", "handoff", "engine")),
    ("calls", ("functions.bundle", "functions.results", "functions.driver", "functions.future")),
    ("api", ("api", "coordinator", "cloudmesh", "detached")),
    ("functions", ("functions", "functions.remote")),
    ("front", ("", "cli", "cli.*", "service", "service.*", "client")),
)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a module named relative to the package ("" is the root)."""
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            if module == name or (name.endswith(".*") and module.startswith(name[:-1])):
                return index
    raise AssertionError(f"module hybridflow.{module} is in no layer: add it to LAYERS in {__file__}")


def imports_of(module: str, path: Path) -> set[str]:
    """The package modules ``module`` imports (relative names; "" for the package itself)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hybridflow" or alias.name.startswith("hybridflow."):
                    found.add(alias.name.removeprefix("hybridflow").lstrip("."))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - node.level + 1] if node.level > 1 else base
            target = ".".join([*base, *([node.module] if node.module else [])])
        elif node.module and (node.module == "hybridflow" or node.module.startswith("hybridflow.")):
            target = node.module.removeprefix("hybridflow").lstrip(".")
        else:
            continue
        for alias in node.names:
            child = f"{target}.{alias.name}" if target else alias.name
            found.add(child if child in MODULES else target)
    found.discard(module)
    return found


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer() -> None:
    wrong: list[str] = []
    for module, path in MODULES.items():
        own = layer_of(module)
        for target in sorted(imports_of(module, path)):
            if layer_of(target) > own:
                wrong.append(f"hybridflow.{module} ({LAYERS[own][0]}) imports hybridflow.{target} "
                             f"({LAYERS[layer_of(target)][0]})")
    assert not wrong, "layer order broken:\n" + "\n".join(wrong)


def test_the_old_cycle_is_gone() -> None:
    """spec is data only; config and retry need no host module; CHECKS is a fixed tuple."""
    from hybridflow import validate

    assert imports_of("spec", MODULES["spec"]) <= {"errors", "names", "jobfields"}
    assert not {m for m in imports_of("config", MODULES["config"]) if m.startswith("hosts")}
    assert not {m for m in imports_of("retry", MODULES["retry"]) if m.startswith("hosts")}
    assert isinstance(validate.CHECKS, tuple)


def test_the_import_walker_sees_function_local_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from .hosts import base\n    from . import config\n    import hybridflow.api\n")
    assert imports_of("probe", source) == {"hosts.base", "config", "api"}
