"""The Inspector benchmark runs end to end on a small folder and reports every stage."""

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_inspector.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_inspector", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_reports_every_stage_and_the_non_inference_share(tmp_path, tiny_bundle, capsys):
    data = tmp_path / "test" / "good"
    data.mkdir(parents=True)
    for i in range(4):
        cv2.imwrite(str(data / f"{i:03d}.png"), np.full((64, 64, 3), 40 * i, np.uint8))
    (data / "000_broken.png").write_bytes(b"")
    out = tmp_path / "bench.json"
    bench = _load_bench()
    argv = [str(tmp_path / "test"), "--bundle", str(tiny_bundle), "--json", str(out)]
    assert bench.main([*argv, "--limit", "3", "--warmup", "1"]) == 0
    figures = json.loads(out.read_text())
    stages = ["decode", "preprocess", "segmentation", "anomaly", "postprocess", "overlay", "store"]
    assert list(figures["stages"]) == stages
    assert figures["images"] == 3 and figures["unreadable_images"] == 1
    assert all(row["p95_ms"] >= 0 and row["mean_ms"] >= 0 for row in figures["stages"].values())
    inference = (
        figures["stages"]["segmentation"]["mean_ms"] + figures["stages"]["anomaly"]["mean_ms"]
    )
    total = figures["total"]["mean_ms"]
    assert figures["non_inference_share"] == pytest.approx((total - inference) / total)
    assert "non-inference share" in capsys.readouterr().out
