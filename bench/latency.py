"""What the camera benchmarks report alike: latency percentiles and the machine they ran on."""

from __future__ import annotations

import os
import platform

import numpy as np


def stats(ms: list[float]) -> dict[str, float]:
    """p50, p99, max and mean of latencies in ms."""
    values = np.asarray(ms)
    return {
        "p50": float(np.percentile(values, 50)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def print_latencies(report: dict, names: tuple[str, ...], width: int, digits: int) -> None:
    """One line per latency in `report`: p50, p99 and max, in columns `digits` wide."""
    for name in names:
        s = report[name]
        print(
            f"{name:{width}} p50 {s['p50']:{digits}.2f}  p99 {s['p99']:{digits}.2f}  "
            f"max {s['max']:{digits}.2f} ms"
        )
