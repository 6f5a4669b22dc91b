"""Figures and the markdown table of the runtime benchmark, from the measured lanes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from bench.runtimes.pool import Lane

PUBLISHED_PATCHCORE = "0.994 published (PatchCore WR50, metal_nut); random weights here"


@dataclass
class Row:
    """One line of the table."""

    runtime: str
    model: str
    ms_p50: float | None
    ms_mean: float | None
    n: int
    image_auroc: str = "-"  # a number, or words saying why there is none
    inspector_accuracy: str = "-"  # measured through the engine's Inspector
    max_diff: str = "-"  # largest |output - onnxruntime fp32| on the same images
    peak_rss_mb: float | None = None  # while running (after loading and warm-up)
    load_peak_rss_mb: float | None = None  # loading and warm-up
    note: str = ""

    @property
    def parts_per_s(self) -> float | None:
        return 1000 / self.ms_mean if self.ms_mean else None

    def to_dict(self) -> dict:
        return {**self.__dict__, "parts_per_s": self.parts_per_s}


def lane_row(lane: Lane) -> Row:
    ms = lane.ms
    return Row(
        lane.runtime,
        lane.role,
        statistics.median(ms) if ms else None,
        statistics.fmean(ms) if ms else None,
        len(ms),
        peak_rss_mb=lane.peak_rss_mb,
        load_peak_rss_mb=lane.info.get("load_peak_rss_mb"),
        note=lane.error or "",
    )


def combined_row(runtime: str, seg: Lane, ano: Lane) -> Row | None:
    """Both models of one runtime on the same images: the station's inference per part."""
    n = min(len(seg.ms), len(ano.ms))
    if not n:
        return None
    totals = [a + b for a, b in zip(seg.ms[:n], ano.ms[:n], strict=True)]
    peak = max(seg.peak_rss_mb or 0, ano.peak_rss_mb or 0) or None
    load_peak = max(seg.info.get("load_peak_rss_mb") or 0, ano.info.get("load_peak_rss_mb") or 0)
    return Row(
        runtime,
        "both (U-Net + anomaly)",
        statistics.median(totals),
        statistics.fmean(totals),
        n,
        peak_rss_mb=peak,  # the larger of the two processes
        load_peak_rss_mb=load_peak or None,
    )


def ratio(slow: Row | None, fast: Row | None) -> float | None:
    """How many times faster `fast` is than `slow`, by mean ms."""
    if slow is None or fast is None or not slow.ms_mean or not fast.ms_mean:
        return None
    return slow.ms_mean / fast.ms_mean


def max_abs_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray], name: str) -> float | None:
    """Largest |a - b| of output `name` over the images both have."""
    if name not in a or name not in b:
        return None
    common, ia, ib = np.intersect1d(a["index"], b["index"], return_indices=True)
    if not len(common):
        return None
    return float(np.max(np.abs(a[name][ia] - b[name][ib])))


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown(rows: list[Row]) -> str:
    lines = [
        "| runtime | model | ms p50 | ms mean | parts/s | image AUROC (these runs) | "
        "accuracy through the Inspector | max abs diff vs ORT fp32 | peak RSS MB run / load | "
        "images |",
        "|---|---|---:|---:|---:|---|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.runtime} | {r.model} | {_f(r.ms_p50, '.1f')} | {_f(r.ms_mean, '.1f')} | "
            f"{_f(r.parts_per_s, '.2f')} | {r.image_auroc} | {r.inspector_accuracy} | "
            f"{r.max_diff} | {_f(r.peak_rss_mb, '.0f')} / {_f(r.load_peak_rss_mb, '.0f')} | "
            f"{r.n} |"
        )
    notes = [f"- {r.runtime} / {r.model}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))
