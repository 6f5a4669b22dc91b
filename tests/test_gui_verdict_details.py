"""What a verdict shows in the window: replays as recorded, the per-model table, the legend, the
history from the store with paging, alarms on the operator screen, and the statistics view.

Offscreen Qt, real onnxruntime on the tiny bundle (bright blobs are defects) and real SQLite.
"""

import dataclasses
import time

import cv2
import numpy as np
import pytest

from engine import alarms, lots
from engine.bundle import load_bundle
from engine.inspector import Inspector
from engine.overlay import ANOMALY_BGR, render_overlay
from gui.history import RECENT_MAX
from gui.legend import heat_position
from gui.main_window import MainWindow
from gui.model_table import details_of_result, table_rows
from gui.settings import StationSettings
from tests.test_gui import (
    RUN_TIMEOUT_MS,
    open_window,
    opened_window,
    part,
    run_to_end,
    write_parts,
)


@pytest.fixture()
def window(qtbot, qsettings, tiny_bundle, tmp_path):
    yield from opened_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")


def click(thumbs, row: int) -> None:
    thumbs.itemClicked.emit(thumbs.item(row))


def test_a_replay_shows_the_recorded_verdict_not_todays(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "NO"))
    raised = dataclasses.replace(window.thresholds, image_threshold=0.999, min_defect_area_px=5000)
    window.apply_thresholds(raised)  # thresholds raised: this NG part would now pass

    click(window.history.ng, 0)
    stored = window.results.records()[0]
    assert stored.verdict == "NG" and window.current.frame.id == "part_00.png"
    assert window.verdict.banner.verdict == "NG"  # still NG: the recorded verdict
    clock = time.strftime("%H:%M:%S", time.localtime(stored.time))
    assert f"RECORDED {clock}" in window.verdict.banner.detail.text()
    table = window.model_table
    assert table.mark.text() == f"recorded {clock}" and table.mark.isVisibleTo(window)
    assert table.cell(table.table.rowCount() - 1, 1) == "U-Net + anomaly score"
    assert "≥ 0.800" in [table.cell(r, 2) for r in range(table.table.rowCount())]  # recorded

    # The what-if is a separate, labelled action: today's thresholds pass the part.
    assert table.what_if.isVisibleTo(window)
    table.what_if.click()
    assert window.verdict.banner.verdict == "OK"
    assert "WHAT-IF" in window.verdict.banner.detail.text() and "WHAT-IF" in table.mark.text()
    assert window.results.get(stored.id).verdict == "NG"  # the store is untouched
    click(window.history.ng, 0)  # clicked again: recorded once more
    assert (
        window.verdict.banner.verdict == "NG" and "RECORDED" in window.verdict.banner.detail.text()
    )
    # A threshold change while the replay is on screen leaves it as recorded.
    window.apply_thresholds(dataclasses.replace(raised, min_defect_area_px=6000))
    assert window.verdict.banner.verdict == "NG"


def test_history_and_gallery_come_from_the_store_after_a_restart(
    qtbot, qsettings, tiny_bundle, tmp_path
):
    output = tmp_path / "out"
    window = open_window(qtbot, qsettings, tiny_bundle, output)
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ONO"))
    window.close()

    window = open_window(qtbot, qsettings, tiny_bundle, output)
    assert window.history.recent.count() == 3 and window.history.ng.count() == 1
    assert window.history.tabText(1) == "NG gallery (1)"
    click(window.history.ng, 0)
    assert window.current is None  # not in memory: shown from the store and the archive
    assert (
        window.verdict.banner.verdict == "NG" and "RECORDED" in window.verdict.banner.detail.text()
    )
    assert window.view.has_image  # the archived NG overlay
    assert not window.model_table.what_if.isVisibleTo(window)  # no planes left to re-judge
    click(window.history.recent, 0)  # an OK part: no image archived by default
    assert window.verdict.banner.verdict == "OK"
    window.close()


def test_history_pages_beyond_the_newest_24(qtbot, window, tmp_path):
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "N" + "O" * 29))
    recent, pager = window.history.recent, window.history.recent_pager
    assert recent.count() == RECENT_MAX
    assert pager.label.text() == "page 1 / 2 · 30 parts" and not pager.newer.isEnabled()
    pager.older.click()
    assert recent.count() == 6 and pager.page == 1 and not pager.older.isEnabled()
    click(recent, 5)  # the oldest part, from the store
    assert window.verdict.banner.verdict == "NG"
    # a new part while an older page is shown leaves the page as it is and counts it
    run_to_end(qtbot, window, write_parts(tmp_path / "more", "O"))
    assert recent.count() == 6 and pager.total == 31
    pager.newer.click()
    assert recent.count() == RECENT_MAX and recent.replays()[0].record.frame_id == "part_00.png"


def _blob_image(side: int = 96) -> np.ndarray:
    image = np.full((side, side, 3), 70, np.uint8)
    image[20:36, 30:46] = 250  # 16 x 16: bright for both tiny models
    return image


def test_per_model_table_shows_a_near_miss_and_an_anomaly_only_rejection(tiny_bundle):
    inspector = Inspector(load_bundle(tiny_bundle))
    image = _blob_image()
    strict = dataclasses.replace(inspector.thresholds, min_defect_area_px=1000)
    result = inspector.inspect(image, strict)
    assert result.verdict.value == "NG" and result.rejected_by == ("anomaly",)
    assert not [r for r in result.regions if r.source == "segmentation"]
    assert 200 <= result.near_miss_px < 1000  # the blob, below the minimum: a near miss
    anomaly = [r for r in result.regions if r.source == "anomaly"]
    assert len(anomaly) == 1  # its hot area is below the minimum, still shown
    overlay = render_overlay(image, result, "mask", banner=False)
    assert (overlay == np.array(ANOMALY_BGR, np.uint8)).all(axis=2).any()  # outlined, mask mode

    rows = table_rows(details_of_result(result))
    assert rows[0] == ("U-Net segmentation", "no region", "≥ 1000 px", "OK")
    assert rows[1] == ("  near miss", f"{result.near_miss_px} px", "≥ 1000 px", "near miss")
    assert rows[2][0] == "Anomaly model" and rows[2][3] == "NG" and "1 region(s)" in rows[2][1]
    assert rows[3] == ("Global PCA + K-means", f"score {result.global_score:.3g}", "–", "info only")
    assert rows[-1] == ("Rejected by", "anomaly score", "", "NG")

    ok = inspector.inspect(np.full((96, 96, 3), 70, np.uint8))
    assert ok.rejected_by == () and ok.near_miss_px == 0
    assert table_rows(details_of_result(ok))[-1] == ("Rejected by", "–", "", "OK")


def test_the_window_shows_the_table_and_a_legend_matching_the_overlay(qtbot, window, tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), part(defect=True))
    run_to_end(qtbot, window, tmp_path / "one.png")
    table = window.model_table
    assert table.cell(0, 0) == "U-Net segmentation" and table.cell(0, 3) == "NG"
    assert not table.mark.isVisibleTo(window)  # a live part is no replay
    legend = window.legend
    assert legend.mode == "mask" and legend.entries()[0] == "U-Net defect (filled)"
    window.mode_box.setCurrentIndex(window.mode_box.findData("heatmap"))
    assert legend.mode == "heatmap" and "map threshold" in legend.entries()[-1]
    spec = window.inspector.bundle.anomaly
    assert legend.threshold_at == heat_position(spec.map_threshold, spec.map_low, spec.map_high)
    assert legend.threshold_at == pytest.approx(0.6)  # (0.8 - 0.5) / (1.0 - 0.5)
    assert not legend.grab().toImage().isNull()
    window.mode_box.setCurrentIndex(window.mode_box.findData("none"))
    assert not legend.isVisibleTo(window)
    window.show()
    window.set_operator_mode(True)  # reasons readable at 2 m
    assert "36px" in window.verdict.banner.detail.styleSheet()
    assert table.isVisible() and "22px" in table.table.styleSheet()
    window.leave_modes()


def test_an_alarm_shows_on_the_operator_screen_until_acknowledged(qtbot, window, tmp_path):
    window.settings.alarm_consecutive_ng = 3
    window.apply_settings(window.settings)
    window.show()
    window.set_operator_mode(True)
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "ONNN"))
    panel = window.alarm_panel
    assert panel.isVisible() and [a.kind for a in panel.alarms] == [alarms.CONSECUTIVE_NG]
    (button,) = [b for b in panel.findChildren(type(window.big_start)) if b.isVisible()]
    assert button.height() >= 48  # a touch target
    (alarm,) = alarms.open_alarms(window.results)
    button.click()
    assert not panel.isVisible() and alarms.open_alarms(window.results) == []
    (logged,) = alarms.alarm_log(window.results)
    assert logged.id == alarm.id and logged.acknowledged_by == window.access.session.who
    window.leave_modes()


def test_statistics_view_and_lot_and_shift_counters(qtbot, window, tmp_path):
    dock = window.statistics
    window.show()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()
    view = dock.view
    view.chart_interval_s = 0  # the charts follow every snapshot
    view.lot_name.setText("L-1")
    view.start_button.click()
    assert lots.current_lot(window.results).name == "L-1"
    run_to_end(qtbot, window, write_parts(tmp_path / "parts", "OONO"))
    dock.feed.refresh()
    qtbot.waitUntil(
        lambda: (
            view.shown is not None and getattr(view.shown.counts.get("lot L-1"), "total", 0) == 4
        ),
        timeout=RUN_TIMEOUT_MS,
    )
    labels = [view.counts.verticalHeaderItem(r).text() for r in range(view.counts.rowCount())]
    assert labels[:2] == ["running total", "lot L-1"] and labels[-1] == "last hour"
    assert [view.counts.item(1, c).text() for c in range(4)] == ["4", "3", "1", "75.0 %"]
    timing = [view.timings.item(0, c).text() for c in range(5)]
    assert all(t != "–" for t in timing[:4])
    assert view.shown.reasons == {"U-Net + anomaly": 1}
    assert len(view.trend.getData()[0]) == 1
    # The counter panel gets the same snapshot by a signal of its own, queued after the view's.
    qtbot.waitUntil(
        lambda: window.counters.periods.text().startswith("lot L-1: 4 parts"),
        timeout=RUN_TIMEOUT_MS,
    )
    lines = window.counters.periods.text().splitlines()
    assert lines[0] == "lot L-1: 4 parts, 1 NG, 75.0 %" and lines[1].startswith("shift ")
    view.end_button.click()
    assert lots.current_lot(window.results) is None
    window.set_operator_mode(True)
    assert not dock.isVisible()  # an engineer's view
    window.leave_modes()
    assert dock.isVisible()


def test_a_line_link_down_raises_an_alarm_on_screen(qtbot, qsettings, tiny_bundle, tmp_path):
    from bench.mosquitto import free_port

    settings = StationSettings.load(qsettings)
    settings.bundle, settings.output_dir = str(tiny_bundle), str(tmp_path / "out")
    settings.mqtt = f"mqtt://127.0.0.1:{free_port()}"  # no broker listens there
    window = MainWindow(qsettings, settings)
    qtbot.addWidget(window)
    try:
        window._show_links()  # as its timer does every second
        (alarm,) = window.alarm_panel.alarms
        assert (alarm.kind, alarm.subject) == (alarms.LINK_DOWN, "MQTT")
        assert "line link MQTT is down" in alarm.message
        window._show_links()
        assert len(alarms.open_alarms(window.results)) == 1  # once while it stays down
    finally:
        window.close()
