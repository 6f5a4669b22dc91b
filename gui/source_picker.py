"""Choosing a source or any other path: what kind a spec is, the one check every path from a
dialog or a typed field passes, and the dialogs that ask for one.

The dialogs are Qt's own (not the platform's), opened with `open()`: the window's event loop,
and with it the display of the station's results, keeps running while one is open. Qt's file
dialog reads a file's first bytes to name its type, which on /proc/kmsg or a FIFO never returns,
so the dialogs name types by extension only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from enum import Enum
from functools import cache
from pathlib import Path

from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QInputDialog, QWidget

from engine.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, classify, special_kind

# Files there are the kernel's: reading one can block for ever (/proc/kmsg) or never end.
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


Take = Callable[[str], None]  # what a dialog hands its path, or its refusal, to


class PathRefused(ValueError):
    """A path the station will not read; the message names the path and why."""


class Wanted(Enum):
    """What a dialog asks for."""

    FILE = "file"  # an existing file
    FOLDER = "folder"  # an existing folder
    NEW_FILE = "new file"  # a file to write, which may not exist yet


def describe(spec: str) -> str:
    kind = classify(spec)
    if kind == "camera":
        return f"camera {spec}"
    return f"{kind}: {Path(spec).name or spec}"


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
            return "Folder"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix else "File"

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
    return f"{name} ({' '.join('*' + e for e in sorted(extensions))});;All files (*)"


def ask_image(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    filter_ = _filter("Images", IMAGE_EXTENSIONS)
    return ask_path(parent, "Inspect an image", start, chosen, refused, Wanted.FILE, filter_)


def ask_folder(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    title = "Inspect a folder of images"
    return ask_path(parent, title, start, chosen, refused, Wanted.FOLDER)


def ask_video(parent: QWidget, start: str, chosen: Take, refused: Take) -> QFileDialog:
    filter_ = _filter("Videos", VIDEO_EXTENSIONS)
    return ask_path(parent, "Inspect a video", start, chosen, refused, Wanted.FILE, filter_)


def ask_camera(parent: QWidget, current: str, chosen: Take, refused: Take) -> QInputDialog:
    """Ask for a camera index or stream URL (or any source typed there), opened like the file
    dialogs; what is typed passes `check_path` before `chosen` gets it."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Camera")
    dialog.setLabelText("Camera index (0, 1, …) or stream URL (rtsp://…, http://…):")
    dialog.setTextValue(current if classify(current) == "camera" else "0")
    dialog.textValueSelected.connect(_checked(chosen, refused, camera=True))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
