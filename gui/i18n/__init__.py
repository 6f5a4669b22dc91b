"""The window's languages: English (the source texts) and German, as Qt translation files.

`station_<lang>.ts` are the sources a translator edits (Qt Linguist, or by hand);
`station_<lang>.qm` are what the window loads, compiled by `build.py` beside them. Qt's own
texts (OK, Cancel, file dialogs) come from the `qtbase_<lang>.qm` that PySide6 ships.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

FOLDER = Path(__file__).resolve().parent
LANGUAGES = {"en": "English", "de": "Deutsch"}  # shipped; English needs no translation


def system_language() -> str:
    """The system locale's language where it is shipped, else English."""
    language = QLocale.system().name().split("_")[0]
    return language if language in LANGUAGES else "en"


def install(app: QCoreApplication, language: str = "") -> str:
    """Load the translations of `language` ("" : the system's) into `app` before any window
    is built; returns the language in use. A missing file leaves English, with a warning."""
    language = language or system_language()
    for old in app.findChildren(QTranslator, "stationTranslator"):
        app.removeTranslator(old)
        old.deleteLater()
    if language == "en":
        return language
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name, folder in ((f"station_{language}.qm", FOLDER), (f"qtbase_{language}.qm", qt_folder)):
        translator = QTranslator(app, objectName="stationTranslator")
        if translator.load(str(Path(folder) / name)):
            app.installTranslator(translator)
        else:
            log.warning("%s: translation not found in %s; texts stay English", name, folder)
    return language
