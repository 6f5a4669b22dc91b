"""`station`: start the inspection station window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.assets import DEFAULT_BUNDLE, apply_style, icon
from gui.i18n import install as install_translations
from gui.main_window import MainWindow
from gui.settings import StationSettings

ORGANIZATION = "InspectionStation"
APPLICATION = "station"

log = logging.getLogger(__name__)


def pyside_drops_none_references() -> bool:
    """True where PySide6 loses a reference to None on every call of a void method.

    PySide6 6.12.0 does this on Python 3.11 (None is only immortal from 3.12 on): the station
    then dies with 'deallocating None' after a few hundred frames. Probed, not version-matched,
    so a fixed or newly broken build is judged by what it does.
    """
    if sys.version_info >= (3, 12):
        return False
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 50


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="station",
        description=(
            "Inspection station window: runs a model bundle on a camera, video, folder or image "
            "and shows OK / NG. `station inspect ...` runs the batch inspection without a window "
            "(see `station inspect --help`)."
        ),
    )
    parser.add_argument(
        "--bundle",
        help=f"model bundle folder or .zip (default: the last one used, else {DEFAULT_BUNDLE})",
    )
    parser.add_argument(
        "--source",
        help="camera index, stream URL, video file, image folder or image, inspected as soon as "
        "the bundle is loaded (default: the last one used, which waits for Start)",
    )
    parser.add_argument(
        "--recipes",
        metavar="TOML",
        help="recipe file (docs/station-core.md); its recipe's bundle replaces --bundle",
    )
    parser.add_argument(
        "--recipe", metavar="ID", help="the recipe to start with (default: the file's)"
    )
    parser.add_argument("--operator", action="store_true", help="start in operator mode")
    parser.add_argument(
        "--settings",
        metavar="INI",
        help="keep settings in this INI file instead of the user's settings (e.g. for a demo)",
    )
    return parser.parse_args(argv)


def open_settings(path: str | None) -> QSettings:
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(icon("station"))
    apply_style(app)
    if pyside_drops_none_references():
        message = (
            f"PySide6 {PYSIDE_VERSION} on Python {sys.version.split()[0]} has a reference-counting "
            "bug that crashes the station after a few minutes of inspection. Install another "
            "version, e.g.: pip install 'pyside6-essentials<6.12'"
        )
        log.critical("%s", message)
        QMessageBox.critical(None, "Inspection Station cannot start", message)
        return 2
    store = open_settings(args.settings)
    settings = StationSettings.load(store)
    install_translations(app, settings.language)  # before any widget is built
    settings.bundle = args.bundle or settings.bundle or str(DEFAULT_BUNDLE)
    if args.source:
        settings.last_source = args.source
    if args.recipes:
        settings.recipes_file = args.recipes
    if args.recipe:
        settings.recipe_id = args.recipe
    settings.save(store)
    window = MainWindow(store, settings)
    window.resize(1400, 900)
    window.show()
    if args.operator:
        window.set_operator_mode(True)
    window.access.first_start()  # no administrator yet: make one now, deliberately
    window.start_when_loaded = bool(args.source)
    window.load_bundle(window.bundle_path())
    app.aboutToQuit.connect(window.shutdown)
    return app.exec()
