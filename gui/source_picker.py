"""Choosing a source: what kind a spec is, and the dialogs that ask for one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from engine.sources import CAMERA_URL_SCHEMES, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

LIVE_KINDS = ("camera", "video")


def source_kind(spec: str) -> str:
    """'camera', 'video', 'folder' or 'image', by the rules engine.sources.open_source uses."""
    if spec.isdigit() or urlsplit(spec).scheme.lower() in CAMERA_URL_SCHEMES:
        return "camera"
    path = Path(spec)
    if path.is_dir():
        return "folder"
    return "video" if path.suffix.lower() in VIDEO_EXTENSIONS else "image"


def describe(spec: str) -> str:
    kind = source_kind(spec)
    if kind == "camera":
        return f"camera {spec}"
    return f"{kind}: {Path(spec).name or spec}"


def _filter(name: str, extensions: frozenset[str]) -> str:
    return f"{name} ({' '.join('*' + e for e in sorted(extensions))});;All files (*)"


def ask_image(parent: QWidget, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Inspect an image", start, _filter("Images", IMAGE_EXTENSIONS)
    )
    return path


def ask_folder(parent: QWidget, start: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, "Inspect a folder of images", start)


def ask_video(parent: QWidget, start: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Inspect a video", start, _filter("Videos", VIDEO_EXTENSIONS)
    )
    return path


def ask_camera(parent: QWidget, current: str = "0") -> str:
    text, ok = QInputDialog.getText(
        parent,
        "Camera",
        "Camera index (0, 1, …) or stream URL (rtsp://…, http://…):",
        text=current if source_kind(current) == "camera" else "0",
    )
    return text.strip() if ok else ""
