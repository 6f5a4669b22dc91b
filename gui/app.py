"""`station`: start the inspection station window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from gui.assets import DEFAULT_BUNDLE, apply_style, icon
from gui.main_window import MainWindow
from gui.settings import StationSettings

ORGANIZATION = "InspectionStation"
APPLICATION = "station"


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
        help="camera index, stream URL, video file, image folder or image (default: the last used)",
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
    store = open_settings(args.settings)
    settings = StationSettings.load(store)
    settings.bundle = args.bundle or settings.bundle or str(DEFAULT_BUNDLE)
    if args.source:
        settings.last_source = args.source
    settings.save(store)
    window = MainWindow(store, settings)
    window.resize(1400, 900)
    window.show()
    if args.operator:
        window.set_operator_mode(True)
    window.load_bundle(settings.bundle)
    app.aboutToQuit.connect(window.shutdown)
    return app.exec()
