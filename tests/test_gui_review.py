"""The review screen, the mask painter and the window's review actions, offscreen.

Real parts throughout: the tiny bundle (training/tiny_bundle.py: the U-Net calls bright pixels
defects, the anomaly model any saturated channel) judges images through a real Station, whose
recorder queues them in a real SQLite store; the screen decides through the real ReviewQueue.
"""

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from engine.recipes import Recipe, load_recipes
from engine.recorder import open_store
from engine.review import ReviewPolicy, ReviewQueue, read_mask
from engine.station import Station
from engine.users import Level, hash_password
from gui.mask_painter import MaskEditor, MaskPainter
from gui.recipe_editor import RecipeEditor
from gui.review_screen import ReviewScreen
from tests.test_gui import ini_settings, log_in, open_window, opened_window, run_to_end
from tests.tiny_bundle import edit_manifest

HEIGHT, WIDTH = 48, 64  # not square: a swapped shape shows
RED = (0, 0, 255)  # saturated, dark: anomaly NG, U-Net OK (disagreement); heat map hot
GREY = (190, 190, 190)  # bright, unsaturated: U-Net NG, anomaly OK, score near its threshold


def cheap_hash(password: str) -> str:
    return hash_password(password, n=2**4)  # the real scheme, at a cost fit for tests


def part(colour: tuple[int, int, int] | None, box=(8, 20, 10, 22)) -> np.ndarray:
    """A dark part; `colour` fills rows box[0]:box[1], columns box[2]:box[3]."""
    image = np.full((HEIGHT, WIDTH, 3), 60, np.uint8)
    if colour is not None:
        top, bottom, left, right = box
        image[top:bottom, left:right] = colour
    return image


@pytest.fixture()
def queue(tmp_path, tiny_bundle) -> ReviewQueue:
    """Three queued parts (red, grey, red) and an OK one that is not, through a Station."""
    folder = tmp_path / "parts"
    folder.mkdir()
    for name, colour in (("a.png", RED), ("b.png", GREY), ("c.png", None), ("d.png", RED)):
        cv2.imwrite(str(folder / name), part(colour))
    store = open_store(tmp_path / "out")
    station = Station(store, provider="cpu")
    station.prepare(Recipe("r", str(tiny_bundle), archive="none", review=ReviewPolicy()), "test")
    station.run(folder)
    queue = ReviewQueue(store)
    assert queue.count() == 3
    yield queue
    store.close()


@pytest.fixture()
def screen(qtbot, queue) -> ReviewScreen:
    screen = ReviewScreen(queue, lambda: "anna")
    qtbot.addWidget(screen)
    screen.resize(1400, 900)
    activate(qtbot, screen)
    return screen


def activate(qtbot, widget) -> None:
    """Show `widget` as the active window: its window shortcuts take keys only then."""
    widget.show()
    widget.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget)


@pytest.fixture()
def editor(qtbot) -> MaskEditor:
    """The painter with its tools, zoomed in on a part (one image pixel: many screen pixels)."""
    editor = MaskEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 700)
    activate(qtbot, editor)
    editor.set_part(part(None), None, None, None)
    return editor


def key(qtbot, screen: ReviewScreen, *keys: Qt.Key) -> None:
    for k in keys:
        qtbot.keyClick(screen, k)


def view_point(painter: MaskPainter, x: int, y: int):
    """Where image pixel (x, y)'s centre lies in the painter's viewport."""
    return painter.mapFromScene(QPointF(x + 0.5, y + 0.5))


def stroke(qtbot, painter: MaskPainter, points, button=Qt.MouseButton.LeftButton) -> None:
    viewport = painter.viewport()
    first, *rest = [view_point(painter, x, y) for x, y in points]
    qtbot.mousePress(viewport, button, pos=first)
    for point in rest:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, button, pos=(rest or [first])[-1])


# --- the painter -------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1, 30])  # zoomed in about 14 times; zoomed out to about 0.5
def test_paint_lands_on_the_image_pixels_whatever_the_zoom(qtbot, scale):
    editor = MaskEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 700)
    editor.show()
    image = cv2.resize(part(None), (WIDTH * scale, HEIGHT * scale))
    editor.set_part(image, None, None, None)
    painter = editor.painter
    zoomed_in = painter.zoom > 1
    assert zoomed_in == (scale == 1) and (painter.zoom > 10 or painter.zoom < 0.6)
    painter.set_brush(1)
    x, y = 50 * scale, 7 * scale
    stroke(qtbot, painter, [(x, y)])
    mask = painter.mask()
    assert mask.shape == (HEIGHT * scale, WIDTH * scale) and mask.dtype == np.uint8
    ys, xs = np.nonzero(mask)
    if zoomed_in:
        assert (ys.tolist(), xs.tolist()) == ([y], [x])
        shown = painter.viewport().grab().toImage()  # and the view tints that pixel, only it
        painted, beside = (shown.pixelColor(view_point(painter, *p)) for p in ((x, y), (x + 2, y)))
        assert painted.red() > 120 and painted.blue() < 40
        assert (beside.red(), beside.green(), beside.blue()) == (60, 60, 60)
    else:  # one screen pixel spans about two image pixels
        assert len(xs) == 1 and abs(xs[0] - x) <= 2 and abs(ys[0] - y) <= 2


def test_a_stroke_paints_a_round_brush_and_the_eraser_takes_it_away(qtbot, editor):
    painter = editor.painter
    painter.set_brush(7)
    stroke(qtbot, painter, [(10, 20), (30, 20)])
    mask = painter.mask()
    assert mask[20, 10:31].all() and mask[17:24, 20].all()  # the line, 7 px wide
    assert not mask[20, 36] and not mask[12, 20]  # nothing beyond the brush
    stroke(qtbot, painter, [(20, 20)], button=Qt.MouseButton.RightButton)  # right: erase
    assert not painter.mask()[20, 20] and painter.mask()[20, 10]
    painter.set_tool("eraser")
    stroke(qtbot, painter, [(10, 20)])
    assert not painter.mask()[20, 10]


def test_undo_takes_back_one_edit_at_a_time(qtbot, editor):
    painter = editor.painter
    painter.set_brush(3)
    stroke(qtbot, painter, [(5, 5)])
    after_first = painter.mask()
    stroke(qtbot, painter, [(40, 30), (50, 30)])
    editor.clear_button.click()
    assert not painter.mask().any()
    assert painter.undo()  # the clear
    assert painter.mask()[30, 45] and painter.mask()[5, 5]
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the stroke
    assert np.array_equal(painter.mask(), after_first)
    assert painter.undo() and not painter.mask().any()
    assert not painter.undo() and not editor.undo_button.isEnabled()


def test_brush_size_follows_the_keys_and_the_slider(qtbot, editor):
    editor.set_part(np.zeros((400, 300, 3), np.uint8), None, None, None)
    editor.painter.set_brush(20)
    qtbot.keyClick(editor, Qt.Key.Key_BracketRight)
    assert editor.painter.brush == 25 and editor.size.value() == 25
    qtbot.keyClick(editor, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(editor, Qt.Key.Key_BracketLeft)
    assert editor.painter.brush == 16 and editor.size_label.text() == "16 px"
    editor.size.setValue(40)
    assert editor.painter.brush == 40
    editor.painter.set_brush(10_000)
    assert editor.painter.brush == 150 == editor.size.maximum()  # half the shorter side


def test_a_mask_of_another_shape_is_refused(qtbot):
    painter = MaskPainter()
    qtbot.addWidget(painter)
    painter.set_image(part(None))
    with pytest.raises(ValueError, match="does not fit"):
        painter.load_mask(np.ones((WIDTH, HEIGHT), np.uint8))


# --- the review screen -------------------------------------------------------------------------
def test_the_screen_shows_the_part_with_both_models_outputs(screen):
    item = screen.item
    assert item.id == screen.queue.items()[0].id and screen.list.count() == 3
    assert screen.reasons.text() == "Why queued: models disagree"
    assert "U-Net: OK" in screen.scores.text() and "Anomaly: NG" in screen.scores.text()
    assert "threshold 0.8" in screen.scores.text()
    assert screen.editor.painter.shape == (HEIGHT, WIDTH)
    assert screen.unet_view.has_image and screen.heat_view.has_image
    assert screen.count_label.text() == "3 listed, 3 pending"
    assert [screen.defect_type.itemData(i) for i in range(2)] == ["scratch", "spot"]
    assert not screen.editor.isEnabled()  # nothing to paint before "defective"


def test_g_then_enter_stores_good_with_who_and_when_and_moves_on(qtbot, screen):
    first = screen.item
    key(qtbot, screen, Qt.Key.Key_G, Qt.Key.Key_Return)
    stored = screen.queue.get(first.id)
    assert (stored.decision, stored.reviewer, stored.defect_type) == ("good", "anna", None)
    assert stored.decided_time == pytest.approx(time.time(), abs=30)
    assert screen.item.id != first.id and screen.item.decision is None
    assert screen.count_label.text() == "3 listed, 2 pending"
    assert "✔ good" in screen.list.item(0).text()


def test_d_and_a_number_key_store_the_defect_with_the_painted_mask(qtbot, screen):
    key(qtbot, screen, Qt.Key.Key_D)
    assert screen.editor.isEnabled()
    painter = screen.editor.painter
    heat_start = painter.mask()  # the U-Net saw nothing: the painter starts from the heat map
    assert heat_start[10:18, 12:20].all() and heat_start.sum() < 2 * 12 * 12  # resampled
    painter.clear_mask()
    painter.set_brush(1)
    stroke(qtbot, painter, [(40, 30), (44, 30)])
    key(qtbot, screen, Qt.Key.Key_2, Qt.Key.Key_Return)
    stored = screen.queue.items()[0]
    assert (stored.decision, stored.defect_type) == ("defective", "spot")
    written = cv2.imread(stored.mask_path, cv2.IMREAD_UNCHANGED)
    assert written.shape == (HEIGHT, WIDTH)  # the image's full resolution
    assert np.array_equal(np.argwhere(written == 255), [[30, x] for x in range(40, 45)])


def test_next_and_previous_walk_the_queue(qtbot, screen):
    ids = [item.id for item in screen.queue.items()]
    key(qtbot, screen, Qt.Key.Key_N)
    assert screen.item.id == ids[1]
    key(qtbot, screen, Qt.Key.Key_Right, Qt.Key.Key_N)
    assert screen.item.id == ids[2]  # stops at the last
    key(qtbot, screen, Qt.Key.Key_P, Qt.Key.Key_Left)
    assert screen.item.id == ids[0]


def test_enter_without_a_decision_or_with_a_bad_type_stores_nothing(qtbot, screen):
    key(qtbot, screen, Qt.Key.Key_Return)
    assert "Choose first" in screen.message.text()
    key(qtbot, screen, Qt.Key.Key_D)
    screen.defect_type.setEditText("two words")
    key(qtbot, screen, Qt.Key.Key_Return)
    assert "defect_type" in screen.message.text()
    assert screen.queue.decisions(screen.item.id) == []


def test_the_u_net_mask_starts_the_painter_and_a_typed_type_is_taken(qtbot, screen):
    key(qtbot, screen, Qt.Key.Key_N)  # the grey part: the U-Net found it
    item = screen.item
    unet = read_mask(item.unet_mask_path)
    assert unet.any()
    key(qtbot, screen, Qt.Key.Key_D)
    assert np.array_equal(screen.editor.painter.mask(), unet)
    screen.editor.painter.clear_mask()
    key(qtbot, screen, Qt.Key.Key_U)
    assert np.array_equal(screen.editor.painter.mask(), unet)
    screen.defect_type.lineEdit().setFocus()
    qtbot.keyClicks(screen.defect_type.lineEdit(), "dent")  # letters go to the field
    assert screen.decision == "defective" and screen.item.id == item.id
    qtbot.keyClick(screen.defect_type.lineEdit(), Qt.Key.Key_Return)
    decisions = screen.queue.decisions(item.id)
    assert [(d.decision, d.defect_type) for d in decisions] == [("defective", "dent")]  # once
    assert np.array_equal(read_mask(decisions[0].mask_path), unet)


def test_a_decision_can_be_changed_later_and_shows_its_history(qtbot, screen):
    first = screen.item
    key(qtbot, screen, Qt.Key.Key_D, Qt.Key.Key_1, Qt.Key.Key_Return)
    painted = read_mask(screen.queue.get(first.id).mask_path)
    key(qtbot, screen, Qt.Key.Key_P)
    assert screen.item.id == first.id and screen.decision == "defective"
    assert np.array_equal(screen.editor.painter.mask(), painted)  # the mask as decided
    assert screen.history.count() == 1
    assert "anna: defective / scratch" in screen.history.item(0).text()
    key(qtbot, screen, Qt.Key.Key_G, Qt.Key.Key_Return)
    assert [d.decision for d in screen.queue.decisions(first.id)] == ["defective", "good"]
    assert screen.queue.get(first.id).decision == "good"
    key(qtbot, screen, Qt.Key.Key_P)
    while screen.item.id != first.id:
        key(qtbot, screen, Qt.Key.Key_P)
    assert screen.history.count() == 2 and "✔ good" in screen.list.item(0).text()


def test_a_part_whose_image_is_gone_says_so_and_cannot_be_decided(qtbot, queue):
    second = queue.items()[1]
    Path(second.image_path).unlink()
    screen = ReviewScreen(queue, lambda: "anna")
    qtbot.addWidget(screen)
    activate(qtbot, screen)
    key(qtbot, screen, Qt.Key.Key_N)
    assert second.image_path in screen.message.text()
    assert not screen.editor.painter.has_image and not screen.save_button.isEnabled()
    key(qtbot, screen, Qt.Key.Key_G, Qt.Key.Key_Return)
    assert queue.decisions(second.id) == []
    key(qtbot, screen, Qt.Key.Key_N, Qt.Key.Key_G, Qt.Key.Key_Return)  # the next one still can
    assert queue.items()[2].decision == "good"


def test_the_filter_lists_pending_or_decided_parts(qtbot, screen):
    key(qtbot, screen, Qt.Key.Key_G, Qt.Key.Key_Return)
    assert screen.list.count() == 3  # the decided part stays listed, to go back to
    key(qtbot, screen, Qt.Key.Key_F5)
    assert screen.list.count() == 2
    screen.filter.setCurrentText("Decided")
    assert screen.list.count() == 1 and screen.item.decision == "good"


# --- the window's actions ----------------------------------------------------------------------
@pytest.fixture()
def window(qtbot, tmp_path, tiny_bundle):
    yield from opened_window(qtbot, ini_settings(tmp_path), tiny_bundle, tmp_path / "out")


def test_an_operator_flags_the_part_on_screen_or_one_from_the_history(qtbot, window, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_ng.png"), part((255, 255, 255)))  # both models NG: not queued
    cv2.imwrite(str(folder / "b_ok.png"), part(None))
    run_to_end(qtbot, window, folder)
    assert window.current.verdict == "OK"
    queue = ReviewQueue(window.results)
    assert queue.count() == 0  # parts nobody doubts
    window.review.act_flag.trigger()
    (item,) = queue.items()
    assert item.inspection_id == window.current.result_id and item.reasons == ["operator_flag"]
    assert item.flagged_by == window.access.session.who
    assert np.array_equal(cv2.imread(item.image_path), part(None))  # archived now
    assert "flagged for review (1 pending)" in window.statusBar().currentMessage()
    window.review.act_flag.trigger()  # twice: still one item
    assert queue.count() == 1
    window.history.ng.itemClicked.emit(window.history.ng.item(0))  # the NG part again
    window.review.act_flag.trigger()
    ng_row = window.results.select(["frame_id = ?"], ["a_ng.png"])[0]
    assert [i.inspection_id for i in queue.items()] == [item.inspection_id, ng_row.id]


def test_the_review_screen_needs_an_engineer_and_stores_their_name(qtbot, window, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "red.png"), part(RED))
    run_to_end(qtbot, window, folder)
    session = window.access.session
    session.book.add("admin", Level.ADMINISTRATOR, "secret-a", hasher=cheap_hash)
    session.book.add("anna", Level.ENGINEER, "secret-b", hasher=cheap_hash)
    gate = window.review.open_review()  # an operator: asked to log in first
    assert window.review.screen is None and "needs an engineer" in gate.message.text()
    gate.name.setText("anna")
    gate.password.setText("secret-b")
    gate.accept()
    screen = window.review.screen
    assert screen.isVisible() and screen.list.count() == 1
    screen.choose("good")
    assert screen.save().reviewer == "anna"
    session.logout()
    assert not screen.isVisible()  # a log-out closes it


def test_export_from_the_window_writes_the_mvtec_layout_off_the_gui_thread(qtbot, window, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_red.png"), part(RED))
    cv2.imwrite(str(folder / "b_grey.png"), part(GREY))
    run_to_end(qtbot, window, folder)
    queue = ReviewQueue(window.results)
    red, grey = queue.items()
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[8:20, 10:22] = 1
    queue.decide(red.id, "defective", reviewer="anna", defect_type="spot", mask=mask)
    queue.decide(grey.id, "good", reviewer="anna")
    assert window.review.export_reviewed() is None  # an operator may not
    assert "reviewing needs an engineer login" in window.errors.messages[-1]
    log_in(window)
    assert window.review.export_reviewed() is not None  # the folder dialog, not blocking
    out = tmp_path / "dataset"
    run = window.review.export_to(str(out))
    assert not window.review.act_export.isEnabled()  # one export at a time
    qtbot.waitUntil(lambda: window.review.export_run is None, timeout=10_000)
    assert run.isFinished() and window.review.act_export.isEnabled()
    assert np.array_equal(cv2.imread(str(out / "train" / "good" / "000.png")), part(GREY))
    assert np.array_equal(cv2.imread(str(out / "test" / "spot" / "000.png")), part(RED))
    written = cv2.imread(str(out / "ground_truth" / "spot" / "000_mask.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(written > 0, mask > 0)
    assert (out / "provenance.csv").read_text(encoding="utf-8").count("anna") == 2
    assert "Exported 2 part(s)" in window.statusBar().currentMessage()
    window.review.export_to(str(out))  # again: nothing twice
    qtbot.waitUntil(lambda: window.review.export_run is None, timeout=10_000)
    assert "Exported 0 part(s)" in window.statusBar().currentMessage()
    assert sorted(p.name for p in (out / "test" / "spot").iterdir()) == ["000.png"]


# --- a challenger bundle: its comparison, and the roll back ------------------------------------
COMPARISON = {
    "champion": {"name": "tiny", "digest": "0123456789abcdef", "path": "champion"},
    "data": "merged",
    "time": "2026-12-01T17:00:00+0000",
    "n_images": 40,
    "n_good": 25,
    "n_defective": 15,
    "disagreements": 3,
    "champion_metrics": {"recall": 0.8, "false_reject_rate": 0.04, "dice_mean": 0.7},
    "challenger_metrics": {"recall": 0.933, "false_reject_rate": 0.08, "dice_mean": 0.75},
    "report": "compare/report.md",
}


def test_a_challenger_shows_its_comparison_and_the_recipe_rolls_back(qtbot, tmp_path):
    from training.tiny_bundle import make_tiny_bundle

    make_tiny_bundle(tmp_path / "champion")
    challenger = make_tiny_bundle(tmp_path / "challenger")
    edit_manifest(challenger, lambda m: m.update(comparison=COMPARISON, name="challenger"))
    recipes = tmp_path / "recipes.toml"
    recipes.write_text('[recipes.nut]\nbundle = "champion"\n', encoding="utf-8")
    output = tmp_path / "out"
    window = open_window(qtbot, ini_settings(tmp_path), None, output, recipes_file=str(recipes))
    assert window.review.comparison is None and not window.review.act_roll_back.isEnabled()

    editor = RecipeEditor(recipes)  # the engineer points the recipe at the challenger
    qtbot.addWidget(editor)
    assert editor.comparison.text() == "none"
    editor.bundle_edit.setText("challenger")
    assert editor.comparison.text() == (
        "against tiny: recall 0.800 → 0.933, false rejects 0.040 → 0.080, Dice 0.700 → 0.750 "
        "(40 images)"
    )
    assert editor.save() is not None
    saved = load_recipes(recipes).recipes["nut"]
    assert (Path(saved.bundle).name, Path(saved.previous_bundle).name) == ("challenger", "champion")

    window.load_recipe_book()
    window.load_recipe()
    qtbot.waitUntil(lambda: window.inspector.bundle.name == "challenger", timeout=20_000)
    dialog = window.review.comparison
    assert dialog.isVisible() and not dialog.isModal()
    assert "0.933" in dialog.text.text() and "0.800" in dialog.text.text()
    assert dialog.roll_back_button.isEnabled() and "champion" in dialog.roll_back_button.text()

    dialog.roll_back_button.click()  # an operator may not change recipes
    assert any("Not allowed" in m for m in window.errors.messages)
    assert Path(load_recipes(recipes).recipes["nut"].bundle).name == "challenger"
    log_in(window)
    window.review.act_roll_back.trigger()
    qtbot.waitUntil(lambda: window.inspector.bundle.name == "tiny", timeout=20_000)
    back = load_recipes(recipes).recipes["nut"]
    assert (Path(back.bundle).name, Path(back.previous_bundle).name) == ("champion", "challenger")
    window.close()


def test_a_queue_of_fifty_is_cleared_with_the_keyboard_alone(qtbot, tmp_path, tiny_bundle):
    folder = tmp_path / "parts"
    folder.mkdir()
    for index in range(50):  # red (heat map, no U-Net mask) and grey (U-Net mask) parts
        cv2.imwrite(str(folder / f"{index:02d}.png"), part(RED if index % 2 else GREY))
    store = open_store(tmp_path / "out")
    station = Station(store, provider="cpu")
    station.prepare(Recipe("r", str(tiny_bundle), archive="none"), "test")
    station.run(folder)
    queue = ReviewQueue(store)
    assert queue.count() == 50
    screen = ReviewScreen(queue, lambda: "anna")
    qtbot.addWidget(screen)
    activate(qtbot, screen)
    for index in range(50):
        if index % 3:
            key(qtbot, screen, Qt.Key.Key_G, Qt.Key.Key_Return)
        else:  # the painter starts from a model's mask: nothing to paint by hand
            key(qtbot, screen, Qt.Key.Key_D, Qt.Key.Key_1, Qt.Key.Key_Return)
    assert queue.count(pending=True) == 0 and QApplication.activeModalWidget() is None
    decided = queue.items()
    assert sum(i.decision == "defective" for i in decided) == 17
    assert all(i.reviewer == "anna" and len(queue.decisions(i.id)) == 1 for i in decided)
    store.close()
