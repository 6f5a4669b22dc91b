"""The `station` entry point: the headless subcommands below run engine code only, anything else
opens the window. Qt is imported only for the window, so `station inspect`, `station serve` and
the others run on machines without it."""

from __future__ import annotations

import importlib
import sys

# Subcommand -> the engine module whose main(argv) takes the rest of the command line.
HEADLESS = {
    "inspect": "engine.cli",  # the batch CLI
    "serve": "engine.serve",  # the line service
    "users": "engine.users",  # the users file, from a shell (administrator recovery)
    "export-dataset": "engine.export_dataset",  # reviewed parts in MVTec AD layout
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in HEADLESS:
        return importlib.import_module(HEADLESS[args[0]]).main(args[1:])
    from gui.app import main as gui_main

    return gui_main(args)
