"""Thread choice for training: measured from what the CPU is doing now."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from training import cpu_load


def test_a_spinning_process_counts_as_a_busy_core() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = cpu_load.busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.6 <= busy <= (os.cpu_count() or 1) + 0.01


def _proc_stat(user: int, idle: int, iowait: int) -> str:
    # cpu  user nice system idle iowait irq softirq steal
    return f"cpu  {user} 0 0 {idle} {iowait} 0 0 0\ncpu0 0 0 0 0 0 0 0 0\n"


def test_busy_cores_are_the_non_idle_share_of_the_jiffies_between_two_samples(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stat = tmp_path / "stat"
    stat.write_text(_proc_stat(user=1000, idle=5000, iowait=100), encoding="utf-8")
    slept = []

    def sleep(seconds: float) -> None:  # the other processes work while busy_cores waits
        slept.append(seconds)
        # 800 jiffies pass: 300 busy, 450 idle, 50 iowait (counted as idle)
        stat.write_text(_proc_stat(user=1300, idle=5450, iowait=150), encoding="utf-8")

    monkeypatch.setattr(cpu_load, "PROC_STAT", stat)
    monkeypatch.setattr(cpu_load, "time", SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(cpu_load.os, "cpu_count", lambda: 8)
    assert cpu_load.busy_cores(0.25) == pytest.approx(8 * 300 / 800)
    assert slept == [0.25]


@pytest.mark.parametrize(
    ("cores", "busy", "threads"),
    [
        (8, 0.0, 8),  # an idle machine: every core
        (8, 2.4, 6),  # 2.4 busy cores round to 2, left alone
        (8, 2.6, 5),  # 2.6 round to 3
        (8, 7.9, 1),  # all busy: still one thread
        (8, 12.0, 1),  # busier than the cores it has
        (None, 0.0, 1),  # cpu_count unknown: one core assumed
    ],
)
def test_thread_choice_leaves_busy_cores_alone(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, busy: float, threads: int
) -> None:
    monkeypatch.setattr(cpu_load.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(cpu_load, "busy_cores", lambda interval_s=0.5: busy)
    assert cpu_load.cpu_threads(0) == threads
    assert cpu_load.cpu_threads(3) == 3  # asked for: taken as given, busy or not


def test_without_proc_stat_the_load_average_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_load, "PROC_STAT", Path("/nonexistent/stat"))
    assert cpu_load.busy_cores(0.0) == pytest.approx(os.getloadavg()[0], abs=0.5)
