"""Language and touch: the German window (the shipped .qm files, Qt's own texts included; the
counters, per-model table, legend, history, alarms, statistics and review screen; the engine's
English words translated where shown), the choice from the settings and from the system locale,
the shipped files built from their sources, and operator mode's touch targets. Offscreen, on the
tiny bundle."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QLabel,
)

from engine import alarms
from engine.recipes import Recipe
from engine.recorder import open_store
from engine.review import ReviewPolicy, ReviewQueue
from engine.station import Station
from engine.users import Level
from gui import i18n
from gui.assets import apply_style
from gui.i18n.engine_text import engine_text
from gui.login_dialog import LoginDialog
from gui.review_screen import ReviewScreen
from gui.settings import StationSettings
from gui.trigger_panel import TOUCH_PX
from tests.test_gui import (
    RUN_TIMEOUT_MS,
    log_in,
    open_engineer_settings,
    open_window,
    run_to_end,
    write_parts,
)
from tests.test_gui_review import RED, part

TS_FILES = sorted(i18n.FOLDER.glob("station_*.ts"))


@pytest.fixture()
def styled(qapp):
    """The station's style sheet (where operator mode's sizes are), as `station` applies it."""
    apply_style(qapp)
    yield qapp
    qapp.setStyleSheet("")


@pytest.fixture()
def german(qapp):
    """The application in German while the test builds its widgets; English again after."""
    assert i18n.install(qapp, "de") == "de"
    yield qapp
    i18n.install(qapp, "en")


def test_the_window_speaks_german(qtbot, german, qsettings, tiny_bundle, tmp_path):
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    menus = [action.text() for action in window.menuBar().actions()]
    assert {"&Datei", "&Lauf", "&Ansicht", "&Benutzer", "&Hilfe"} <= set(menus)
    assert window.act_folder.text() == "&Ordner öffnen…" and window.act_quit.text() == "&Beenden"
    assert window.source_label.text() == "Quelle — keine Quelle gewählt"
    assert window.mode_box.itemText(0) == "Maske gefüllt"
    assert window.batch.pause.text() == "Pause" and window.batch.cancel.text() == "Abbrechen"
    assert window.trigger_panel.trigger_button.text() == "AUSLÖSEN"
    assert window.trigger_box.itemText(0) == "Freilauf"
    assert window.line_panel.title() == "Linie"
    assert window.windowTitle() == "Prüfstation — nicht angemeldet (Bediener)"
    window.reset_counters()  # refused, in German
    assert window.errors.messages[0] == (
        "Nicht erlaubt: um die Zähler zurückzusetzen, als Techniker anmelden (jetzt: Bediener)"
    )
    log_in(window, Level.ENGINEER)
    window.access.session.logout()
    gate = window.open_settings()
    assert isinstance(gate, LoginDialog) and gate.windowTitle() == "Anmelden"
    cancel = gate.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel.text() == "Abbrechen"  # Qt's own texts come from qtbase_de.qm
    gate.reject()
    dialog = open_engineer_settings(window)
    assert dialog.windowTitle() == "Technikereinstellungen"
    dialog.reject()
    window.close()


def test_the_parts_figures_speak_german(qtbot, german, qsettings, tiny_bundle, tmp_path):
    """Counters, banner, per-model table, legend, history, an alarm and the statistics of one
    run in a German window: built from translated texts and the engine's words translated."""
    settings = StationSettings.load(qsettings)
    settings.alarm_consecutive_ng = 2
    settings.save(qsettings)
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    window.show()
    dock = window.statistics
    dock.toggleViewAction().trigger()
    view = dock.view
    view.chart_interval_s = 0
    view.lot_name.setText("L-1")
    view.start_button.click()
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ONN"))
    assert window.source_label.text() == "Quelle — Ordner: parts"

    names = [w.text() for w in window.counters.findChildren(QLabel, "counterName")]
    assert names[:4] == ["GESAMT", "IO", "NIO", "AUSBEUTE"]
    assert window.counters.reset_button.text() == "Zähler zurücksetzen"
    banner = window.verdict.banner
    assert banner.word.text() == "✖ NIO"
    assert banner.detail.text().splitlines()[0].startswith("U-Net: Fehler ")
    assert window.verdict.gauge.text.startswith("Anomaliewert ")

    table = window.model_table
    headers = [table.table.horizontalHeaderItem(c).text() for c in range(4)]
    assert headers == ["Modell", "Ergebnis", "Grenze", "Urteil"]
    rows = [[table.cell(r, c) for c in range(4)] for r in range(table.table.rowCount())]
    assert rows[0][0] == "U-Net-Segmentierung" and rows[0][3] == "NIO"
    assert rows[-1] == ["Ausgesondert von", "U-Net + Anomaliewert", "", "NIO"]
    assert window.legend.entries() == ["U-Net-Fehler (gefüllt)", "Anomaliebereich"]

    history = window.history
    assert history.tabText(0) == "Zuletzt" and history.tabText(1) == "NIO-Galerie (2)"
    assert history.recent.item(0).text().startswith("NIO ")
    assert history.recent_pager.label.text() == "Seite 1 / 1 · 3 Teile"
    assert history.recent_pager.newer.text() == "◀ Neuere"
    (alarm,) = window.alarm_panel.alarms
    assert alarm.kind == alarms.CONSECUTIVE_NG and alarm.message == "2 NG parts in a row"
    shown = [w.text() for w in window.alarm_panel.findChildren(QLabel)]
    assert any(t.endswith("2 NIO-Teile in Folge") for t in shown)  # the store keeps English

    dock.feed.refresh()
    lot_line = "Los L-1: 3 Teile, 2 NIO, 33.3 %"  # the counter panel's, once the lot is in
    qtbot.waitUntil(lambda: lot_line in window.counters.periods.text(), timeout=RUN_TIMEOUT_MS)
    assert dock.windowTitle() == "Statistik" and view.start_button.text() == "Los beginnen"
    labels = [view.counts.verticalHeaderItem(r).text() for r in range(view.counts.rowCount())]
    assert labels[:2] == ["laufende Summe", "Los L-1"] and labels[-1] == "letzte Stunde"
    assert [view.counts.horizontalHeaderItem(c).text() for c in range(3)] == ["Teile", "IO", "NIO"]
    assert view.lot_state.text().startswith("Los L-1 offen seit ")
    assert view.trend_plot.plotItem.titleLabel.text == "Ausbeuteverlauf, Los L-1"
    lines = window.counters.periods.text().splitlines()
    assert lines[0] == lot_line and lines[1].startswith("Schicht ")
    window.close()


def test_the_engine_words_are_translated_whole_or_left_alone(german):
    assert engine_text("NG rate 40 % over the last 50 parts (limit 20 %)") == (
        "NIO-Quote 40 % über die letzten 50 Teile (Grenze 20 %)"
    )
    assert engine_text("line link PLC is down") == "Linienanbindung PLC ausgefallen"
    assert engine_text("shift 06:00–14:00") == "Schicht 06:00–14:00"
    assert engine_text("U-Net + anomaly") == "U-Net + Anomalie"
    assert engine_text("a text no pattern knows") == "a text no pattern knows"


def test_the_review_screen_speaks_german(qtbot, german, tiny_bundle, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    cv2.imwrite(str(folder / "red.png"), part(RED))  # anomaly NG, U-Net OK: models disagree
    store = open_store(tmp_path / "out")
    station = Station(store, provider="cpu")
    station.prepare(Recipe("r", str(tiny_bundle), archive="none", review=ReviewPolicy()), "test")
    station.run(folder)
    screen = ReviewScreen(ReviewQueue(store), lambda: "anna")
    qtbot.addWidget(screen)
    try:
        assert screen.windowTitle() == "Prüfwarteschlange"
        assert screen.reasons.text() == "Warum eingereiht: Modelle uneins"
        assert "U-Net: IO" in screen.scores.text() and "Anomalie: NIO" in screen.scores.text()
        assert screen.good_button.text() == "✔ Gut  (G)"
        assert screen.count_label.text() == "1 gelistet, 1 offen"
        assert "NIO" in screen.list.item(0).text()
    finally:
        screen.close()
        store.close()


@pytest.mark.parametrize(("lang", "expected"), [("de_DE.UTF-8", "de"), ("fr_FR.UTF-8", "en")])
def test_the_language_at_start_follows_the_system_locale(lang, expected):
    code = (
        "from PySide6.QtCore import QCoreApplication; from gui.i18n import install; "
        "print(install(QCoreApplication([])))"
    )
    env = {**os.environ, "LANG": lang, "LC_ALL": lang, "LANGUAGE": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_the_language_is_chosen_in_the_settings(qtbot, qsettings, tiny_bundle, tmp_path):
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    dialog = open_engineer_settings(window)
    codes = [dialog.language.itemData(i) for i in range(dialog.language.count())]
    assert codes == ["", "en", "de"]
    dialog.language.setCurrentIndex(dialog.language.findData("de"))
    dialog.accept()
    assert StationSettings.load(qsettings).language == "de"  # what `station` installs at start
    window.close()


def messages(ts: Path) -> list[tuple[str, str, ET.Element]]:
    root = ET.parse(ts).getroot()
    return [
        (context.findtext("name"), message.findtext("source"), message.find("translation"))
        for context in root.iter("context")
        for message in context.iter("message")
    ]


@pytest.mark.parametrize("ts", TS_FILES, ids=lambda p: p.name)
def test_the_shipped_qm_files_hold_what_their_sources_say(ts):
    """Compared by content (what the window gets), not bytes: another lrelease may differ."""
    translator = QTranslator()
    assert translator.load(str(ts.with_suffix(".qm")))
    for context, source, translation in messages(ts):
        if translation.get("type") != "unfinished" and translation.text:
            assert translator.translate(context, source) == translation.text, "run build.py"


def test_every_german_text_is_translated():
    ts = i18n.FOLDER / "station_de.ts"
    unfinished = [(c, s) for c, s, t in messages(ts) if t.get("type") == "unfinished"]
    assert unfinished == []


def test_operator_mode_is_for_touch(qtbot, styled, qsettings, tiny_bundle, tmp_path):
    settings = StationSettings.load(qsettings)
    settings.trigger_mode = "software"
    settings.save(qsettings)
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    window.resize(1400, 900)
    window.show()
    window.set_operator_mode(True)
    window.errors.add_error("a message to dismiss")
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()
    controls = [
        w
        for w in window.findChildren(QAbstractButton) + window.findChildren(QComboBox)
        if w.isVisible() and w.window() is window
    ]
    names = {w.text() for w in controls if isinstance(w, QAbstractButton)}
    assert {"START", "TRIGGER", "Leave operator mode"} <= names
    small = [(type(w).__name__, w.objectName(), w.width(), w.height()) for w in controls]
    assert all(w.height() >= TOUCH_PX and w.width() >= TOUCH_PX for w in controls), small
    assert not window.menuBar().isVisible() and not window.toolbar.isVisible()
    leave = window.trigger_panel.leave_button
    leave.click()  # no keyboard needed to leave
    assert not window.operator_mode and leave.isHidden()
    window.close()
