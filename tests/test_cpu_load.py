"""Thread choice for training: measured from what the CPU is doing now."""

import os
import subprocess
import sys
from pathlib import Path

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


def test_thread_choice_leaves_busy_cores_alone() -> None:
    assert cpu_load.cpu_threads(3) == 3
    assert 1 <= cpu_load.cpu_threads(0) <= (os.cpu_count() or 1)


def test_without_proc_stat_the_load_average_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_load, "PROC_STAT", Path("/nonexistent/stat"))
    assert cpu_load.busy_cores(0.0) == pytest.approx(os.getloadavg()[0], abs=0.5)
