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

from gui import settings as persisted  # noqa: E402
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
    persisted.set_password(store, PASSWORD)
    window = MainWindow(store, settings)
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
        gate = window.open_settings()
        gate.password.setText(PASSWORD)
        gate.accept()
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

        # Operator view: full screen, large type, an NG part with its overlay.
        run_source(app, window, args.images / args.ng_image)
        window.set_operator_mode(True)
        settle(app, 0.5)
        window.view.fit()
        grab(app, args.out / "operator_ng.png")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
