"""Synthetic parts for the tests: small images the tiny bundle (training/tiny_bundle.py) judges
OK (dark) or NG (a bright square), written as folders of files or as a video."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np


def part(ng: bool, size: int = 48) -> np.ndarray:
    image = np.full((size, size, 3), 60, np.uint8)
    if ng:
        image[10:20, 10:20] = 255
    return image


def make_folder(root: Path, ok: int = 3, ng: int = 2) -> Path:
    """`ok` OK parts then `ng` NG parts: ok_0.png ..., ng_0.png ..."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(ok):
        cv2.imwrite(str(root / f"ok_{i}.png"), part(False))
    for i in range(ng):
        cv2.imwrite(str(root / f"ng_{i}.png"), part(True))
    return root


def write_parts(root: Path, verdicts: str, draw: Callable[[bool], np.ndarray] = part) -> Path:
    """One PNG per letter of `verdicts` (O: OK part, N: NG part), part_00.png, ... in order."""
    root.mkdir(parents=True, exist_ok=True)
    for i, letter in enumerate(verdicts):
        cv2.imwrite(str(root / f"part_{i:02d}.png"), draw(letter == "N"))
    return root


def write_video(
    path: Path,
    frames: int,
    fps: float = 30.0,
    draw: Callable[[bool], np.ndarray] = part,
    ng_every: int = 3,
) -> Path:
    """An MJPG video whose frames 0, ng_every, 2 * ng_every, ... are NG parts."""
    size = draw(False).shape[1::-1]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(draw(index % ng_every == 0))
    writer.release()
    return path
