"""The clustering study on the tiny generated dataset with random VGG16 weights."""

import argparse
import json
from pathlib import Path

from training import explore


def _args(data: Path, out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    explore.add_arguments(parser)
    return parser.parse_args(
        ["--data", str(data), "--category", "widget", "--out", str(out), *extra]
    )


def test_study_writes_plots_metrics_and_answer(tiny_mvtec: Path, tmp_path: Path) -> None:
    out = tmp_path / "study"
    args = _args(tiny_mvtec.parent, out, "--backbone-weights", "random", "--size", "64")
    assert explore.run(args) == 0
    for name in ("pca_kmeans_dbscan.png", "tsne.png", "scores.png"):
        assert (out / name).stat().st_size > 10_000, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_images"] == 12 + 4 + 8
    for method in ("kmeans", "dbscan"):
        view = metrics[method]
        assert 0.0 <= view["distance_to_good_auroc"] <= 1.0
        assert -1.0 <= view["ari_good_vs_defective"] <= 1.0
        assert 0.0 <= view["nmi_defect_types"] <= 1.0
    # K-means k is the best of the silhouette curve, k = 2 .. min(K_MAX, n - 1); JSON keys are
    # strings, the chosen k an int
    curve = metrics["kmeans_curve"]["silhouette"]
    assert list(curve) == [str(k) for k in range(2, min(explore.K_MAX, 12 + 4 + 8 - 1) + 1)]
    assert list(metrics["kmeans_curve"]["inertia"]) == list(curve)
    best_k = metrics["kmeans"]["k"]
    assert isinstance(best_k, int) and curve[str(best_k)] == max(curve.values())
    assert metrics["kmeans"]["silhouette"] == curve[str(best_k)]
    report = (out / "report.md").read_text()
    assert "## Answer" in report and "image AUROC" in report
    assert "![t-SNE](tsne.png)" in report
    assert f"| k / clusters | {best_k} | {metrics['dbscan']['n_clusters']} |" in report


def test_missing_weights_file_fails_cleanly(tiny_mvtec: Path, tmp_path: Path) -> None:
    args = _args(tiny_mvtec.parent, tmp_path / "s", "--backbone-weights", str(tmp_path / "x.pth"))
    assert explore.run(args) == 2
