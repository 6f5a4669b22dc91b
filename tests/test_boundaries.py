"""The dependency rule gui -> engine <- training, checked on the source (as napari does)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "engine": {"torch", "torchvision", "sklearn", "PySide6", "PyQt5", "PyQt6", "gui", "training"},
    "training": {"gui", "PySide6"},
    "gui": {"torch", "torchvision", "sklearn", "training"},
}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_packages_import_only_what_the_design_allows() -> None:
    offences = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = _imported_roots(path) & forbidden
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offences == []


def test_engine_imports_without_torch_or_qt_loaded() -> None:
    import subprocess
    import sys

    code = (
        "import sys, engine.bundle, engine.inspector, engine.overlay, engine.imageio;"
        "import importlib.util as u;"
        "[importlib for importlib in ()];"
        "mods = [m for m in ('engine.sources', 'engine.store', 'engine.batch', 'engine.cli')"
        " if u.find_spec(m)];"
        "[__import__(m) for m in mods];"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'torch', 'torchvision', 'sklearn', 'PySide6'});"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
