"""Writing the GUI's inspections to the engine's results store and archive folder.

The station uses one store for all its runs (`<output>/results.sqlite`, the same file name as a
batch CLI run), so counters survive a restart. Each run archives under `<output>/<run id>/`
with the batch CLI's folder names and file naming (`engine.batch.output_name`).
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import numpy as np

from engine.batch import DB_NAME, NG_DIR, OVERLAY_DIR, output_name, source_key
from engine.imageio import write_image
from engine.inspector import Inspector
from engine.overlay import render_overlay
from engine.result import InspectionResult, Verdict
from engine.sources import Frame
from engine.store import ResultStore

log = logging.getLogger(__name__)

ALL_DIR = "all"  # originals of every part, when the engineer archives all


def open_store(output_dir: str | Path) -> ResultStore:
    """The station's store; raises StoreError (or OSError) naming the file."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return ResultStore(folder / DB_NAME)


class RunRecorder:
    """Records one run's frames: a store row each, and the images the archive policy asks for.

    Called from the worker thread; the store serialises its own access.
    """

    def __init__(
        self,
        store: ResultStore,
        inspector: Inspector,
        spec: str,
        output_dir: str | Path,
        archive: str,
        overlay_mode: str = "mask",
    ) -> None:
        self.store, self.archive, self.overlay_mode = store, archive, overlay_mode
        self.source = source_key(spec)
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.run_dir = Path(output_dir) / self.run_id
        self.bundle_name = inspector.bundle.name
        self.bundle_digest = inspector.bundle.digest

    def _common(self, frame_id: str, origin: str) -> dict[str, str]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "frame_id": frame_id,
            "origin": origin,
            "bundle_name": self.bundle_name,
            "bundle_digest": self.bundle_digest,
        }

    def record(self, frame: Frame, result: InspectionResult, overlay: np.ndarray) -> None:
        is_ng = result.verdict is Verdict.NG
        image_path = overlay_path = error = None
        if self.archive == "all" or (self.archive == "ng" and is_ng):
            name = output_name(frame.id)
            try:
                image_path = self.run_dir / (NG_DIR if is_ng else ALL_DIR) / name
                _write(image_path, frame.image)
                overlay_path = self.run_dir / OVERLAY_DIR / name
                _write(overlay_path, render_overlay(frame.image, result, self.overlay_mode))
            except OSError as exc:
                error = f"archive not saved: {exc}"
                log.error("%s: %s", frame.origin, error)
        self.store.add_result(
            result,
            frame_time=frame.timestamp,
            image_path=_str(image_path),
            overlay_path=_str(overlay_path),
            error=error,
            **self._common(frame.id, frame.origin),
        )
        if error:
            raise OSError(error)

    def record_error(self, frame_id: str, origin: str, message: str) -> None:
        self.store.add_failure(error=message, **self._common(frame_id, origin))


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, image)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
