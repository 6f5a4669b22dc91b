"""The audit trail: rows for each kind of change made at the window (who, when, old, new), in the
results store's SQLite file, shown in the audit view and exported as CSV."""

import csv
import time
from pathlib import Path

import pytest

from engine.audit import KINDS, AuditTrail
from engine.store import ResultStore
from engine.users import Level
from gui.audit_view import AuditView
from tests.test_gui import (
    ini_settings,
    log_in,
    open_engineer_settings,
    opened_window,
    run_to_end,
    write_parts,
)


@pytest.fixture()
def window(qtbot, tiny_bundle, tmp_path):
    yield from opened_window(qtbot, ini_settings(tmp_path), tiny_bundle, tmp_path / "out")


def rows(window, kind: str) -> list[tuple]:
    entries = window.access.trail.entries(kind=kind)[::-1]  # oldest first
    return [(e.user, e.subject, e.old_value, e.new_value) for e in entries]


def test_the_trail_keeps_who_when_old_and_new_in_the_store(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite")
    trail = AuditTrail(store)
    before = time.time()
    trail.record("anna", "thresholds", "image_threshold", 0.8, 0.9)
    ids = trail.record_changes("anna", "settings", {"a": 1, "b": "x"}, {"a": 2, "b": "x", "c": []})
    assert len(ids) == 2  # a and c changed, b did not
    with pytest.raises(ValueError, match="audit kind 'colour'"):
        trail.record("anna", "colour", "x")
    store.close()

    again = AuditTrail(ResultStore(tmp_path / "results.sqlite"))  # survives a restart
    newest, middle, oldest = again.entries()
    assert (oldest.user, oldest.kind, oldest.subject) == ("anna", "thresholds", "image_threshold")
    assert (oldest.old_value, oldest.new_value) == ("0.8", "0.9") and oldest.time >= before
    assert (middle.subject, middle.old_value, middle.new_value) == ("a", "1", "2")
    assert (newest.subject, newest.old_value, newest.new_value) == ("c", None, "[]")
    assert [e.subject for e in again.entries(kind="thresholds")] == ["image_threshold"]


def test_each_kind_of_change_at_the_window_is_a_row(qtbot, window, tmp_path):
    folder = write_parts(tmp_path / "parts", "ON")
    run_to_end(qtbot, window, folder)  # as the operator, not logged in
    assert rows(window, "source") == [("operator (not logged in)", "source", None, str(folder))]

    dialog = open_engineer_settings(window)
    old = window.thresholds.image_threshold
    dialog.image_threshold.setValue(old + 1.0)
    dialog.image_threshold.setValue(old + 2.0)  # live edits; one row for what was accepted
    dialog.provider.setCurrentText("cpu")
    dialog.archive.setCurrentIndex(dialog.archive.findData("all"))
    dialog.accept()
    ((who, subject, before, after),) = rows(window, "thresholds")
    assert (who, subject, float(before)) == ("engineer", "image_threshold", pytest.approx(old))
    assert float(after) == pytest.approx(old + 2.0)
    assert rows(window, "provider") == [("engineer", "provider", "auto", "cpu")]
    assert rows(window, "settings") == [("engineer", "archive", "ng", "all")]

    window.reset_counters()
    ((who, subject, counts, new),) = rows(window, "counters")
    assert (who, subject, new) == ("engineer", "reset", None) and '"ng": 1' in counts

    dialog = open_engineer_settings(window)
    recipes = tmp_path / "recipes.toml"
    dialog.recipes_file.setText(str(recipes))
    dialog._recipes_file_changed()
    editor = dialog.recipe_editor
    editor.new_recipe()
    editor.id.setText("nut")
    assert editor.save() is not None  # created
    editor.name.setText("Metal nut")
    assert editor.save() is not None  # edited
    editor.new_recipe()
    editor.id.setText("bolt")
    assert editor.save() is not None
    editor.table.selectRow(1)
    editor.remove_recipe()
    assert editor.save() is not None  # deleted
    dialog.reject()
    recipe_rows = rows(window, "recipe")
    assert [(r[1], r[2] is None, r[3] is None) for r in recipe_rows] == [
        ("nut", True, False),
        ("nut", False, False),
        ("bolt", True, False),
        ("bolt", False, True),
    ]
    assert '"name": "Metal nut"' in recipe_rows[1][3] and '"name"' not in recipe_rows[1][2]

    log_in(window, Level.ADMINISTRATOR)
    users = window.access.open_users()
    users.name.setText("olaf")
    users.password.setText("olafs-pw")
    users.repeat.setText("olafs-pw")
    users.add_user()
    users.select("olaf")
    users.password.setText("olafs-new")
    users.repeat.setText("olafs-new")
    users.apply_to_selected()
    user_rows = [r for r in rows(window, "user") if r[1] == "olaf"]
    assert user_rows == [
        ("administrator", "olaf", None, '{"level": "operator"}'),
        ("administrator", "olaf", '{"password": ""}', '{"password": "(changed)"}'),
    ]
    assert "olafs" not in (tmp_path / "out" / "results.sqlite").read_bytes().decode("latin-1")


def test_the_audit_view_shows_filters_and_exports_csv(qtbot, window, tmp_path):
    trail = window.access.trail
    trail.record("anna", "thresholds", "image_threshold", 0.8, 0.9)
    trail.record("erik", "source", "source", None, "/parts")
    log_in(window)
    view = window.access.open_audit()
    assert isinstance(view, AuditView) and view.isVisible() and not view.isModal()
    assert view.table.rowCount() == 2
    assert view.table.item(0, 1).text() == "erik"  # newest first
    view.kind.setCurrentIndex(view.kind.findData("thresholds"))
    assert view.table.rowCount() == 1 and view.table.item(0, 5).text() == "0.9"
    assert [view.kind.itemData(i) for i in range(1, view.kind.count())] == list(KINDS)

    view.kind.setCurrentIndex(0)
    window.set_source(str(tmp_path))  # a change while the view is open shows at once
    assert view.table.rowCount() == 3 and view.table.item(0, 2).text() == "source"
    view.kind.setCurrentIndex(view.kind.findData("thresholds"))

    path = Path(tmp_path / "audit.csv")
    view.export_to(str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [(r["user"], r["kind"], r["old_value"], r["new_value"]) for r in exported] == [
        ("anna", "thresholds", "0.8", "0.9"),
        ("erik", "source", "", "/parts"),
        ("engineer", "source", "", str(tmp_path)),
    ]
    assert exported[0]["iso_time"].endswith("Z") and "exported" in view.message.text()
    view.export_to(str(tmp_path / "missing" / "audit.csv"))
    assert "failed" in view.message.text()
