"""engine.export_dataset: reviewed parts written in MVTec AD layout, merged into an existing
dataset without renumbering, with provenance, and never exported twice.

Parts of the tiny MVTec dataset (tests/synthetic_mvtec.py) go through a real Station with the
tiny bundle, are decided in a real review queue, and are exported with the command line.
"""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.export_dataset import PROVENANCE, main
from engine.recipes import Recipe
from engine.recorder import open_store
from engine.review import ReviewPolicy, ReviewQueue
from engine.station import Station
from training.mvtec import list_samples


@pytest.fixture()
def reviewed(tmp_path, tiny_mvtec, tiny_bundle):
    """A store in which 2 good and 2 defective parts of the tiny dataset were decided."""
    parts = tmp_path / "line"
    parts.mkdir()
    picks = {
        "g0.png": tiny_mvtec / "test/good/000.png",
        "g1.png": tiny_mvtec / "test/good/001.png",
        "s0.png": tiny_mvtec / "test/scratch/000.png",
        "p0.png": tiny_mvtec / "test/spot/000.png",
        "x.png": tiny_mvtec / "test/good/002.png",  # stays pending: not exported
    }
    for name, source in picks.items():
        (parts / name).write_bytes(source.read_bytes())
    store = open_store(tmp_path / "station")
    station = Station(store, provider="cpu", name="line-1")
    # every OK part audited, the rest flagged: all queued, whatever the tiny models say
    recipe = Recipe("nut", str(tiny_bundle), archive="all", review=ReviewPolicy(audit_share=1))
    station.prepare(recipe, "test")
    station.run(parts)
    queue = ReviewQueue(store)
    by_frame = {r.frame_id: queue.for_inspection(r.id) or queue.flag(r.id, by="op")
                for r in store.records()}  # fmt: skip
    for name in ("g0.png", "g1.png"):
        queue.decide(by_frame[name].id, "good", reviewer="ann")
    for name, kind in (("s0.png", "scratch"), ("p0.png", "spot")):
        truth = picks[name].parent.parent.parent / "ground_truth" / kind / "000_mask.png"
        mask = cv2.imread(str(truth), cv2.IMREAD_GRAYSCALE) > 0
        queue.decide(by_frame[name].id, "defective", reviewer="bob", defect_type=kind, mask=mask)
    yield store, by_frame, picks
    store.close()


def _provenance(folder: Path) -> list[dict[str, str]]:
    with (folder / PROVENANCE).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_writes_the_mvtec_layout_with_provenance(tmp_path, reviewed, capsys):
    store, _, picks = reviewed
    out = tmp_path / "dataset"
    assert main(["--store", str(store.path.parent), "--out", str(out), "--station", "L1"]) == 0
    assert "4 image(s) exported (2 good, 1 scratch, 1 spot)" in capsys.readouterr().out
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert files == [
        "ground_truth/scratch/000_mask.png",
        "ground_truth/spot/000_mask.png",
        "test/scratch/000.png",
        "test/spot/000.png",
        "train/good/000.png",
        "train/good/001.png",
    ]
    assert (out / "train/good/000.png").read_bytes() == picks["g0.png"].read_bytes()
    exported_mask = cv2.imread(str(out / "ground_truth/spot/000_mask.png"), cv2.IMREAD_GRAYSCALE)
    truth = cv2.imread(str(picks["p0.png"].parents[2] / "ground_truth/spot/000_mask.png"), 0)
    assert np.array_equal(exported_mask > 0, truth > 0)
    rows = {r["file"]: r for r in _provenance(out)}
    assert sorted(rows) == [
        "test/scratch/000.png",
        "test/spot/000.png",
        "train/good/000.png",
        "train/good/001.png",
    ]
    spot = rows["test/spot/000.png"]
    record = store.get(int(spot["inspection_id"]))
    assert spot["mask"] == "ground_truth/spot/000_mask.png" and spot["station"] == "L1"
    assert (spot["decision"], spot["defect_type"], spot["reviewer"]) == ("defective", "spot", "bob")
    assert (spot["recipe"], spot["bundle_digest"]) == ("nut", record.bundle_digest)
    assert spot["frame_id"] == "p0.png" and spot["run_id"] == record.run_id
    assert spot["inspection_time"] and spot["decided_time"]
    # the export reads as a dataset the training commands take
    samples = list_samples(out)
    assert sorted((s.split, s.defect_type) for s in samples) == [
        ("test", "scratch"),
        ("test", "spot"),
        ("train", "good"),
        ("train", "good"),
    ]


def test_merge_keeps_the_existing_names_and_exports_nothing_twice(
    tmp_path, reviewed, tiny_mvtec, capsys
):
    store, by_frame, _ = reviewed
    before = {p: p.read_bytes() for p in tiny_mvtec.rglob("*.png")}
    merged = tmp_path / "merged"
    args = ["--store", str(store.path), "--out", str(merged), "--merge", str(tiny_mvtec)]
    assert main(args) == 0
    # the existing dataset is untouched, and every one of its images keeps its name
    assert {p: p.read_bytes() for p in tiny_mvtec.rglob("*.png")} == before
    for path, data in before.items():
        assert (merged / path.relative_to(tiny_mvtec)).read_bytes() == data
    n_good = len(list((tiny_mvtec / "train/good").iterdir()))
    new = {r["frame_id"]: r["file"] for r in _provenance(merged)}
    assert new == {
        "g0.png": f"train/good/{n_good:03d}.png",
        "g1.png": f"train/good/{n_good + 1:03d}.png",
        "s0.png": "test/scratch/004.png",  # the tiny dataset has 000..003 of each type
        "p0.png": "test/spot/004.png",
    }
    assert (merged / "ground_truth/spot/004_mask.png").is_file()
    capsys.readouterr()
    # the same store again: nothing new; a decision made since is exported, numbered on
    queue = ReviewQueue(store)
    queue.decide(by_frame["x.png"].id, "good", reviewer="ann")
    queue.decide(by_frame["g0.png"].id, "defective", reviewer="bob", defect_type="spot",
                 mask=np.ones((64, 64), bool))  # fmt: skip
    assert main(["--store", str(store.path), "--out", str(merged)]) == 0
    output = capsys.readouterr().out
    assert "1 image(s) exported (1 good); 4 exported before" in output
    assert f"decision changed after export, not moved: train/good/{n_good:03d}.png" in output
    assert [r["file"] for r in _provenance(merged)][-1] == f"train/good/{n_good + 2:03d}.png"
    assert main(["--store", str(store.path), "--out", str(merged)]) == 0
    assert "0 image(s) exported" in capsys.readouterr().out


def test_export_errors_name_the_file(tmp_path, reviewed, capsys):
    store, _, _ = reviewed
    assert main(["--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")]) == 2
    assert f"{tmp_path / 'nowhere'}: no results store" in capsys.readouterr().err
    not_mvtec = tmp_path / "plain"
    not_mvtec.mkdir()
    args = ["--store", str(store.path), "--out", str(tmp_path / "d"), "--merge", str(not_mvtec)]
    assert main(args) == 2
    assert f"{not_mvtec}: not an MVTec-layout dataset" in capsys.readouterr().err
    taken = tmp_path / "taken"
    taken.mkdir()
    args = ["--store", str(store.path), "--out", str(taken), "--merge", str(tmp_path / "d")]
    (tmp_path / "d" / "train" / "good").mkdir(parents=True)
    assert main(args) == 2
    assert f"{taken}: already exists" in capsys.readouterr().err
    item = ReviewQueue(store).items(pending=False)[0]
    Path(item.image_path).unlink()
    assert main(["--store", str(store.path), "--out", str(tmp_path / "e")]) == 1
    assert f"not exported: {item.image_path}" in capsys.readouterr().err
