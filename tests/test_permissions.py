"""What each level may do at the window, offscreen on the tiny bundle with a real store: hidden
or disabled where it may not, and refused with a message when invoked anyway."""

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.users import Level, load_users
from gui.login_dialog import LoginDialog
from gui.permissions import MINIMUM_LEVEL, Action, Refused, allowed, require
from gui.settings_dialog import SettingsDialog
from gui.users_dialog import UsersDialog
from tests.test_gui import (
    RUN_TIMEOUT_MS,
    USER_PASSWORD,
    log_in,
    open_engineer_settings,
    open_window,
    opened_window,
    run_to_end,
    write_parts,
)

RECIPES = """\
default = "open"

[recipes.open]
bundle = "{bundle}"
operator_select = true

[recipes.closed]
bundle = "{bundle}"
"""


@pytest.fixture()
def window(qtbot, qsettings, tiny_bundle, tmp_path):
    yield from opened_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")


def refusals(window) -> list[str]:
    return [m for m in window.errors.messages if m.startswith("Not allowed")]


@pytest.mark.parametrize("level", list(Level))
def test_the_table_gives_each_level_what_the_issue_asks(level):
    operator_may = {Action.START_STOP, Action.TRIGGER, Action.SELECT_ALLOWED_RECIPE}
    engineer_may = operator_may | {
        Action.SELECT_ANY_RECIPE,
        Action.RESET_COUNTERS,
        Action.CHOOSE_SOURCE,
        Action.TUNE,
        Action.MANAGE_RECIPES,
        Action.QUIT_RUNNING,
        Action.VIEW_AUDIT,
    }
    expected = {
        Level.OPERATOR: operator_may,
        Level.ENGINEER: engineer_may,
        Level.ADMINISTRATOR: set(Action),
    }[level]
    assert {a for a in Action if allowed(level, a)} == expected
    assert set(MINIMUM_LEVEL) == set(Action)
    for action in set(Action) - expected:
        with pytest.raises(Refused, match=f"to {action.value} log in as"):
            require(level, action)


def test_an_operator_cannot_change_the_source_reset_counters_or_tune(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ON"))
    assert window.access.session.level == Level.OPERATOR
    for action in (window.act_image, window.act_folder, window.act_video, window.act_camera):
        assert not action.isEnabled()  # the shortcuts are off too
    assert window.counters.reset_button.isHidden()
    assert not window.access.act_audit.isEnabled() and not window.access.act_users.isVisible()

    source = window.source
    assert window.choose_folder() is None and window.choose_camera() is None
    window.reset_counters()
    assert window.counters.counts.total == 2 and window.source == source
    assert refusals(window) == [  # newest first; the same one twice is counted, not repeated
        "Not allowed: to reset the counters log in as engineer (now: operator)",
        "Not allowed: to change the source log in as engineer (now: operator)",
    ]
    log_in(window)
    window.access.session.logout()
    gate = window.open_settings()  # Ctrl+E asks for a login, it does not open the settings
    assert isinstance(gate, LoginDialog) and gate.isVisible()
    assert window.settings_dialog is None and "log in as engineer" in gate.message.text()
    assert window.access.open_users() is None and window.access.open_audit() is None
    gate.reject()


def test_an_engineer_logging_in_at_the_gate_gets_the_settings_not_modal(qtbot, window, tmp_path):
    log_in(window)
    window.access.session.logout()
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N"))
    gate = window.open_settings()
    gate.name.setText("engineer")
    gate.password.setText(USER_PASSWORD)
    gate.accept()
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    assert not dialog.isModal() and QApplication.activeModalWidget() is None
    # While tuning, the engineer changes the overlay and steps through images.
    window.mode_box.setCurrentIndex(window.mode_box.findData("heatmap"))
    assert window.display.mode == "heatmap"
    shown = window.current.overlay
    window.mode_box.setCurrentIndex(window.mode_box.findData("contours"))
    assert window.current.overlay is not shown  # redrawn with the dialog open
    window.set_source(str(write_parts(tmp_path / "more", "ON")))
    window.step()
    qtbot.waitUntil(lambda: window.counters.counts.total == 2, timeout=RUN_TIMEOUT_MS)
    window.step()
    qtbot.waitUntil(lambda: window.counters.counts.total == 3, timeout=RUN_TIMEOUT_MS)
    dialog.image_threshold.setValue(123.0)  # still live on the part on screen
    assert window.thresholds.image_threshold == 123.0
    window.access.session.logout()  # leaving: the settings close with the session
    assert not dialog.isVisible()


def test_an_engineer_may_change_the_source_and_reset_but_not_manage_users(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ON"))
    log_in(window, Level.ENGINEER)
    assert window.act_folder.isEnabled() and not window.counters.reset_button.isHidden()
    assert window.choose_folder() is not None
    window.reset_counters()
    assert window.counters.counts.total == 0
    assert window.access.open_audit() is not None
    assert window.access.open_users() is None
    assert refusals(window) == [
        "Not allowed: to manage users log in as administrator (now: engineer)"
    ]


def test_an_administrator_manages_users(qtbot, window, tmp_path):
    log_in(window, Level.ADMINISTRATOR)
    assert window.access.act_users.isVisible()
    dialog = window.access.open_users()
    assert isinstance(dialog, UsersDialog) and dialog.isVisible() and not dialog.isModal()
    dialog.name.setText("olaf")
    dialog.level.setCurrentIndex(dialog.level.findData(Level.OPERATOR))
    dialog.password.setText("olafs-pw")
    dialog.repeat.setText("olafs-pw")
    assert dialog.add_user() is not None
    book = window.access.session.book
    assert book.authenticate("olaf", "olafs-pw").level == Level.OPERATOR
    dialog.select("olaf")
    dialog.level.setCurrentIndex(dialog.level.findData(Level.ENGINEER))
    assert dialog.apply_to_selected().level == Level.ENGINEER
    dialog.select("administrator")
    dialog.level.setCurrentIndex(dialog.level.findData(Level.OPERATOR))
    assert dialog.apply_to_selected() is None  # the last administrator stays one
    assert "last administrator" in dialog.message.text()
    dialog.select("olaf")
    assert dialog.remove_selected() and "olaf" not in book.users
    dialog.idle.setValue(5.0)  # minutes
    dialog.idle.editingFinished.emit()
    assert load_users(book.path).idle_logout_s == 300.0
    (idle,) = [e for e in window.access.trail.entries(kind="user") if e.subject == "idle_logout_s"]
    assert (idle.user, idle.old_value, idle.new_value) == ("administrator", "600.0", "300.0")


def test_operators_pick_only_the_recipes_the_engineer_opened_to_them(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    recipes = tmp_path / "recipes.toml"
    recipes.write_text(RECIPES.format(bundle=tiny_bundle), encoding="utf-8")
    window = open_window(qtbot, qsettings, None, tmp_path / "out", recipes_file=str(recipes))
    box = window.recipe_box
    enabled = {box.itemData(i): box.model().item(i).isEnabled() for i in range(box.count())}
    assert enabled == {"open": True, "closed": False}
    label = window.trigger_panel.recipe_label  # the active recipe, in sight
    qtbot.waitUntil(lambda: label.text() == "open")  # the core's event, queued
    box.setCurrentIndex(box.findData("closed"))
    assert box.currentData() == "open" and window.settings.recipe_id != "closed"
    assert "to select any recipe log in as engineer" in refusals(window)[0]
    log_in(window)
    assert window.recipe_box.model().item(window.recipe_box.findData("closed")).isEnabled()
    window.recipe_box.setCurrentIndex(window.recipe_box.findData("closed"))
    qtbot.waitUntil(lambda: window.station.recipe.id == "closed", timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.trigger_panel.recipe_label.text() == "closed")
    window.close()


def test_an_operator_quitting_during_a_run_is_asked_first(qtbot, window, tmp_path):
    window.set_source(str(write_parts(tmp_path / "parts", "O" * 200)))
    assert window.start()
    assert not window.access.may_close()  # asks, without blocking the window
    box = window.access.dialogs["quit"]
    assert isinstance(box, QMessageBox) and box.isVisible() and window.running
    box.button(QMessageBox.StandardButton.No).click()
    assert window.running
    log_in(window)  # the open dialogs are checked against the new level: none is refused
    window.access.session.logout()
    window.act_quit.trigger()
    box = window.access.dialogs["quit"]
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not window.running and not window.threads, timeout=RUN_TIMEOUT_MS)


def test_an_engineer_quits_during_a_run_without_being_asked(qtbot, window, tmp_path):
    log_in(window)
    window.set_source(str(write_parts(tmp_path / "parts", "O" * 200)))
    assert window.start()
    assert window.access.may_close() and "quit" not in window.access.dialogs
    window.stop()


def test_open_engineer_settings_helper_still_works(qtbot, window):
    dialog = open_engineer_settings(window)
    assert dialog.isVisible() and window.access.session.level == Level.ENGINEER
    dialog.reject()
