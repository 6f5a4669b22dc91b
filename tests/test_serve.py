"""`station serve`: config checks by field, the service loop on real parts, the stdin protocol,
signals and exit codes. The tiny bundle calls an image NG when it has bright pixels, so dark
images are OK parts and images with a white square are NG parts.

Every subprocess is bounded by timeouts; stderr goes to a file so a chatty log cannot fill a
pipe and block the service.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from engine.serve import ProtocolError, main, parse_line, read_lines, serve
from engine.service_config import ConfigError, Overrides, load_config
from engine.store import ResultStore
from tests.parts import part, write_parts, write_video
from training.tiny_bundle import make_tiny_bundle

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 20  # any one wait for the service; the tests take a second or two each
NO_QT_LAUNCHER = (
    "import sys; from gui.launcher import main; rc = main(sys.argv[1:]); "
    "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'; "
    "sys.exit(rc)"
)


def _config(folder: Path, text: str) -> Path:
    """station.toml in `folder`: paths in it are relative to that folder."""
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _basic(folder: Path, source: str = "parts", trigger: str = "continuous", extra: str = ""):
    return _config(
        folder,
        f"""
[station]
name = "test-line"
out = "out"
log_file = "logs/station.log"

[source]
spec = "{source}"
trigger = "{trigger}"
{extra}

[recipe]
id = "tiny"
bundle = "bundle"
overlays = "ng"
""",
    )


def _rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return db.execute(
            "SELECT frame_id, verdict, part_id, recipe_id, error FROM inspections ORDER BY id"
        ).fetchall()


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- configuration --------------------------------------------------------------------------


def test_check_valid_config_prints_one_line_and_starts_nothing(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "ON")
    config = _basic(tmp_path)
    assert main(["--check", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and f"{config}: OK: station 'test-line', recipe tiny" in out
    assert str(tmp_path / "parts") in out and "continuous trigger" in out
    assert not err
    assert not (tmp_path / "out").exists(), "--check must not create the results folder"


def test_check_reports_every_bad_field_by_name(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "O")
    config = _config(
        tmp_path,
        """
[station]
out = "out"
drop_alarm_share = 2
trigger_timeout_s = 0
log_level = "LOUD"
colour = "blue"

[source]
spec = "parts"
trigger = "sometimes"
realtime = "yes"

[recipe]
bundle = "bundle"
overlays = "some"

[recipe.thresholds]
image_threshold = -1
size = 3
""",
    )
    assert main(["--check", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert not out
    lines = err.splitlines()
    expected = [
        f"{config}: source.trigger: 'sometimes' is not one of continuous, software, file",
        f"{config}: station.drop_alarm_share: must be a number ≥ 0 and ≤ 1, got 2",
        f"{config}: station.trigger_timeout_s: must be a number > 0, got 0",
        f"{config}: station.log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR",
        f"{config}: source.realtime: must be true or false, got 'yes'",
        f"{config}: recipe.overlays: 'some' is not one of all, ng, none",
        f"{config}: recipe.thresholds.image_threshold: must be a number ≥ 0, got -1",
    ]
    for line in expected:
        assert line in lines, f"missing {line!r} in:\n{err}"
    assert any(line.startswith(f"{config}: station.colour: unknown field") for line in lines)
    assert any(line.startswith(f"{config}: recipe.thresholds.size: unknown") for line in lines)
    assert len(lines) == len(expected) + 2


def test_check_names_missing_files_and_unwritable_out(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "recipes.toml").write_text('[recipes.a]\nbundle = "gone"\n')
    config = _config(
        tmp_path,
        """
[station]
out = "a-file/out"

[source]
spec = "no-such-folder"

[recipes]
file = "recipes.toml"
recipe = "b"
""",
    )
    assert main(["--check", "--config", str(config)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert sorted(lines) == sorted(
        [
            f"{config}: recipes.recipe: {tmp_path}/recipes.toml: no recipe with id 'b' (known: a)",
            f"{config}: station.out: {tmp_path}/a-file/out: cannot be created "
            f"({tmp_path}/a-file is not a folder)",
            f"{config}: source.spec: {tmp_path}/no-such-folder: not found",
        ]
    )
    # the recipe that exists names its missing bundle once chosen (from the command line)
    assert main(["--check", "--config", str(config), "--recipe", "a"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert f"{config}: recipes.file: {tmp_path}/gone: bundle not found" in lines


def test_check_command_line_overrides_and_a_broken_bundle(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "O")
    config = _basic(tmp_path)
    (tiny_bundle / "manifest.json").write_text("{ not json")
    assert main(["--check", "--config", str(config), "--trigger", "file"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1  # the file trigger is fine on a folder; the bundle is not
    assert lines[0].startswith(f"{config}: recipe.bundle: {tiny_bundle}/manifest.json: not valid")
    with pytest.raises(ConfigError) as caught:
        load_config(config, Overrides(source=str(tmp_path / "nothing"), trigger="file"))
    assert caught.value.errors == [
        f"{config}: source.spec: {tmp_path}/nothing: not found (from --source)"
    ]


def test_file_trigger_needs_a_folder_and_realtime_a_video(tmp_path, tiny_bundle):
    cv2.imwrite(str(tmp_path / "one.png"), part(False))
    config = _basic(tmp_path, source="one.png", trigger="file", extra="realtime = true")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.errors == [
        f"{config}: source.trigger: 'file' watches a folder; source.spec is an image",
        f"{config}: source.realtime: plays a video file as a camera; source.spec is an image",
    ]


def test_command_line_alone_is_a_config(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "O")
    args = ["--bundle", str(tiny_bundle), "--source", str(tmp_path / "parts")]
    assert main(["--check", *args]) == 2
    assert capsys.readouterr().err.strip() == (
        "station serve: station.out: missing (the results folder; or give --out)"
    )
    assert main(["--check", *args, "--out", str(tmp_path / "o")]) == 0
    assert "recipe bundle (bundle " in capsys.readouterr().out


def test_example_config_is_valid():
    done = subprocess.run(
        [sys.executable, "-m", "engine.serve", "--check", "--config", "docs/station.example.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "OK: station 'example-line', recipe metal_nut" in done.stdout


# --- the stdin protocol ---------------------------------------------------------------------


def test_stdin_line_syntax():
    assert parse_line("A-12\n") == ("trigger", "A-12")
    assert parse_line("  \n") == ("trigger", None)
    assert parse_line("!status") == ("status", None)
    assert parse_line("!RECIPE  strict ") == ("recipe", "strict")
    assert parse_line("!trigger !odd-id") == ("trigger", "!odd-id")
    for bad in ("!bogus", "!recipe", "!halt now"):
        with pytest.raises(ProtocolError):
            parse_line(bad)


def test_read_lines_splits_chunks_and_keeps_a_last_unterminated_line():
    read, write = os.pipe()
    os.write(write, b"a\nb" + "ä\n\nlast".encode())
    os.close(write)
    assert list(read_lines(read, chunk=2)) == ["a", "bä", "", "last"]
    os.close(read)


# --- running ---------------------------------------------------------------------------------


def test_serve_folder_continuous_end_to_end(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "ONOON")
    config = _basic(tmp_path)
    assert main(["--config", str(config)]) == 0  # the folder is done: the service ends, 0
    out, err = capsys.readouterr()
    events = _json_lines(out)
    results = [e for e in events if e["event"] == "result"]
    assert [r["verdict"] for r in results] == ["OK", "NG", "OK", "OK", "NG"]
    assert [r["frame_id"] for r in results] == [f"part_{i:02}.png" for i in range(5)]
    first = results[0]
    assert set(first) >= {"result_id", "part_id", "verdict", "score", "latency_ms", "error"}
    assert first["part_id"] is None and first["error"] is None and first["latency_ms"] > 0
    assert events[-1]["event"] == "ended" and events[-1]["how"] == "done"
    rows = _rows(tmp_path / "out")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (r["frame_id"], r["verdict"], "tiny") for r in results
    ]
    assert sorted(p.name for p in (tmp_path / "out" / "ng").iterdir()) == [
        "part_01.png",
        "part_04.png",
    ]
    log_text = (tmp_path / "logs" / "station.log").read_text()
    assert "recipe tiny active" in log_text and "source done" in log_text
    assert "source done" in err  # and on stderr
    # A second start passes over what is done and ends at once.
    assert main(["--config", str(config)]) == 0
    assert not [e for e in _json_lines(capsys.readouterr().out) if e["event"] == "result"]


class _Lines:
    """A stdout stand-in that hands each JSON line to a queue, for in-process tests."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.skipped: list[dict] = []  # lines passed over while waiting for another kind

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.events.put(json.loads(line))

    def flush(self) -> None:
        pass

    def next(self, kind: str, timeout: float = TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event["event"] == kind:
                return event
            self.skipped.append(event)
        raise AssertionError(f"no {kind!r} line within {timeout} s; passed over {self.skipped}")


def test_halt_reset_and_recipe_switch_over_stdin(tmp_path, tiny_bundle):
    write_parts(tmp_path / "parts", "ONOO")
    (tmp_path / "recipes.toml").write_text(
        'default = "loose"\n'
        '[recipes.loose]\nbundle = "bundle"\n'
        '[recipes.strict]\nbundle = "bundle"\n[recipes.strict.thresholds]\nimage_threshold = 0.1\n'
    )
    config = load_config(
        _config(
            tmp_path,
            '[station]\nout = "out"\n[source]\nspec = "parts"\ntrigger = "software"\n'
            '[recipes]\nfile = "recipes.toml"\n',
        )
    )
    read, write = os.pipe()
    lines = _Lines()
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(serve(config, read, lines)))
    worker.start()

    def send(text: str) -> None:
        os.write(write, (text + "\n").encode())

    try:
        assert lines.next("ready")["recipe"] == "loose"
        send("P1")
        assert lines.next("result")["part_id"] == "P1"
        send("!recipe strict")
        assert lines.next("status")["recipe"] == "strict"
        send("P2")  # an OK part; NG under the strict image threshold
        assert lines.next("result")["verdict"] == "NG"
        send("!recipe nope")
        assert "no recipe with id 'nope'" in lines.next("error")["message"]
        send("!halt")
        halted = lines.next("status")
        assert halted["state"] == "Halted" and not halted["running"]
        send("P3")  # refused while halted: stored as a missed trigger
        assert lines.next("missed")["reason"].startswith("station not waiting for triggers")
        send("!reset")
        assert lines.next("status")["state"] == "Operational/Ready"
        send("P4")
        assert lines.next("result")["part_id"] == "P4"
        send("!halt\n!reset")  # at once: the reset may come before the halted run is over
        assert lines.next("status")["state"] == "Halted"
        assert lines.next("status")["running"]
        send("P5")
        assert lines.next("result")["part_id"] == "P5"
        send("!status")
        status = lines.next("status")
        assert status["counters"] == {"total": 4, "ok": 1, "ng": 3, "errors": 0}
        assert status["missed"] == 1 and status["running"]
        send("!stop")
        assert lines.next("ended")["how"] == "stopped"
    finally:
        os.close(write)  # EOF ends the service's stdin reader
        worker.join(timeout=TIMEOUT_S)
        for thread in threading.enumerate():
            if thread.name == "serve-stdin":
                thread.join(timeout=TIMEOUT_S)  # before the descriptor can be reused
        os.close(read)
    assert not worker.is_alive() and codes == [0]
    rows = _rows(tmp_path / "out")
    assert [(r[2], r[3]) for r in rows] == [
        ("P1", "loose"),
        ("P2", "strict"),
        ("P4", "strict"),
        ("P5", "strict"),
    ]
    with ResultStore(tmp_path / "out" / "results.sqlite") as store:
        assert [m.part_id for m in store.missed_triggers()] == ["P3"]
        assert [(s.to_recipe, s.requested_by) for s in store.recipe_switches()] == [
            ("loose", "station serve"),
            ("strict", "stdin"),
        ]  # an unknown id is refused before any switch


class _Service:
    """`station serve` in a subprocess; its stdout JSON lines are read on a thread."""

    def __init__(self, args: list[str], tmp_path: Path, stdin=subprocess.PIPE, launcher=False):
        command = [sys.executable, "-c", NO_QT_LAUNCHER, "serve"] if launcher else [
            sys.executable, "-m", "engine.serve",
        ]  # fmt: skip
        self.stderr_path = tmp_path / "serve-stderr.txt"
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=REPO,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines = _Lines()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.write(line)

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def next(self, kind: str) -> dict:
        try:
            return self.lines.next(kind)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; stderr:\n{self.stderr()}") from None

    def terminate(self) -> int:
        """SIGTERM, then the exit code within a bounded time (killed, and failed, if not)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("no exit within the bound after SIGTERM") from None

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT_S)
        self._stderr.close()


def test_software_triggers_over_stdin_then_sigterm_without_qt(tmp_path, tiny_bundle):
    write_parts(tmp_path / "parts", "ONOOO")
    config = _basic(tmp_path, trigger="software")
    service = _Service(["--config", str(config)], tmp_path, launcher=True)
    try:
        assert service.next("ready")["mode"] == "software"
        verdicts = []
        for part_id in ("A-1", "A-2", "A-3"):
            service.send(part_id)  # the next trigger once the result is out: none missed
            result = service.next("result")
            assert result["part_id"] == part_id
            verdicts.append(result["verdict"])
        assert verdicts == ["OK", "NG", "OK"]
        service.process.stdin.close()  # EOF stops the reading, not the service
        time.sleep(0.3)
        assert service.process.poll() is None, service.stderr()
        started = time.monotonic()
        assert service.terminate() == 0, service.stderr()  # also: no Qt imported
        assert time.monotonic() - started < 10
    finally:
        service.close()
    assert "SIGTERM: stopping after the current part" in service.stderr()
    rows = _rows(tmp_path / "out")
    assert [(r[0], r[2]) for r in rows] == [
        ("part_00.png", "A-1"),
        ("part_01.png", "A-2"),
        ("part_02.png", "A-3"),
    ]


def test_sigterm_during_a_realtime_video_run(tmp_path, tiny_bundle):
    write_video(
        tmp_path / "line.avi", frames=300, fps=10, ng_every=4
    )  # 30 s as a camera: ended by SIGTERM
    config = _basic(tmp_path, source="line.avi", extra="realtime = true")
    service = _Service(["--config", str(config)], tmp_path, stdin=subprocess.DEVNULL)
    try:
        assert service.next("ready")["mode"] == "continuous"
        service.next("result")
        service.next("result")
        assert service.terminate() == 0, service.stderr()
        ended = service.next("ended")
    finally:
        service.close()
    assert ended["how"] == "stopped" and ended["inspected"] >= 2
    with ResultStore(tmp_path / "out" / "results.sqlite") as store:  # closed cleanly, readable
        records = store.records()
    assert len(records) == ended["inspected"]
    assert all(r.frame_id.startswith(f"{ended['run_id']}/") for r in records)
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_start_up_faults_exit_2_naming_the_file(tmp_path, tiny_bundle, capsys):
    write_parts(tmp_path / "parts", "O")
    config = _basic(tmp_path)
    (tiny_bundle / "segmentation.onnx").write_bytes(b"changed")  # the hash no longer matches
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{tiny_bundle}/segmentation.onnx: sha256 does not match" in err
    # a camera that cannot be opened at start (--check does not open cameras)
    make_tiny_bundle(tmp_path / "again" / "bundle")
    fresh = _basic(tmp_path / "again", source="99")
    assert main(["--config", str(fresh)]) == 2
    err = capsys.readouterr().err
    assert f"{fresh}: source.spec: camera 99: cannot open camera" in err
