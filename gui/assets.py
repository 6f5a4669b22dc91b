"""Icons and the style sheet, loaded by path from the repository's assets/ folder."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_BUNDLE = ASSETS_DIR / "default_bundle"

log = logging.getLogger(__name__)


@cache
def icon(name: str) -> QIcon:
    """The icon `assets/icons/<name>.svg` (an empty icon, logged, when the file is missing)."""
    path = ASSETS_DIR / "icons" / f"{name}.svg"
    if not path.is_file():
        log.warning("icon %s is missing", path)
        return QIcon()
    return QIcon(str(path))


def apply_style(app: QApplication) -> None:
    """Apply `assets/style.qss`; the station still runs (unstyled) when it is missing."""
    path = ASSETS_DIR / "style.qss"
    try:
        app.setStyleSheet(path.read_text(encoding="utf-8"))
    except OSError as exc:
        log.warning("style sheet %s not loaded: %s", path, exc)
