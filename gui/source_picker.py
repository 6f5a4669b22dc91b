"""Choosing a source: what kind a spec is, and the dialogs that ask for one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from engine.sources import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, classify


def describe(spec: str) -> str:
    kind = classify(spec)
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
        text=current if classify(current) == "camera" else "0",
    )
    return text.strip() if ok else ""
