"""The dependency rule gui -> engine <- training and the layers inside engine.

The rules are import-linter contracts in pyproject.toml, checked on the whole import graph
(indirect imports included) by `lint-imports` in `make test`. Here: each contract really breaks
on a violation planted in a scratch copy of the tree, and, what a static graph cannot see, the
modules actually loaded at run time (e.g. line adapters loaded by name) stay within the rules.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "gui", "training")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["tool"]["importlinter"]["contracts"]}


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        exe = Path(shutil.which("lint-imports") or exe)
    assert exe.exists(), "lint-imports missing: import-linter is in the dev extra (.[dev])"
    env = {**os.environ, "COLUMNS": "500"}  # one line per contract, however long its name
    return subprocess.run(
        [str(exe), "--no-cache", "--no-logo"], cwd=tree, capture_output=True, text=True, env=env
    )


def _broken(output: str) -> set[str]:
    """Ids of the contracts reported BROKEN; every contract must be reported one way or other."""
    broken = set()
    for contract_id, name in CONTRACTS.items():
        lines = [line for line in output.splitlines() if line.startswith(f"{name} ")]
        assert len(lines) == 1, f"{name!r} not reported:\n{output}"
        if " BROKEN" in lines[0]:
            broken.add(contract_id)
        else:
            assert " KEPT" in lines[0], lines[0]
    return broken


def _scratch_copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


# case: (module file, the line appended to it, the contracts that must then be broken)
VIOLATIONS = {
    "none": (None, None, set()),
    # gui breaks its contract too, indirectly: gui -> engine.imageio -> torch
    "engine imports torch": (
        "engine/imageio.py", "import torch", {"engine-runtime", "gui-no-training"}
    ),
    # and training, indirectly: training -> engine.result -> PySide6
    "engine imports Qt": (
        "engine/result.py", "import PySide6.QtCore", {"engine-runtime", "training-no-gui"}
    ),
    "gui imports training": ("gui/settings.py", "import training.seg_metrics", {"gui-no-training"}),
    "training imports gui": ("training/split.py", "import gui.counters", {"training-no-gui"}),
    "the store knows the recorder": (
        "engine/store.py", "import engine.recorder", {"engine-layers"}
    ),
    "sources know the station": ("engine/sources.py", "import engine.station", {"engine-layers"}),
    "the station knows the line": (
        "engine/station.py", "import engine.line.modbus_map", {"engine-layers"}
    ),
    "the inspector knows the store": (
        "engine/inspector.py", "import engine.store", {"inspector-standalone"}
    ),
    "an adapter runs the model": (
        "engine/line/mqtt.py", "import engine.inspector", {"line-through-the-station"}
    ),
    "an adapter imports another": (
        "engine/line/modbus.py", "import engine.line.mqtt", {"line-adapters-independent"}
    ),
    "the service needs an extra": (
        "engine/service_config.py", "import engine.line.mqtt", {"line-extras-optional"}
    ),
    "the sources need the pylon extra": (
        "engine/sources.py", "import engine.cameras.pylon", {"camera-extras-optional"}
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", VIOLATIONS)
def test_each_contract_breaks_on_its_violation(case: str, tmp_path: Path) -> None:
    module, line, expected = VIOLATIONS[case]
    tree = _scratch_copy(tmp_path)
    if module is not None:
        path = tree / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    out = _lint_imports(tree)
    report = out.stdout + out.stderr
    assert _broken(report) == expected, report
    assert out.returncode == (1 if expected else 0), report
    if module is not None:  # the report names the planted import
        importer = module.removesuffix(".py").replace("/", ".")
        imported = line.split()[1]
        if imported.split(".")[0] not in PACKAGES:
            imported = imported.split(".")[0]  # an external package is one node of the graph
        assert f"{importer} -> {imported} " in report, report


def test_every_contract_has_a_violation_case() -> None:
    assert set().union(*(broken for _, _, broken in VIOLATIONS.values())) == set(CONTRACTS)


def test_the_tree_keeps_every_contract() -> None:
    out = _lint_imports(ROOT)
    assert out.returncode == 0 and _broken(out.stdout) == set(), out.stdout + out.stderr


def _modules(package: str) -> list[str]:
    """Every module under `package`, from its files (`__main__` runs the program: left out)."""
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _loaded_roots(modules: list[str]) -> set[str]:
    """Top-level packages in sys.modules after importing `modules` in a fresh interpreter; a
    module that fails to import fails the test (no module is skipped)."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


QT = {"PySide6", "shiboken6", "PySide2", "PyQt5", "PyQt6"}
TRAINING = {"training", "torch", "torchvision", "sklearn"}
LINE_EXTRAS = {"pymodbus", "asyncua", "paho", "cryptography"}


def test_every_engine_module_runs_without_torch_or_qt() -> None:
    modules = _modules("engine")
    assert {"engine.station", "engine.line.opcua", "engine.serve"} <= set(modules)
    loaded = _loaded_roots(modules)
    assert "engine" in loaded and loaded & (QT | TRAINING | {"gui"}) == set()


def test_every_gui_module_runs_without_training() -> None:
    loaded = _loaded_roots(_modules("gui"))
    assert "PySide6" in loaded and loaded & TRAINING == set()


def test_the_station_starts_without_the_line_extras_loaded() -> None:
    """The adapters are loaded by name only when a link is configured (engine.line.links)."""
    entry_points = ["engine.cli", "engine.serve", "engine.service_config", "gui.main_window"]
    loaded = _loaded_roots(entry_points)
    assert "engine" in loaded and loaded & LINE_EXTRAS == set()


def test_every_training_module_runs_without_qt() -> None:
    loaded = _loaded_roots(_modules("training"))
    assert "torch" in loaded and loaded & (QT | {"gui"}) == set()
