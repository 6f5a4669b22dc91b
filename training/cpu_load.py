"""How many CPU cores a training run can use without fighting other processes for them."""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores together, from the first line of /proc/stat."""
    fields = [int(value) for value in PROC_STAT.read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields)


def busy_cores(interval_s: float = 0.5) -> float:
    """Cores other processes keep busy now, sampled over `interval_s`.

    The 1-minute load average lags: a command that ended seconds ago still counts, which once
    made a training run pick 1 thread on a 2-core machine whose other work had just ended, and
    take twice as long. Where /proc/stat is missing (not Linux) the load average is the fallback.
    """
    if not PROC_STAT.exists():
        return os.getloadavg()[0]
    idle_before, total_before = _cpu_times()
    time.sleep(interval_s)
    idle_after, total_after = _cpu_times()
    elapsed = max(1, total_after - total_before)
    return (os.cpu_count() or 1) * (1 - (idle_after - idle_before) / elapsed)


def cpu_threads(requested: int) -> int:
    """`requested`, or for 0 the number of cores not busy with other processes (at least 1)."""
    if requested > 0:
        return requested
    cores = os.cpu_count() or 1
    return min(cores, max(1, cores - round(busy_cores())))
