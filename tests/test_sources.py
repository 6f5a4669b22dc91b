"""Frame sources against real files, real videos written by OpenCV and real capture failures."""

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.sources import (
    CameraSource,
    FolderSource,
    ImageFileSource,
    SourceDisconnected,
    SourceError,
    VideoFileSource,
    natural_key,
    open_source,
)


def _write(path: Path, value: int = 0, size: tuple[int, int] = (12, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))
    return path


def _write_video(path: Path, frames: int = 6, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((24, 32, 3), (i * 40) % 256, np.uint8))
    writer.release()
    return path


def test_natural_key_orders_numbers_by_value():
    names = ["img10.png", "img2.png", "IMG1.png", "img2b.png"]
    assert sorted(names, key=natural_key) == ["IMG1.png", "img2.png", "img2b.png", "img10.png"]


def test_image_file_yields_one_frame_with_file_name_as_id(tmp_path):
    path = _write(tmp_path / "part.png", 7)
    with open_source(str(path)) as source:
        assert isinstance(source, ImageFileSource)
        frames = list(source)
    assert [f.id for f in frames] == ["part.png"]
    assert frames[0].origin == str(path) and frames[0].error is None
    assert frames[0].image.shape == (12, 16, 3) and int(frames[0].image[0, 0, 0]) == 7
    assert abs(frames[0].timestamp - time.time()) < 60


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"hello, not an image", "not a readable image")],
)
def test_bad_image_file_gives_error_frame(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    (frame,) = list(open_source(path))
    assert frame.image is None and reason in frame.error and frame.origin == str(path)


def test_folder_natural_sort_recursive_ids_and_bad_files(tmp_path):
    for name in ["b/img10.png", "b/img2.png", "a.png", "b/img1.jpg"]:
        _write(tmp_path / name)
    full = (tmp_path / "a.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(full[: len(full) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(full)
    with open_source(tmp_path) as source:
        assert isinstance(source, FolderSource)
        assert source.expected == 6
        frames = list(source)
    assert [f.id for f in frames] == [
        "a.png",
        "b/img1.jpg",
        "b/img2.png",
        "b/img10.png",
        "empty.png",
        "truncated.png",
    ]
    errors = {f.id: f.error for f in frames if f.error}
    assert set(errors) == {"empty.png", "truncated.png"}
    assert "empty" in errors["empty.png"]
    assert all(f.image is not None for f in frames if not f.error)
    assert source.skipped == ["notes.txt"]


def test_folder_unreadable_entry_becomes_error_frame_and_iteration_goes_on(tmp_path):
    # Tests run as root, where chmod cannot make a folder unreadable; a symlink loop can:
    # every stat of it fails with ELOOP.
    _write(tmp_path / "a.png")
    _write(tmp_path / "z.png")
    os.symlink("loop", tmp_path / "loop")
    frames = list(open_source(tmp_path))
    assert [f.id for f in frames] == ["a.png", "loop", "z.png"]
    assert "symbolic links" in frames[1].error and frames[1].image is None


def test_folder_done_and_exclude(tmp_path):
    for name in ["1.png", "2.png", "3.png", "out/overlay.png"]:
        _write(tmp_path / name)
    source = open_source(tmp_path, done={"2.png": None}, exclude=[tmp_path / "out"])
    assert [f.id for f in source] == ["1.png", "3.png"]


def test_missing_path_and_file_as_folder_raise_source_error(tmp_path):
    with pytest.raises(SourceError, match=r"missing\.png: not found"):
        open_source(tmp_path / "missing.png")
    _write(tmp_path / "x.png")
    with pytest.raises(SourceError, match="not a folder"):
        FolderSource(tmp_path / "x.png")


def test_folder_watch_picks_up_new_files_until_closed(tmp_path):
    _write(tmp_path / "first.png")
    source = open_source(tmp_path, watch=True, poll_interval=0.02)
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.extend(f.id for f in source))
    worker.start()
    deadline = time.monotonic() + 5
    while "first.png" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    _write(tmp_path / "second.png")
    while "second.png" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    source.close()
    worker.join(timeout=2)
    assert not worker.is_alive(), "watching folder did not stop on close()"
    assert seen == ["first.png", "second.png"]


def test_folder_watch_stops_on_external_event(tmp_path):
    stop = threading.Event()
    source = open_source(tmp_path, watch=True, stop=stop, poll_interval=0.02)
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    assert list(source) == []
    assert time.monotonic() - started < 2


def test_video_frames_ids_positions_and_resume(tmp_path):
    path = _write_video(tmp_path / "clip.avi", frames=6, fps=10.0)
    with open_source(path) as source:
        assert isinstance(source, VideoFileSource)
        assert source.expected == 6
        frames = list(source)
    assert [f.id for f in frames] == [str(i) for i in range(6)]
    assert [round(f.timestamp, 3) for f in frames] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    brightness = [int(f.image.mean()) for f in frames]
    assert brightness == sorted(brightness) and brightness[-1] > brightness[0] + 150
    resumed = list(open_source(path, done=dict.fromkeys(["0", "1", "2"])))
    assert [f.id for f in resumed] == ["3", "4", "5"]
    assert abs(int(resumed[0].image.mean()) - brightness[3]) <= 2


def test_corrupt_video_raises_source_error(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError, match=r"broken\.mp4"):
        open_source(path)


def test_missing_camera_index_fails_fast():
    started = time.monotonic()
    with pytest.raises(SourceError, match="camera 57"):
        open_source("57")
    assert time.monotonic() - started < 5


def test_camera_url_that_cannot_connect_fails_within_timeout():
    # Nothing listens on port 9 of localhost: the connection is refused at once, and the open
    # timeout bounds the wait even if it were not.
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"rtsp://127\.0\.0\.1:9/stream"):
        CameraSource("rtsp://127.0.0.1:9/stream", timeout_ms=2000)
    assert time.monotonic() - started < 10


def test_camera_dropping_out_raises_source_disconnected(tmp_path):
    # A video file stands in for a camera: when it ends, the camera has stopped delivering.
    path = _write_video(tmp_path / "camera.avi", frames=4)
    camera = CameraSource(str(path), retries=2, retry_delay=0.01)
    seen = []
    started = time.monotonic()
    with camera, pytest.raises(SourceDisconnected, match=r"camera\.avi"):
        for frame in camera:
            seen.append(frame.id)
            assert frame.image is not None and frame.origin == str(path)
    assert seen == ["0", "1", "2", "3"]
    assert time.monotonic() - started < 5


def test_camera_closed_from_another_thread_ends_iteration(tmp_path):
    path = _write_video(tmp_path / "camera.avi", frames=200)
    camera = CameraSource(str(path))
    threading.Timer(0.05, camera.close).start()
    count = 0
    for _ in camera:  # must end without SourceDisconnected
        count += 1
        time.sleep(0.01)
    assert 0 < count < 200
