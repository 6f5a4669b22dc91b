"""Screenshots of the real station window for docs/screenshots/ (run under Xvfb).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python bench/screenshots.py \
        --images /work/shared/data/mvtec_ad/metal_nut/test [--bundle runs/.../bundle]

Without --bundle it builds the tiny test bundle (bright pixels count as defects), so the marked
regions are then only as meaningful as that rule. Settings and results go to a temporary folder:
the user's own settings are never touched.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QTabWidget

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.users import Level  # noqa: E402
from gui.app import APPLICATION, ORGANIZATION  # noqa: E402
from gui.assets import apply_style  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import StationSettings  # noqa: E402

SIZE = (1600, 1000)
PASSWORD = "screenshots"


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.01)


def grab(app: QApplication, path: Path) -> None:
    settle(app)
    screen = QGuiApplication.primaryScreen()
    if not screen.grabWindow(0).save(str(path)):
        raise OSError(f"{path}: could not save screenshot")
    logging.info("wrote %s", path)


def open_window(bundle: Path, output: Path, ini: Path) -> MainWindow:
    store = QSettings(str(ini), QSettings.Format.IniFormat)
    settings = StationSettings(bundle=str(bundle), output_dir=str(output))
    window = MainWindow(store, settings)
    window.access.session.book.add("engineer", Level.ENGINEER, PASSWORD)
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()
    window.load_bundle(str(bundle))
    return window


def run_source(app: QApplication, window: MainWindow, source: Path) -> None:
    window.set_source(str(source))
    window.start()
    wait_until(app, lambda: window.run is None)
    settle(app)


def mixed_folder(images: Path, target: Path, good: int = 12, per_defect: int = 3) -> Path:
    """A line's mix: good parts with a few of each defect type, interleaved (copies in a
    temporary folder: the data set is only read)."""
    target.mkdir(parents=True, exist_ok=True)
    chosen = sorted((images / "good").glob("*.png"))[:good]
    for folder in sorted(p for p in images.iterdir() if p.is_dir() and p.name != "good"):
        chosen += sorted(folder.glob("*.png"))[:per_defect]
    for index, source in enumerate(sorted(chosen, key=lambda p: p.stem + p.parent.name)):
        shutil.copyfile(source, target / f"{index:03d}_{source.parent.name}_{source.name}")
    return target


def fresh_copy(source: Path, folder: Path) -> Path:
    """`source` copied into `folder`, a file no run of this window has seen."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(source, folder / source.name))


def verdict_shots(app: QApplication, window: MainWindow, args, scratch: Path) -> None:
    """The engineer's statistics over a lot, then the operator screen with an OK part, an NG
    part with the per-model table, and an alarm."""
    window.statistics.move(30, 110)
    window.statistics.view.chart_interval_s = 0  # the charts follow every snapshot
    window.statistics.show()
    window.statistics.view.lot_name.setText("L-2026-1201-A")
    window.statistics.view.start_button.click()
    run_source(app, window, mixed_folder(args.images, scratch / "line"))
    window.statistics.feed.refresh()
    wait_until(app, lambda: window.statistics.view.shown is not None)
    settle(app, 2.5)  # a snapshot taken after the last part
    grab(app, args.out / "engineer_statistics.png")

    # Copies under new names: an image this run inspected already would be passed over.
    run_source(app, window, fresh_copy(args.images / args.ok_image, scratch / "ok"))
    window.set_operator_mode(True)
    settle(app, 0.5)
    window.view.fit()
    grab(app, args.out / "operator_ok.png")
    run_source(app, window, fresh_copy(args.images / args.ng_image, scratch / "ng"))
    window.view.fit()
    grab(app, args.out / "operator_ng.png")

    window.settings.alarm_consecutive_ng = 3
    window.apply_settings(window.settings)
    window.mode_box.setCurrentIndex(window.mode_box.findData("heatmap"))  # the heat legend
    ng_folder = args.images / Path(args.ng_image).parent
    streak = scratch / "streak"
    for source in sorted(ng_folder.glob("*.png"))[:3]:
        fresh_copy(source, streak)
    run_source(app, window, streak)
    window.view.fit()
    grab(app, args.out / "operator_alarm.png")
    window.set_operator_mode(False)


def review_shots(app: QApplication, window: MainWindow, images: Path, out: Path) -> None:
    """The review screen (engineer): a defective part being painted, and a good part an
    operator flagged. The station's own queue rules queue what they queue; a part they pass
    over is flagged from the window, as an operator would."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    from engine.review import ReviewQueue
    from engine.users import Level

    queue, shown = ReviewQueue(window.results), []
    for name in ("scratch/000.png", "good/000.png"):
        run_source(app, window, images / name)
        if queue.for_inspection(window.current.result_id) is None:
            window.review.flag_current()
        shown.append(window.current.result_id)
    session = window.access.session
    session.book.add("reviewer", Level.ENGINEER, PASSWORD)
    session.login("reviewer", PASSWORD)
    screen = window.review.show_review()
    screen.resize(*SIZE)
    screen.move(0, 0)
    screen.filter.setCurrentIndex(screen.filter.findData(None))  # all: earlier shots queued too
    rows = [item.inspection_id for item in screen.items]
    settle(app)
    screen.show_row(rows.index(shown[0]))
    screen.choose("defective")  # the painter starts from the U-Net's mask
    if "scratch" in screen.item.defect_types:
        screen.choose_type(screen.item.defect_types.index("scratch") + 1)
    painter = screen.editor.painter
    ys, xs = painter.mask().nonzero()
    if len(xs):  # zoom on the defect and widen it with a stroke of the brush
        painter.zoom_by(1.6)
        painter.centerOn(QPointF(xs.mean(), ys.mean()))
        painter.set_brush(14)
        start = painter.mapFromScene(QPointF(xs.max(), ys.min()))
        end = painter.mapFromScene(QPointF(xs.max() + 10, ys.mean()))
        viewport, left, plain = (
            painter.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier(0),
        )
        QTest.mousePress(viewport, left, plain, start)
        QTest.mouseMove(viewport, end)
        QTest.mouseRelease(viewport, left, plain, end)
        QTest.mouseMove(viewport, end)  # the brush outline stays under the mouse
    grab(app, out / "review_defective.png")
    screen.show_row(rows.index(shown[1]))
    screen.choose("good")
    grab(app, out / "review_good.png")
    screen.close()
    session.logout()


def access_shots(app: QApplication, window: MainWindow, args, scratch: Path) -> None:
    """Users and the line: the recipe list with a recipe open to operators, the users dialog,
    the audit trail of those changes, and the line panel with a PLC on Modbus TCP."""
    from bench.mosquitto import free_port
    from engine.line.modbus_map import Coil
    from tests.test_modbus import Plc

    session = window.access.session
    session.book.add("anna", Level.ADMINISTRATOR, PASSWORD)
    session.book.add("olaf", Level.OPERATOR, PASSWORD)
    session.login("engineer", PASSWORD)
    run_source(app, window, args.images / args.ng_image)
    dialog = window.open_settings()
    dialog.recipes_file.setText(str(scratch / "recipes.toml"))
    dialog._recipes_file_changed()
    editor = dialog.recipe_editor
    for recipe_id, name, for_operators in (
        ("nut_m8", "Metal nut M8", True),
        ("nut_m10", "Metal nut M10", True),
        ("nut_m8_strict", "Metal nut M8, audit lot", False),
    ):
        editor.new_recipe()
        editor.id.setText(recipe_id)
        editor.name.setText(name)
        editor.operator_select.setChecked(for_operators)
    editor.save()
    editor.table.selectRow(0)
    dialog.findChild(QTabWidget).setCurrentIndex(2)
    dialog.resize(860, 900)
    dialog.move(40, 40)
    grab(app, args.out / "recipe_list.png")
    dialog.image_threshold.setValue(dialog.image_threshold.value() * 1.05)
    dialog.accept()
    window.recipe_box.setCurrentIndex(window.recipe_box.findData("nut_m10"))
    wait_until(app, lambda: window.station.recipe.id == "nut_m10")
    session.logout()

    session.login("anna", PASSWORD)
    users = window.access.open_users()
    users.select("olaf")
    users.level.setCurrentIndex(users.level.findData(Level.ENGINEER))
    users.apply_to_selected()
    users.move(60, 40)
    grab(app, args.out / "users_dialog.png")
    users.close()
    audit = window.access.open_audit()
    audit.resize(1300, 520)
    audit.move(60, 40)
    grab(app, args.out / "audit_trail.png")
    audit.close()
    session.logout()

    # The line: a PLC on Modbus TCP triggers parts; the panel shows each link's lights.
    window.settings.modbus = f"127.0.0.1:{free_port()}"
    window._start_links()
    window.trigger_box.setCurrentIndex(window.trigger_box.findData("software"))
    window.set_source(str(args.images / args.batch_folder))
    window.start()
    wait_until(app, lambda: window.station.taking_triggers)
    plc = Plc(int(window.settings.modbus.rsplit(":", 1)[1]))
    try:
        plc.coil(Coil.ENABLE, True)
        plc.inspect("SN-7001")
        plc.inspect("SN-7002")
    finally:
        plc.close()
    window._show_links()
    wait_until(app, lambda: window.station.taking_triggers)
    grab(app, args.out / "line_panel.png")
    window.stop()
    wait_until(app, lambda: not window.station.running)
    window.settings.modbus = ""
    window._start_links()
    window.trigger_box.setCurrentIndex(window.trigger_box.findData("continuous"))


def german_shot(app: QApplication, bundle: Path, args, scratch: Path) -> None:
    """A fresh window in German (translations load before widgets are built), on an NG part."""
    from gui import i18n

    i18n.install(app, "de")
    try:
        (scratch / "de").mkdir()  # its own settings and users file
        window = open_window(bundle, scratch / "de" / "out", scratch / "de" / "station.ini")
        wait_until(app, lambda: window.inspector is not None)
        run_source(app, window, args.images / args.ng_image)
        grab(app, args.out / "window_de.png")
        window.close()
    finally:
        i18n.install(app, "en")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, required=True, help="MVTec-layout test folder")
    parser.add_argument("--bundle", type=Path, help="model bundle (default: the tiny test one)")
    parser.add_argument(
        "--ng-image",
        default="color/006.png",
        help="image under --images that the bundle finds NG (the default suits the tiny bundle)",
    )
    parser.add_argument("--batch-folder", default="scratch", help="folder under --images")
    parser.add_argument("--ok-image", default="good/000.png", help="an image the bundle finds OK")
    parser.add_argument(
        "--only-verdicts",
        action="store_true",
        help="only the operator OK / NG / alarm shots and the statistics view",
    )
    parser.add_argument("--only-review", action="store_true", help="only the review screen's shots")
    parser.add_argument(
        "--only-access",
        action="store_true",
        help="only the recipe list, users, audit trail, line panel and German window shots",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_style(app)
    with tempfile.TemporaryDirectory(prefix="station-shots-") as scratch:
        scratch = Path(scratch)
        bundle = args.bundle
        if bundle is None:
            from training.tiny_bundle import make_tiny_bundle

            bundle = make_tiny_bundle(scratch / "tiny_bundle")
        window = open_window(bundle, scratch / "out", scratch / "station.ini")
        wait_until(app, lambda: window.inspector is not None or bool(window.errors.messages))
        if window.inspector is None:
            raise SystemExit(f"bundle did not load: {window.errors.messages}")
        if args.only_verdicts:
            verdict_shots(app, window, args, scratch)
            window.close()
            return 0
        if args.only_review:
            review_shots(app, window, args.images, args.out)
            window.close()
            return 0
        if args.only_access:
            access_shots(app, window, args, scratch)
            window.close()
            german_shot(app, bundle, args, scratch)
            return 0

        # Engineer view: a finished batch run of a defect folder, paused part-way.
        window.set_source(str(args.images / args.batch_folder))
        window.start()
        wait_until(app, lambda: window.counters.counts.total >= 14 or window.run is None)
        window.toggle_pause()
        wait_until(app, lambda: window.run is None or window.station.paused)
        grab(app, args.out / "batch_run.png")
        window.stop()
        wait_until(app, lambda: window.run is None)

        # Engineer settings over an NG result.
        run_source(app, window, args.images / args.ng_image)
        window.access.session.login("engineer", PASSWORD)
        window.open_settings()
        settle(app)
        dialog = window.settings_dialog
        dialog.move(60, max(40, SIZE[1] - dialog.height() - 40))
        grab(app, args.out / "engineer_settings.png")
        # The recipes tab, with two products in a recipe file.
        editor = dialog.recipe_editor
        for recipe_id, name in (("nut_m8", "Metal nut M8"), ("nut_m10", "Metal nut M10")):
            editor.new_recipe()
            editor.id.setText(recipe_id)
            editor.name.setText(name)
        dialog.findChild(QTabWidget).setCurrentIndex(2)
        grab(app, args.out / "engineer_recipes.png")
        dialog.reject()

        # Software trigger: the station waits in Ready; a part id goes with the trigger.
        window.trigger_box.setCurrentIndex(window.trigger_box.findData("software"))
        window.set_source(str(args.images / args.batch_folder))
        window.start()
        wait_until(app, lambda: window.station.taking_triggers)
        window.part_id.setText("SN-20261201-0042")
        done = window.counters.counts.total
        window.send_trigger()
        wait_until(app, lambda: window.counters.counts.total > done)
        wait_until(app, lambda: window.station.taking_triggers)
        window.part_id.setText("SN-20261201-0043")
        grab(app, args.out / "software_trigger.png")
        window.stop()
        wait_until(app, lambda: not window.station.running)
        window.trigger_box.setCurrentIndex(window.trigger_box.findData("continuous"))

        review_shots(app, window, args.images, args.out)
        access_shots(app, window, args, scratch)
        # Operator view: full screen, large type, OK and NG parts, an alarm; the statistics.
        verdict_shots(app, window, args, scratch)
        window.close()
        german_shot(app, bundle, args, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
