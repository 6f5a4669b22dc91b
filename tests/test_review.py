"""engine.review and engine.review_rules: which parts the station queues and why, what is
archived for them, and the reviewer's decisions (history, painted masks, errors).

Real inspections of the tiny bundle (training/tiny_bundle.py: the U-Net calls bright pixels
defects, the anomaly model any saturated channel), through a real Station and SQLite store.
"""

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.events import ResultReady
from engine.inspector import Inspector
from engine.recipes import Recipe, RecipeError, load_recipes, parse_recipes, recipes_data
from engine.recorder import open_store
from engine.result import Thresholds, Verdict
from engine.review import ReviewError, ReviewPolicy, ReviewQueue, heat_png, read_mask
from engine.review_rules import largest_unet_area, review_reasons
from engine.station import Station

SIZE = 32  # the tiny models' input size: no resampling, so areas are exact


def _image(square: tuple[int, int, int] | None = None, side: int = 10) -> np.ndarray:
    image = np.full((SIZE, SIZE + 8, 3), 60, np.uint8)  # not square: catches a swapped shape
    if square is not None:
        image[4 : 4 + side, 4 : 4 + side] = square
    return image


WHITE = (255, 255, 255)  # both models NG
RED = (0, 0, 255)  # saturated but dark: anomaly NG, U-Net OK -> disagreement
NEAR_RED = (0, 0, 195)  # score 0.765, within 10 % of 0.8: OK but near the threshold


@pytest.fixture(scope="module")
def inspector(tmp_path_factory) -> Inspector:
    from training.tiny_bundle import make_tiny_bundle

    return Inspector(load_bundle(make_tiny_bundle(tmp_path_factory.mktemp("b") / "tiny")), "cpu")


def _reasons(inspector, image, policy=None, thresholds=None, seed=0):
    result = inspector.inspect(image, thresholds)
    return review_reasons(result, policy or ReviewPolicy(), random.Random(seed))


def test_disagreement_is_queued_and_agreement_is_not(inspector):
    assert _reasons(inspector, _image(RED)) == ["disagreement"]
    assert _reasons(inspector, _image(WHITE)) == []  # both NG
    assert _reasons(inspector, _image()) == []  # both OK


def test_a_score_near_its_threshold_is_queued_within_the_margin_only(inspector):
    assert _reasons(inspector, _image(NEAR_RED)) == ["near_threshold"]
    assert _reasons(inspector, _image(NEAR_RED), ReviewPolicy(near_margin=0.01)) == []


def test_the_largest_unet_region_near_the_minimum_area_is_queued(inspector):
    # 100 px of white; anomaly threshold out of reach so only the area counts
    limits = dict(image_threshold=5.0, pixel_threshold=0.5, map_threshold=0.8)
    just_below = Thresholds(min_defect_area_px=105, **limits)
    result = inspector.inspect(_image(WHITE), just_below)
    assert result.verdict is Verdict.OK and largest_unet_area(result) == 100
    assert review_reasons(result, ReviewPolicy(), random.Random(0)) == ["near_threshold"]
    far = Thresholds(min_defect_area_px=200, **limits)
    assert _reasons(inspector, _image(WHITE), thresholds=far) == []


def test_the_audit_sample_is_a_seeded_share_of_ok_parts(inspector):
    result = inspector.inspect(_image())
    policy = ReviewPolicy(audit_share=0.3)
    draws = [review_reasons(result, policy, random.Random(7)) for _ in range(2)]
    assert draws[0] == draws[1]  # the same seed, the same sample
    rng = random.Random(1)
    picked = sum(review_reasons(result, policy, rng) == ["audit_sample"] for _ in range(1000))
    assert 240 < picked < 360
    ng = inspector.inspect(_image(WHITE))
    assert review_reasons(ng, ReviewPolicy(audit_share=1.0), rng) == []  # NG parts: never
    assert _reasons(inspector, _image(RED), ReviewPolicy(enabled=False)) == []


@pytest.fixture()
def station_run(tmp_path, tiny_bundle):
    """Run a folder of parts through a Station with a recipe that archives nothing."""

    def run(
        images: dict[str, np.ndarray], archive: str = "none", **review
    ) -> tuple[Station, ReviewQueue]:
        folder = tmp_path / "parts"
        folder.mkdir(exist_ok=True)
        for name, image in images.items():
            cv2.imwrite(str(folder / name), image)
        store = open_store(tmp_path / "out")
        station = Station(store, provider="cpu")
        recipe = Recipe("a", str(tiny_bundle), archive=archive, review=ReviewPolicy(**review))
        station.prepare(recipe, "test")
        station.run(folder)
        return station, ReviewQueue(store)

    yield run


def test_the_station_queues_parts_with_their_reasons_and_archives_them(tmp_path, station_run):
    images = {"a_ok.png": _image(), "b_red.png": _image(RED), "c_near.png": _image(NEAR_RED)}
    station, queue = station_run(images)
    items = queue.items()
    assert [i.reasons for i in items] == [["disagreement"], ["near_threshold"]]
    assert queue.count() == queue.count(pending=True) == 2 and queue.count(pending=False) == 0
    red = items[0]
    row = station.store.get(red.inspection_id)
    assert row.frame_id == "b_red.png" and row.verdict == "NG"
    # archived although the recipe archives nothing, byte for byte, and the row says where
    assert red.image_path == row.image_path
    assert Path(red.image_path).read_bytes() == (tmp_path / "parts" / "b_red.png").read_bytes()
    assert (tmp_path / "out" / "review" / "images") in Path(red.image_path).parents
    assert (red.verdict, red.unet_verdict, red.anomaly_verdict) == ("NG", "OK", "NG")
    assert red.score == pytest.approx(1.0) and red.threshold == pytest.approx(0.8)
    assert red.defect_types == ["scratch", "spot"] and red.decision is None
    assert red.map_threshold == pytest.approx(0.6)  # raw 0.8 on the bundle's 0.5..1.0 scale
    unet = cv2.imread(red.unet_mask_path, cv2.IMREAD_UNCHANGED)
    heat = cv2.imread(red.heat_path, cv2.IMREAD_UNCHANGED)
    assert unet.shape == heat.shape == (SIZE, SIZE + 8) and unet.dtype == heat.dtype == np.uint8
    assert not unet.any()  # the U-Net saw nothing
    assert heat[8, 8] == 255 and heat[25, 30] == 0  # the red square is hot, the body is not
    # the unqueued OK part stays unarchived, as its recipe says
    ok = station.store.select(["frame_id = ?"], ["a_ok.png"])[0]
    assert ok.image_path is None and queue.for_inspection(ok.id) is None


def test_a_part_is_queued_only_after_its_result_went_out(tmp_path, tiny_bundle):
    """The line (a subscriber, like the OPC UA and MQTT links) has the result before the review
    images are written: they are no part of the trigger-to-result time."""
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "b_red.png"), _image(RED))
    store = open_store(tmp_path / "out")
    station = Station(store, provider="cpu")
    station.prepare(Recipe("a", str(tiny_bundle), review=ReviewPolicy()), "test")
    queue = ReviewQueue(store)
    seen: list[tuple[int, object]] = []
    station.subscribe(
        lambda event: (
            isinstance(event, ResultReady)
            and seen.append((event.part.result_id, queue.for_inspection(event.part.result_id)))
        )
    )
    station.run(folder)
    [(row_id, queued_then)] = seen
    assert queued_then is None
    assert queue.for_inspection(row_id).reasons == ["disagreement"]


def test_a_queued_part_the_policy_archives_keeps_its_policy_folder(tmp_path, station_run):
    _, queue = station_run({"red.png": _image(RED), "near.png": _image(NEAR_RED)}, "ng")
    red, near = sorted(queue.items(), key=lambda i: i.verdict)  # NG first
    assert Path(red.image_path).parent == tmp_path / "out" / "ng"  # NG: the policy kept it
    assert Path(near.image_path).parent == tmp_path / "out" / "review" / "images"
    assert not (tmp_path / "out" / "all").exists()  # the policy folders mean what they say


def test_decisions_keep_their_history_and_the_painted_mask(tmp_path, station_run):
    _, queue = station_run({"red.png": _image(RED)})
    (item,) = queue.items()
    mask = np.zeros((SIZE, SIZE + 8), bool)
    mask[4:14, 4:14] = True
    first = queue.decide(item.id, "defective", reviewer="ann", defect_type="spot", mask=mask)
    assert (first.decision, first.defect_type, first.reviewer) == ("defective", "spot", "ann")
    assert Path(first.mask_path).parent == tmp_path / "out" / "review" / "masks"
    written = cv2.imread(first.mask_path, cv2.IMREAD_UNCHANGED)
    assert written.shape == mask.shape and set(np.unique(written)) == {0, 255}
    assert np.array_equal(read_mask(first.mask_path), mask)
    assert queue.count(pending=True) == 0 and queue.items(pending=False)[0].id == item.id
    changed = queue.decide(item.id, "good", reviewer="bob")
    assert (changed.decision, changed.mask_path, changed.defect_type) == ("good", None, None)
    history = queue.decisions(item.id)
    assert [(d.decision, d.reviewer) for d in history] == [("defective", "ann"), ("good", "bob")]
    assert history[0].time <= history[1].time and Path(history[0].mask_path).exists()
    # a new defect type typed in by the reviewer is taken
    new = queue.decide(item.id, "defective", reviewer="ann", defect_type="dent", mask=mask)
    assert new.defect_type == "dent" and new.decision_id == queue.decisions(item.id)[-1].id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "good", "reviewer": ""}, "reviewer"),
        ({"decision": "good", "defect_type": "spot"}, "defect_type"),
        ({"decision": "defective", "defect_type": "spot"}, "mask"),  # no mask
        ({"decision": "defective", "defect_type": "../x", "mask": "full"}, "defect_type"),
        ({"decision": "defective", "defect_type": "good", "mask": "full"}, "defect_type"),
        ({"decision": "defective", "defect_type": "spot", "mask": "wrong"}, "mask"),
        ({"decision": "defective", "defect_type": "spot", "mask": "empty"}, "mask"),
    ],
)
def test_a_wrong_decision_is_refused_naming_the_field(station_run, kwargs, field):
    _, queue = station_run({"red.png": _image(RED)})
    (item,) = queue.items()
    masks = {
        "full": np.ones((SIZE, SIZE + 8), np.uint8),
        "wrong": np.ones((SIZE + 8, SIZE), np.uint8),  # transposed
        "empty": np.zeros((SIZE, SIZE + 8), np.uint8),
    }
    kwargs = {"reviewer": "ann", **kwargs}
    if isinstance(kwargs.get("mask"), str):
        kwargs["mask"] = masks[kwargs["mask"]]
    with pytest.raises(ReviewError, match=rf"review item {item.id}: {field}:"):
        queue.decide(item.id, **kwargs)
    assert queue.decisions(item.id) == []
    empty = masks["empty"]
    done = queue.decide(
        item.id, "defective", reviewer="a", defect_type="x", mask=empty, allow_empty_mask=True
    )
    assert not read_mask(done.mask_path).any()


def test_an_operator_flag_queues_a_part_or_adds_the_reason(tmp_path, station_run, inspector):
    station, queue = station_run({"ok.png": _image(), "red.png": _image(RED)})
    ok, red = station.store.records()
    with pytest.raises(ReviewError, match="not archived"):
        queue.flag(ok.id, by="op")
    image = cv2.imread(str(tmp_path / "parts" / "ok.png"))
    result = inspector.inspect(image)
    flagged = queue.flag(ok.id, by="op", image=image, result=result)
    assert flagged.reasons == ["operator_flag"] and flagged.flagged_by == "op"
    assert np.array_equal(cv2.imread(flagged.image_path), image)
    assert np.array_equal(cv2.imread(flagged.heat_path, cv2.IMREAD_UNCHANGED), heat_png(result))
    again = queue.flag(red.id, by="op")
    assert again.reasons == ["disagreement", "operator_flag"]
    assert queue.flag(red.id, by="op2").reasons == again.reasons  # once only
    with pytest.raises(ReviewError, match="no such row"):
        queue.flag(999, by="op")


def test_a_recipe_review_table_is_read_checked_and_written_back(tmp_path):
    path = tmp_path / "recipes.toml"
    path.write_text(
        '[recipes.a]\nbundle = "b"\n[recipes.a.review]\nnear_margin = 0.2\naudit_share = 0.05\n'
        "seed = 3\n",
        encoding="utf-8",
    )
    book = load_recipes(path)
    assert book.get("a").review == ReviewPolicy(near_margin=0.2, audit_share=0.05, seed=3)
    assert parse_recipes(recipes_data(book), path).get("a").review == book.get("a").review
    plain = parse_recipes({"recipes": {"b": {"bundle": "b"}}}, path)
    assert plain.get("b").review == ReviewPolicy()
    assert "review" not in recipes_data(plain)["recipes"]["b"]  # defaults are not written
    bad = {"recipes": {"a": {"bundle": "b", "review": {"audit_share": 2, "sed": 1}}}}
    with pytest.raises(RecipeError) as caught:
        parse_recipes(bad, path)
    assert caught.value.problems == [
        f"{path}: recipes.a.review.audit_share: must be a number from 0 to 1, got 2",
        f"{path}: recipes.a.review.sed: unknown; known: near_margin, audit_share, seed, enabled",
    ]
