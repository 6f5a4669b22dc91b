"""engine.recorder: which images each policy saves, where, and what the store row says.

Real inspections of the tiny bundle (a bright square is NG), real SQLite and OpenCV.
"""

import dataclasses
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.bundle import Bundle, load_bundle
from engine.inspector import Inspector
from engine.recorder import Recorder, open_store
from engine.result import InspectionResult, Verdict
from engine.sources import Frame, source_key
from engine.store import ERROR, ResultStore
from training.tiny_bundle import make_tiny_bundle


def _part(ng: bool) -> np.ndarray:
    image = np.full((48, 48, 3), 60, np.uint8)
    if ng:
        image[10:20, 10:20] = 255
    return image


@pytest.fixture(scope="module")
def inspected(tmp_path_factory) -> tuple[Bundle, dict[str, tuple[Frame, InspectionResult]]]:
    """The bundle and one inspected OK and NG frame, read from JPEG files."""
    root = tmp_path_factory.mktemp("recorder")
    bundle = load_bundle(make_tiny_bundle(root / "bundle"))
    inspector = Inspector(bundle, "cpu")
    frames = {}
    for name in ("ok", "ng"):
        path = root / f"{name}.jpg"
        cv2.imwrite(str(path), _part(name == "ng"))
        frame = Frame(f"sub/{name}.jpg", 12.5, str(path), cv2.imread(str(path)))
        frames[name] = (frame, inspector.inspect(frame.image))
    assert frames["ok"][1].verdict is Verdict.OK and frames["ng"][1].verdict is Verdict.NG
    return bundle, frames


@pytest.fixture()
def store(tmp_path: Path) -> ResultStore:
    with open_store(tmp_path / "db") as store:
        yield store


def _record_both(recorder: Recorder, inspected) -> dict[str, object]:
    """Records the OK then the NG frame; returns their rows by frame kind."""
    for frame, result in inspected[1].values():
        assert recorder.record(frame, result).error is None
    rows = recorder.store.records()
    return {row.frame_id.split("/")[1][:2]: row for row in rows}


@pytest.mark.parametrize(
    ("policy", "with_overlay"), [("all", {"ok", "ng"}), ("ng", {"ng"}), ("none", set())]
)
def test_overlay_policy(store, tmp_path, inspected, policy, with_overlay):
    out = tmp_path / "out"
    recorder = Recorder(store, out, "src", inspected[0], overlays=policy, originals="none")
    rows = _record_both(recorder, inspected)
    for kind, row in rows.items():
        if kind in with_overlay:
            assert row.overlay_path == str(out / "overlays" / "sub" / f"{kind}.jpg.png")
            overlay = cv2.imread(row.overlay_path)
            assert overlay.shape == (48, 48, 3)
            assert row.timings_ms["overlay"] > 0
        else:
            assert row.overlay_path is None and "overlay" not in row.timings_ms
        assert row.image_path is None and row.error is None
    saved = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert saved == sorted(f"overlays/sub/{kind}.jpg.png" for kind in with_overlay)


@pytest.mark.parametrize(
    ("policy", "archived"),
    [("all", {"ok": "all", "ng": "ng"}), ("ng", {"ng": "ng"}), ("none", {})],
)
def test_originals_policy_writes_decoded_frames_as_png(
    store, tmp_path, inspected, policy, archived
):
    out = tmp_path / "out"
    recorder = Recorder(store, out, "src", inspected[0], overlays="none", originals=policy)
    rows = _record_both(recorder, inspected)
    for kind, row in rows.items():
        if kind in archived:
            assert row.image_path == str(out / archived[kind] / "sub" / f"{kind}.jpg.png")
            frame = inspected[1][kind][0]
            assert np.array_equal(cv2.imread(row.image_path), frame.image)  # PNG is lossless
            assert row.timings_ms["archive"] > 0
        else:
            assert row.image_path is None and "archive" not in row.timings_ms
        assert row.overlay_path is None
    assert len(list(out.rglob("*.png"))) == len(archived)


def test_originals_of_files_are_copied_byte_for_byte(store, tmp_path, inspected):
    out = tmp_path / "out"
    """Frames read from a file carry its path; their originals are the file itself."""
    recorder = Recorder(store, out, "src", inspected[0], originals="all")
    for frame, result in inspected[1].values():
        recorder.record(dataclasses.replace(frame, path=frame.origin), result)
    rows = {row.frame_id.split("/")[1][:2]: row for row in store.records()}
    for kind, folder in (("ok", "all"), ("ng", "ng")):
        target = out / folder / "sub" / f"{kind}.jpg"  # keeps its suffix, gains no .png
        assert rows[kind].image_path == str(target)
        assert target.read_bytes() == Path(inspected[1][kind][0].origin).read_bytes()


def test_a_row_names_run_source_bundle_and_frame(store, tmp_path, inspected):
    bundle, frames = inspected
    frame, result = frames["ng"]
    recorder = Recorder(store, tmp_path / "out", source_key(tmp_path / "parts"), bundle)
    timings = {"decode": 1.5, **result.timings_ms}
    recorder.record(frame, result, timings)
    row = store.records()[0]
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}", recorder.run_id)
    assert row.run_id == recorder.run_id and row.source == str((tmp_path / "parts").resolve())
    assert (row.bundle_name, row.bundle_digest) == (bundle.name, bundle.digest)
    assert (row.frame_id, row.origin, row.frame_time) == (frame.id, frame.origin, 12.5)
    assert row.verdict == "NG" and row.score == pytest.approx(result.anomaly_score)
    assert row.timings_ms["decode"] == 1.5 and row.timings_ms["overlay"] > 0
    assert "overlay" not in timings and "overlay" not in result.timings_ms  # caller's untouched


def test_an_unwritable_folder_gives_the_error_and_still_stores_the_row(store, tmp_path, inspected):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")  # fails even for root
    recorder = Recorder(store, blocked, "src", inspected[0], overlays="all", originals="all")
    frame, result = inspected[1]["ng"]
    error = recorder.record(frame, result).error
    assert error is not None and error.startswith("output not saved:")
    assert str(blocked) in error
    (row,) = store.records()
    assert (row.verdict, row.error) == ("NG", error)
    assert row.overlay_path is None and row.image_path is None  # nothing was written


def test_failures_of_frames_and_of_sources_are_stored(store, tmp_path, inspected):
    recorder = Recorder(store, tmp_path / "out", "src", inspected[0])
    recorder.record_failure(Frame("bad.png", 3.0, "/parts/bad.png", error="truncated"), "truncated")
    recorder.record_failure(None, "camera 9 cannot be opened", origin="9")
    recorder.record_failure(None, "source gone")
    rows = store.records()
    assert [r.verdict for r in rows] == [ERROR] * 3
    assert [(r.frame_id, r.origin, r.error) for r in rows] == [
        ("bad.png", "/parts/bad.png", "truncated"),
        ("-", "9", "camera 9 cannot be opened"),
        ("-", "src", "source gone"),
    ]
    assert rows[0].frame_time == 3.0 and {r.run_id for r in rows} == {recorder.run_id}
    assert not (tmp_path / "out").exists()  # a failure saves no image


def test_unknown_policy_is_refused(store, tmp_path, inspected):
    with pytest.raises(ValueError, match="originals must be one of"):
        Recorder(store, tmp_path, "src", inspected[0], originals="some")
