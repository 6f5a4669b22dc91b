"""Breaking the tiny bundle (training/tiny_bundle.py builds it) for the bundle fault tests."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def edit_manifest(bundle_dir: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    """Change a bundle folder's manifest.json in place, bypassing validation, to break it."""
    path = Path(bundle_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
