"""Progress of a folder run, with pause and cancel, and the results export buttons."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from gui.assets import icon


class BatchPanel(QWidget):
    pause_toggled = Signal(bool)
    cancel_requested = Signal()
    export_requested = Signal(str)  # "csv" or "json"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self.tr("No folder run"))
        self.label.setWordWrap(True)
        self._title, self._watching = "", False
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m")
        self.pause = QPushButton(icon("pause"), self.tr("Pause"), checkable=True)
        self.pause.toggled.connect(self._pause_toggled)
        self.cancel = QPushButton(icon("cancel"), self.tr("Cancel"))
        self.cancel.clicked.connect(self.cancel_requested)
        self.export_csv = QPushButton(icon("export"), self.tr("Export CSV…"))
        self.export_csv.clicked.connect(lambda: self.export_requested.emit("csv"))
        self.export_json = QPushButton(icon("export"), self.tr("Export JSON…"))
        self.export_json.clicked.connect(lambda: self.export_requested.emit("json"))
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.label, 0, 0, 1, 2)
        grid.addWidget(self.bar, 1, 0, 1, 2)
        grid.addWidget(self.pause, 2, 0)
        grid.addWidget(self.cancel, 2, 1)
        grid.addWidget(self.export_csv, 3, 0)
        grid.addWidget(self.export_json, 3, 1)
        self.set_running(False)

    def _pause_toggled(self, paused: bool) -> None:
        self.pause.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.pause_toggled.emit(paused)

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.pause.blockSignals(True)
        self.pause.setChecked(paused)
        self.pause.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.pause.blockSignals(False)
        self.pause.setEnabled(running)
        self.cancel.setEnabled(running)

    def start(self, name: str, watching: bool = False, skipped: int = 0) -> None:
        """A folder run began; `skipped` images were inspected before and are passed over."""
        self._watching = watching
        watching_text, run_text = (
            self.tr("Watching {name} for new images"),
            self.tr("Folder run: {name}"),
        )
        self._title = (watching_text if watching else run_text).format(name=name)
        if skipped:
            self._title += self.tr(" ({skipped} inspected before, passed over)").format(
                skipped=skipped
            )
        self.label.setText(self._title)
        self.bar.setRange(0, 0)  # busy until the source says how many frames it has
        self.bar.setValue(0)

    def set_progress(self, done: int, total: int) -> None:
        if self._watching:  # no end to count towards: the bar stays busy, the label counts
            self.label.setText(
                self.tr("{title}: {done} inspected").format(title=self._title, done=done)
            )
            return
        if total:
            self.bar.setRange(0, total)
        self.bar.setValue(done)

    def finish(self, text: str) -> None:
        self.label.setText(text)
        if self.bar.maximum() == 0:
            self.bar.setRange(0, max(self.bar.value(), 1))
        self.set_running(False)
