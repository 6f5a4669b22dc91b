"""training.compare: champion and challenger through the Inspector on the images neither
trained on, the side-by-side report, --record into the challenger's manifest, and refusal of
a dataset that is not the one the bundles trained on.

Both bundles are trained a few steps on the tiny generated dataset (the challenger on that
dataset plus parts added the way `station export-dataset --merge` adds them), as the training
tests do.
"""

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.export_dataset import add_image
from tests.synthetic_mvtec import write_tiny_mvtec
from training import compare, train_anomaly, train_unet
from training.cli import main as train_main

TINY_UNET = [
    "--epochs", "2", "--size", "64", "--depth", "3", "--base-width", "8", "--val-every", "1",
    "--precision", "fp32", "--time-limit-min", "0",
]  # fmt: skip


def _train(cat_dir: Path, out: Path, seed: int) -> Path:
    for module, extra in (
        (train_unet, [*TINY_UNET, "--seed", str(seed)]),
        (train_anomaly, ["--backbone-weights", "random", "--size", "64", "--seed", str(seed)]),
    ):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        words = ["--data", str(cat_dir.parent), "--category", cat_dir.name, "--out", str(out)]
        assert module.run(parser.parse_args([*words, *extra])) == 0
    return out


def _add(extra: Path, dataset: Path, kinds: tuple[str, ...]) -> list[str]:
    """Add the test images of `kinds` from the dataset `extra` to `dataset` as an export does
    (names numbered on), with their masks; returns their new names."""
    added = []
    for kind in kinds:
        for image in sorted((extra / "test" / kind).iterdir()):
            new = add_image(dataset / "test" / kind, image)
            added.append(new.relative_to(dataset).as_posix())
            if kind != "good":
                mask = extra / "ground_truth" / kind / f"{image.stem}_mask.png"
                shutil.copyfile(mask, dataset / "ground_truth" / kind / f"{new.stem}_mask.png")
    return added


@pytest.fixture(scope="module")
def trained(tiny_mvtec, tmp_path_factory):
    """(champion, challenger, evaluation dataset, the held-out names added to it): the
    challenger trains on the champion's data plus reviewed parts; the evaluation dataset is
    that plus parts neither saw."""
    root = tmp_path_factory.mktemp("compare")
    champion = _train(tiny_mvtec, root / "champion", seed=0)
    extra = write_tiny_mvtec(root / "extra", n_train_good=3, n_test_good=2, n_per_defect=2, seed=5)
    merged = root / "merged" / tiny_mvtec.name
    shutil.copytree(tiny_mvtec, merged)
    _add(extra, merged, ("scratch",))
    challenger = _train(merged, root / "challenger", seed=0)
    held_out = root / "eval" / tiny_mvtec.name
    shutil.copytree(merged, held_out)
    unseen = write_tiny_mvtec(root / "unseen", n_train_good=3, n_test_good=2, n_per_defect=2,
                              seed=6)  # fmt: skip
    return champion, challenger, held_out, _add(unseen, held_out, ("good", "scratch", "spot"))


def test_compare_reports_both_bundles_on_images_neither_trained_on(trained, tmp_path, capsys):
    champion, challenger, merged, added = trained
    out = tmp_path / "report"
    words = ["--champion", str(champion), "--challenger", str(challenger), "--data", str(merged)]
    assert train_main(["compare", *words, "--out", str(out), "--record"]) == 0
    assert "verdict(s) differ" in capsys.readouterr().out
    report = json.loads((out / "compare.json").read_text())
    judged = {row["image"] for row in report["images"]}
    trained_on = set()
    for bundle in (champion, challenger):
        models = load_bundle(bundle).manifest["models"]
        seg = models["segmentation"]["training"]["dataset"]["split"]
        fit = models["anomaly"]["training"]["dataset"]["split"]
        trained_on |= {*seg["train"], *seg["val"], *fit["fit"], *fit["calibration"]}
    assert judged and not judged & trained_on
    assert set(added) <= judged  # parts added after the champion, kept out of the challenger's
    assert report["n_images"] == len(judged) == report["n_good"] + report["n_defective"]
    for role in ("champion", "challenger"):
        metrics = report["metrics"][role]
        for key in compare.HEADLINE:
            assert metrics[key] is None or 0 <= metrics[key] <= 1, (role, key)
        assert set(metrics["per_type"]) == {"scratch", "spot"}
    for row in report["images"]:
        differ = row["verdict"]["champion"] != row["verdict"]["challenger"]
        assert (row["image"] in report["disagreements"]) == differ
        if differ:
            strip = cv2.imread(str(out / "disagreements" / row["image"].replace("/", "_")))
            assert strip.shape == (256, 4 * 256, 3)
    text = (out / "report.md").read_text()
    assert "| station recall (defective parts NG) |" in text
    assert "champion" in text and "![comparison](compare.png)" in text
    assert cv2.imread(str(out / "compare.png")) is not None
    # recorded where the window finds it, and the bundle still loads
    recorded = load_bundle(challenger).manifest["comparison"]
    champion_bundle = load_bundle(champion)
    assert recorded["champion"]["digest"] == champion_bundle.digest
    assert recorded["champion"]["name"] == champion_bundle.name
    assert recorded["report"] == str(out / "report.md") and recorded["data"] == str(merged)
    assert recorded["challenger_metrics"] == {
        k: report["metrics"]["challenger"][k] for k in compare.HEADLINE
    }


def test_a_dataset_the_bundles_did_not_train_on_is_refused(trained, tmp_path, caplog):
    champion, challenger, merged, _ = trained
    changed = tmp_path / "changed" / merged.name
    shutil.copytree(merged, changed)
    trained_image = load_bundle(champion).manifest["models"]["segmentation"]["training"]
    first = changed / trained_image["dataset"]["split"]["train"][0]
    image = cv2.imread(str(first))
    cv2.imwrite(str(first), np.ascontiguousarray(image[::-1]))  # same name, other image
    words = ["--champion", str(champion), "--challenger", str(challenger), "--data", str(changed)]
    assert train_main(["compare", *words, "--out", str(tmp_path / "r")]) == 2
    assert f"{changed}: the images" in caplog.text and "fingerprint mismatch" in caplog.text
