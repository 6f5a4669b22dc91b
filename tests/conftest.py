"""Shared fixtures. Qt runs offscreen so tests need no display."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

from tests.synthetic_mvtec import write_tiny_mvtec
from training.tiny_bundle import make_tiny_bundle


@pytest.fixture(scope="session")
def tiny_mvtec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Category folder of a tiny MVTec-layout dataset (read-only by convention)."""
    return write_tiny_mvtec(tmp_path_factory.mktemp("mvtec"))


@pytest.fixture()
def qsettings(tmp_path: Path):
    """QSettings in an INI file under tmp_path: the user's own settings are never touched."""
    from PySide6.QtCore import QSettings  # here, so tests without Qt never import it

    return QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)


@pytest.fixture()
def tiny_bundle(tmp_path: Path) -> Path:
    """A fresh tiny bundle folder with both models; tests may modify it."""
    return make_tiny_bundle(tmp_path / "bundle")
