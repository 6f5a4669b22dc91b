"""Build the window's translations: extract every text marked for translation in gui/ into
gui/i18n/station_<lang>.ts (pyside6-lupdate keeps the translations already made and drops the
texts no longer used), then compile each into the station_<lang>.qm the window loads
(pyside6-lrelease). Translate in the .ts files (Qt Linguist, or any editor), then run again:

    .venv/bin/python gui/i18n/build.py            # extract and compile
    .venv/bin/python gui/i18n/build.py --compile  # compile only
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
GUI = FOLDER.parent
LANGUAGES = ("en", "de")  # as gui.i18n.LANGUAGES; read here without importing Qt


def tool(name: str) -> str:
    """A PySide6 tool beside this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install PySide6 (pip install pyside6-essentials)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compile", action="store_true", help="only compile the .ts files")
    args = parser.parse_args(argv)
    sources = sorted(str(p) for p in GUI.rglob("*.py") if p.parent.name != "__pycache__")
    for language in LANGUAGES:
        ts = FOLDER / f"station_{language}.ts"
        if not args.compile:
            subprocess.run(
                [tool("pyside6-lupdate"), *sources, "-no-obsolete", "-locations", "none",
                 "-source-language", "en", "-target-language", language, "-ts", str(ts)],
                check=True,
            )  # fmt: skip
        subprocess.run(
            [tool("pyside6-lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
