"""The `station` entry point: `station inspect ...` is the headless batch CLI, `station serve ...`
the headless line service, anything else the window. Qt is imported only for the window, so
`station inspect` and `station serve` run on machines without it."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "inspect":
        from engine.cli import main as inspect_main

        return inspect_main(args[1:])
    if args and args[0] == "serve":
        from engine.serve import main as serve_main

        return serve_main(args[1:])
    from gui.app import main as gui_main

    return gui_main(args)
