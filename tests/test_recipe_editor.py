"""The recipe editor, offscreen, on real TOML files under tmp_path (read back with the engine)."""

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.recipes import RecipeBook, load_recipes
from gui.recipe_editor import RecipeEditor

HAND_WRITTEN = """\
# Written by hand: relative bundles are relative to this file's folder.
default = "nut"

[recipes.nut]
name = "Metal nut M8"
bundle = "models/nut"
overlay_mode = "contours"
overlays = "all"
archive = "none"

[recipes.nut.thresholds]
image_threshold = 0.83512
min_defect_area_px = 3168

[recipes.bolt]
bundle = "/abs/bolt.zip"
"""


def open_editor(qtbot, path: Path, bundle: str = "") -> RecipeEditor:
    editor = RecipeEditor(path, bundle)
    qtbot.addWidget(editor)
    editor.show()
    return editor


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture()
def hand_written(tmp_path: Path) -> Path:
    path = tmp_path / "recipes.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def test_new_recipe_is_saved_and_the_engine_reads_it_back(qtbot, tmp_path):
    path = tmp_path / "station" / "recipes.toml"  # neither the file nor its folder exists yet
    editor = open_editor(qtbot, path, bundle="/models/current")
    assert editor.table.rowCount() == 0 and not editor.form.isEnabled()

    click(qtbot, editor.new_button)
    assert editor.bundle_edit.text() == "/models/current"  # prefilled with the station's bundle
    assert editor.modified and "modified" in editor.modified_label.text()
    editor.id.setText("gear")
    qtbot.keyClicks(editor.name, "Gear 12T")
    for key, value in (("overlay_mode", "heatmap"), ("overlays", "all"), ("archive", "none")):
        editor.combos[key].setCurrentIndex(editor.combos[key].findData(value))
    editor.is_default.setChecked(True)
    assert editor.table.item(0, 0).text() == "gear" and editor.table.item(0, 3).text() == "yes"

    with qtbot.waitSignal(editor.saved) as signal:
        click(qtbot, editor.save_button)
    book = load_recipes(path)
    assert signal.args[0] == book and isinstance(book, RecipeBook)
    assert book.default == "gear"
    gear = book.get("gear")
    assert (gear.name, gear.bundle, gear.thresholds) == ("Gear 12T", "/models/current", {})
    assert (gear.overlay_mode, gear.overlays, gear.archive) == ("heatmap", "all", "none")
    assert not editor.modified and editor.modified_label.text() == ""
    assert editor.id.isReadOnly()  # saved ids are fixed


def test_editing_a_hand_written_file_keeps_its_recipes(qtbot, hand_written):
    editor = open_editor(qtbot, hand_written)
    assert [editor.table.item(r, 0).text() for r in range(2)] == ["nut", "bolt"]
    assert editor.bundle_edit.text() == "models/nut"  # as written, not resolved
    assert editor.id.isReadOnly()

    editor.table.selectRow(1)
    assert editor.id.text() == "bolt" and not editor.overrides["image_threshold"].isChecked()
    editor.name.setText("Bolt M6")
    assert editor.save() is not None

    book = load_recipes(hand_written)
    assert list(book.recipes) == ["nut", "bolt"] and book.default == "nut"
    assert book.get("bolt").name == "Bolt M6"
    nut = book.get("nut")
    assert nut.bundle == str(hand_written.parent / "models" / "nut")
    assert nut.thresholds == {"image_threshold": 0.83512, "min_defect_area_px": 3168}
    assert (nut.overlay_mode, nut.overlays, nut.archive) == ("contours", "all", "none")
    raw = tomllib.loads(hand_written.read_text(encoding="utf-8"))
    assert raw["recipes"]["nut"]["bundle"] == "models/nut"  # still relative to the file


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", "nut.v2", "recipes.nut.v2: id 'nut.v2' must be letters, digits, _ or -"),
        ("id", "", "must be letters, digits, _ or -"),
        ("id", "nut", "recipes.nut: two recipes have this id"),
        ("bundle", "", "recipes.new_recipe.bundle: missing"),
    ],
)
def test_an_invalid_value_shows_the_error_and_writes_nothing(
    qtbot, hand_written, field, value, expected
):
    editor = open_editor(qtbot, hand_written, bundle="/models/current")
    click(qtbot, editor.new_button)
    getattr(editor, "bundle_edit" if field == "bundle" else field).setText(value)
    saved = []
    editor.saved.connect(saved.append)
    click(qtbot, editor.save_button)

    message = editor.message.text()
    assert expected in message and str(hand_written) in message  # names the file and field
    assert "Traceback" not in message and editor.message.wordWrap()
    assert "color" in editor.message.styleSheet()
    assert hand_written.read_text(encoding="utf-8") == HAND_WRITTEN and not saved
    assert editor.modified


def test_threshold_overrides_round_trip(qtbot, tmp_path):
    path = tmp_path / "recipes.toml"
    editor = open_editor(qtbot, path, bundle="/models/current")
    click(qtbot, editor.new_button)
    assert not editor.values["image_threshold"].isEnabled()
    editor.overrides["image_threshold"].setChecked(True)
    editor.values["image_threshold"].setValue(0.91)
    editor.overrides["min_defect_area_px"].setChecked(True)
    editor.values["min_defect_area_px"].setValue(250)
    editor.save()
    assert load_recipes(path).get("new_recipe").thresholds == {
        "image_threshold": 0.91,
        "min_defect_area_px": 250,
    }

    again = open_editor(qtbot, path)
    assert again.overrides["image_threshold"].isChecked()
    assert not again.overrides["pixel_threshold"].isChecked()
    assert not again.values["pixel_threshold"].isEnabled()
    again.overrides["image_threshold"].setChecked(False)  # back to the bundle's own
    again.save()
    assert load_recipes(path).get("new_recipe").thresholds == {"min_defect_area_px": 250}


def test_remove_drops_the_recipe_and_a_default_that_named_it(qtbot, hand_written):
    editor = open_editor(qtbot, hand_written)
    editor.table.selectRow(0)
    click(qtbot, editor.remove_button)
    assert editor.table.rowCount() == 1 and editor.id.text() == "bolt"
    editor.save()
    book = load_recipes(hand_written)
    assert list(book.recipes) == ["bolt"] and book.default is None

    click(qtbot, editor.remove_button)
    assert editor.table.rowCount() == 0 and not editor.remove_button.isEnabled()
    editor.save()
    assert load_recipes(hand_written).recipes == {}


def test_duplicate_copies_under_a_free_id_and_reload_drops_edits(qtbot, hand_written):
    editor = open_editor(qtbot, hand_written)
    click(qtbot, editor.duplicate_button)
    assert editor.id.text() == "nut_copy" and not editor.id.isReadOnly()
    assert editor.overrides["image_threshold"].isChecked() and not editor.is_default.isChecked()
    click(qtbot, editor.reload_button)
    assert editor.table.rowCount() == 2 and not editor.modified


def test_a_file_the_engine_refuses_is_shown_and_never_overwritten(qtbot, tmp_path):
    path = tmp_path / "recipes.toml"
    broken = '[recipes.nut]\nbundle = "b"\narchive = "sometimes"\n'
    path.write_text(broken, encoding="utf-8")
    editor = open_editor(qtbot, path)
    assert "recipes.nut.archive" in editor.message.text()
    assert not editor.save_button.isEnabled() and not editor.new_button.isEnabled()
    assert path.read_text(encoding="utf-8") == broken


def test_a_new_recipe_that_took_a_saved_id_can_still_be_renamed(qtbot, hand_written):
    editor = open_editor(qtbot, hand_written, bundle="/models/current")
    click(qtbot, editor.new_button)
    editor.id.setText("nut")
    assert editor.save() is None
    editor.table.selectRow(0)
    editor.table.selectRow(2)
    assert not editor.id.isReadOnly()
    editor.id.setText("nut_b")
    assert editor.save() is not None
    assert list(load_recipes(hand_written).recipes) == ["nut", "bolt", "nut_b"]


def test_the_engineer_opens_a_recipe_to_operators(qtbot, hand_written):
    editor = open_editor(qtbot, hand_written)
    assert not editor.operator_select.isChecked()  # engineers only, unless opened
    editor.operator_select.setChecked(True)
    assert editor.table.item(0, 4).text() == "may select"
    assert editor.save() is not None
    book = load_recipes(hand_written)
    assert book.get("nut").operator_select and not book.get("bolt").operator_select
    editor.reload()
    assert editor.operator_select.isChecked()


def test_an_edit_keeps_the_fields_the_form_does_not_show(qtbot, hand_written):
    text = hand_written.read_text(encoding="utf-8")
    hand_written.write_text(
        text.replace('bundle = "models/nut"\n', 'bundle = "models/nut"\nprevious_bundle = "old"\n'),
        encoding="utf-8",
    )
    editor = open_editor(qtbot, hand_written)
    editor.name.setText("Metal nut M8, new name")
    assert editor.save() is not None
    nut = load_recipes(hand_written).get("nut")
    assert nut.name == "Metal nut M8, new name"
    assert nut.previous_bundle == str(hand_written.parent / "old")


def test_operator_select_must_be_true_or_false(qtbot, hand_written):
    text = hand_written.read_text(encoding="utf-8")
    hand_written.write_text(text + 'operator_select = "yes"\n', encoding="utf-8")
    editor = open_editor(qtbot, hand_written)
    assert "recipes.bolt.operator_select: must be true or false" in editor.message.text()
    assert not editor.save_button.isEnabled()
