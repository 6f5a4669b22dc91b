"""Choosing a source or any other path: what kind a spec is, the one check every path from a
dialog or a typed field passes, and the dialogs that ask for one.

The dialogs are Qt's own (not the platform's), opened with `open()`: the window's event loop,
and with it the display of the station's results, keeps running while one is open. Qt's file
dialog reads a file's first bytes to name its type, which on /proc/kmsg or a FIFO never returns,
so the dialogs name types by extension only.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable
from enum import Enum
from functools import cache
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QFileInfo, Qt, Signal
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFileIconProvider,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.cameras.spec import PRODUCER_PATH_VARIABLE, list_all
from engine.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, classify, special_kind

log = logging.getLogger(__name__)

# Files there are the kernel's: reading one can block for ever (/proc/kmsg) or never end.
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


Take = Callable[[str], None]  # what a dialog hands its path, or its refusal, to
SPEC_ROLE = Qt.ItemDataRole.UserRole  # a listed camera's spec


class PathRefused(ValueError):
    """A path the station will not read; the message names the path and why."""


class Wanted(Enum):
    """What a dialog asks for."""

    FILE = "file"  # an existing file
    FOLDER = "folder"  # an existing folder
    NEW_FILE = "new file"  # a file to write, which may not exist yet


KIND_NAMES = {  # classify's kinds, translated where shown
    "folder": QT_TRANSLATE_NOOP("source_picker", "folder"),
    "video": QT_TRANSLATE_NOOP("source_picker", "video"),
    "image": QT_TRANSLATE_NOOP("source_picker", "image"),
}


def describe(spec: str) -> str:
    """A source as the window names it: its kind (in the window's language) and its name."""
    kind = classify(spec)
    if kind == "camera":
        return QCoreApplication.translate("source_picker", "camera {spec}").format(spec=spec)
    name = QCoreApplication.translate("source_picker", KIND_NAMES[kind])
    return f"{name}: {Path(spec).name or spec}"


def check_path(text: str, *, camera: bool = False, missing_ok: bool = False) -> str:
    """`text` stripped, when the station may read it: an existing regular file or folder, or
    (with `camera`) a camera index or stream URL; with `missing_ok` also a path not there yet
    (an output folder, a file to write). Anything else raises PathRefused naming the path.

    Only looks the path up (stat), never opens it: opening a FIFO, a device or /proc/kmsg
    blocks the thread that does it, and a blocked loader or run stops the station."""
    spec = text.strip()
    if not spec:
        raise PathRefused("no path given")
    if camera and classify(spec) == "camera":
        return spec
    path = Path(spec).expanduser()
    for candidate in (path.absolute(), Path(os.path.realpath(path))):
        root = next((r for r in SYSTEM_ROOTS if candidate.is_relative_to(r)), None)
        if root is not None:
            raise PathRefused(f"{spec}: under {root}, a system folder the station does not read")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if missing_ok:
            return spec
        raise PathRefused(f"{spec}: no such file or folder") from None
    except OSError as exc:
        raise PathRefused(f"{spec}: cannot be looked at ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return spec
    raise PathRefused(
        f"{spec}: {special_kind(mode)}, not a file or folder; the station does not read it"
    )


def start_folder(start: str) -> str:
    """Where a dialog opens: `start`'s folder when it may be listed, else the home folder.
    Never empty: Qt would then open the folder last visited, which may be /proc."""
    for candidate in (Path(start), Path(start).parent) if start.strip() else ():
        try:
            if Path(check_path(str(candidate))).is_dir():
                return str(candidate)
        except PathRefused:
            continue
    return str(Path.home())


class _NamesByExtension(QFileIconProvider):
    """Types and icons from the name alone. Qt's own provider reads a file's first bytes when
    its extension says nothing, which never returns on /proc/kmsg or a FIFO."""

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return QCoreApplication.translate("source_picker", "Folder")
        suffix = info.suffix()
        if not suffix:
            return QCoreApplication.translate("source_picker", "File")
        kind_file = QCoreApplication.translate("source_picker", "{kind} file")
        return kind_file.format(kind=suffix.upper())

    def icon(self, what: QFileInfo | QAbstractFileIconProvider.IconType) -> QIcon:
        if isinstance(what, QFileInfo):
            folder = QAbstractFileIconProvider.IconType.Folder
            what = folder if what.isDir() else QAbstractFileIconProvider.IconType.File
        return super().icon(what)


@cache
def _icon_provider() -> QFileIconProvider:
    """One for all dialogs: a dialog does not own its provider, which must outlive it."""
    provider = _NamesByExtension()
    provider.setOptions(QFileIconProvider.Option.DontUseCustomDirectoryIcons)
    return provider


def _checked(chosen: Take, refused: Take, **options: bool) -> Take:
    """What a dialog hands its answer to: `check_path` first, then `chosen` or `refused`."""

    def deliver(text: str) -> None:
        try:
            checked = check_path(text, **options)
        except PathRefused as exc:
            refused(str(exc))
            return
        chosen(checked)

    return deliver


def ask_path(
    parent: QWidget,
    title: str,
    start: str,
    chosen: Take,
    refused: Take,
    wanted: Wanted = Wanted.FILE,
    name_filter: str = "",
) -> QFileDialog:
    """Open a file dialog and return at once; the path chosen goes to `chosen` once
    `check_path` accepts it, else the reason goes to `refused`. Cancel calls neither."""
    dialog = QFileDialog(parent, title, start_folder(start), name_filter)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setIconProvider(_icon_provider())
    if wanted is Wanted.FOLDER:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    elif wanted is Wanted.NEW_FILE:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite)
        if Path(start).suffix:  # a default file name, e.g. results.csv
            dialog.selectFile(Path(start).name)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.fileSelected.connect(_checked(chosen, refused, missing_ok=wanted is Wanted.NEW_FILE))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def _filter(name: str, extensions: frozenset[str]) -> str:
    patterns = " ".join("*" + e for e in sorted(extensions))
    everything = QCoreApplication.translate("source_picker", "All files (*)")
    return f"{name} ({patterns});;{everything}"


def ask_image(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    filter_ = _filter(QCoreApplication.translate("source_picker", "Images"), IMAGE_EXTENSIONS)
    title = QCoreApplication.translate("source_picker", "Inspect an image")
    return ask_path(parent, title, start, chosen, refused, Wanted.FILE, filter_)


def ask_folder(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    title = QCoreApplication.translate("source_picker", "Inspect a folder of images")
    return ask_path(parent, title, start, chosen, refused, Wanted.FOLDER)


def ask_video(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    filter_ = _filter(QCoreApplication.translate("source_picker", "Videos"), VIDEO_EXTENSIONS)
    title = QCoreApplication.translate("source_picker", "Inspect a video")
    return ask_path(parent, title, start, chosen, refused, Wanted.FILE, filter_)


class CameraDialog(QDialog):
    """Asks for a camera: an OpenCV index or stream URL typed in, or an industrial camera picked
    from those pylon and the GenTL producers find (`engine.cameras.spec.list_all`). The search
    runs on a thread of its own: looking for GigE cameras takes seconds, and the window's
    results go on meanwhile. What is chosen passes `check_path` before `chosen` gets it."""

    found = Signal(object, object)  # (CameraInfo list, problem lines), from the search thread

    def __init__(self, parent: QWidget | None, current: str, chosen: Take, refused: Take) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Camera"))
        self.spec = QLineEdit(current if classify(current) == "camera" else "0")
        self.spec.setMinimumWidth(460)
        self.producer = QLineEdit()
        self.producer.setPlaceholderText(
            self.tr("the .cti of the camera's SDK (empty: those on {variable})").format(
                variable=PRODUCER_PATH_VARIABLE
            )
        )
        self.cameras = QListWidget()
        self.cameras.itemClicked.connect(lambda item: self.spec.setText(item.data(SPEC_ROLE)))
        self.cameras.itemDoubleClicked.connect(lambda _: self.accept())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.search_button = QPushButton(self.tr("Search again"))
        self.search_button.clicked.connect(self.search)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("GenTL producer:"), self.producer)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Industrial cameras found (pylon, GenICam):")))
        layout.addWidget(self.cameras)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.search_button)
        layout.addWidget(
            QLabel(
                self.tr(
                    "Camera: pylon:SERIAL, genicam:SERIAL@producer.cti, index (0, 1, …) or URL:"
                )
            )
        )
        layout.addWidget(self.spec)
        layout.addWidget(buttons)
        self.found.connect(self._show)
        self.accepted.connect(lambda: _checked(chosen, refused, camera=True)(self.spec.text()))
        self.finished.connect(self.deleteLater)
        self.search()

    def search(self) -> None:
        """Look for cameras on a thread; the list fills in when it is done."""
        self.search_button.setEnabled(False)
        self.status.setText(self.tr("Searching for cameras…"))
        producer = self.producer.text().strip() or None
        found = self.found  # the signal, not the dialog: the thread must not touch widgets

        def look() -> None:
            cameras, problems = list_all(producer)
            try:
                found.emit(cameras, problems)
            except RuntimeError:  # the dialog was closed (and deleted) before the search ended
                log.debug("camera search ended after its dialog closed")

        # Not a daemon: killed inside the camera SDK at exit, it would abort the process.
        self.searching = threading.Thread(target=look, name="camera-search")
        self.searching.start()

    def _show(self, cameras: list, problems: list[str]) -> None:
        self.cameras.clear()
        for camera in cameras:
            backend = camera.spec.partition(":")[0]
            who = self.tr("serial {serial}").format(serial=camera.serial)
            who += f", {camera.user_id}" if camera.user_id else ""
            item = QListWidgetItem(f"{backend}: {camera.model}, {who} ({camera.device_class})")
            item.setData(SPEC_ROLE, camera.spec)
            item.setToolTip(camera.spec)
            self.cameras.addItem(item)
        found = (
            self.tr("{count} camera(s) found.").format(count=len(cameras))
            if cameras
            else self.tr("No industrial camera found.")
        )
        self.status.setText("\n".join([found, *problems]))
        self.search_button.setEnabled(True)


def ask_camera(parent: QWidget, current: str, chosen: Take, refused: Take) -> CameraDialog:
    """Open the camera dialog (`CameraDialog`) and return at once, as the file dialogs do."""
    dialog = CameraDialog(parent, current, chosen, refused)
    dialog.open()
    return dialog
