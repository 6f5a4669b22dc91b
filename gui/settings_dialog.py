"""Engineer settings (engineers and administrators): thresholds (live), model, provider,
output, archive, recipes, line links. Not modal: the window stays usable while it is open."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.inspector import default_thresholds
from engine.line.links import KINDS as LINK_KINDS
from engine.line.links import hash_opcua_password
from engine.providers import available_choices
from engine.result import Thresholds
from gui.alarm_settings import AlarmSettingsTab
from gui.i18n import LANGUAGES, system_language
from gui.recipe_editor import RecipeEditor
from gui.settings import (
    ARCHIVE_CHOICES,
    StationSettings,
    default_recipes_file,
)
from gui.source_picker import PathRefused, Wanted, ask_path, check_path

if TYPE_CHECKING:
    from engine.inspector import Inspector

# Marked for translation here (context SettingsDialog), translated where shown.
ARCHIVE_LABELS = {
    "ng": QT_TRANSLATE_NOOP("SettingsDialog", "NG images only"),
    "all": QT_TRANSLATE_NOOP("SettingsDialog", "all images"),
    "none": QT_TRANSLATE_NOOP("SettingsDialog", "nothing"),
}
LINK_LABELS = {
    "modbus": QT_TRANSLATE_NOOP("SettingsDialog", "PLC (Modbus TCP) listens on"),
    "opcua": QT_TRANSLATE_NOOP("SettingsDialog", "OPC UA server listens on"),
    "mqtt": QT_TRANSLATE_NOOP("SettingsDialog", "MQTT broker"),
}


def _path_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


class SettingsDialog(QDialog):
    """Thresholds act at once (`thresholds_changed` on every edit, Cancel restores them);
    model, provider and output settings apply on OK (`applied`)."""

    thresholds_changed = Signal(object)  # Thresholds
    applied = Signal(object)  # StationSettings
    recipes_saved = Signal(object)  # RecipeBook, written to the recipe file

    def __init__(
        self,
        settings: StationSettings,
        inspector: Inspector | None,
        thresholds: Thresholds | None,
        parent: QWidget | None = None,
        links: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Engineer settings"))
        self.setMinimumWidth(560)
        self.settings = dataclasses.replace(settings)
        self.inspector = inspector
        self.original = thresholds
        self.link_states = links or {}  # kind: what the running link says now
        tabs = QTabWidget()
        tabs.addTab(self._threshold_tab(thresholds), self.tr("Thresholds"))
        tabs.addTab(self._station_tab(), self.tr("Model and output"))
        tabs.addTab(self._recipes_tab(), self.tr("Recipes"))
        tabs.addTab(self._links_tab(), self.tr("Line links"))
        self.alarm_tab = AlarmSettingsTab(self.settings)
        tabs.addTab(self.alarm_tab, self.tr("Alarms and shifts"))
        tabs.addTab(self._model_info_tab(), self.tr("Model info"))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.message = QLabel(objectName="settingsMessage", wordWrap=True)
        self.message.setStyleSheet("color: #ff9e80;")
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    # --- thresholds ----------------------------------------------------------------------------
    def _threshold_tab(self, thresholds: Thresholds | None) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.image_threshold = QDoubleSpinBox(decimals=4, singleStep=0.01, maximum=1e6)
        self.pixel_threshold = QDoubleSpinBox(decimals=3, singleStep=0.01, maximum=1.0)
        self.min_area = QSpinBox(maximum=10_000_000, singleStep=10, suffix=self.tr(" px"))
        self.image_threshold.setToolTip(self.tr("Anomaly score at or above which the part is NG"))
        self.pixel_threshold.setToolTip(
            self.tr("Defect probability at or above which a pixel is defective")
        )
        self.min_area.setToolTip(
            self.tr("Smaller defect regions are ignored (pixels of the original image)")
        )
        form.addRow(self.tr("Image score threshold"), self.image_threshold)
        form.addRow(self.tr("Pixel threshold"), self.pixel_threshold)
        form.addRow(self.tr("Minimum defect area"), self.min_area)
        self.defaults_button = QPushButton(self.tr("Restore the bundle's thresholds"))
        self.defaults_button.clicked.connect(self.restore_defaults)
        form.addRow(self.defaults_button)
        note = QLabel(
            self.tr("The verdict of the image on screen follows these values as you change them.")
        )
        note.setWordWrap(True)
        form.addRow(note)
        self._show_thresholds(thresholds)
        for box in (self.image_threshold, self.pixel_threshold, self.min_area):
            box.valueChanged.connect(self._emit_thresholds)
        return tab

    def _show_thresholds(self, thresholds: Thresholds | None) -> None:
        self._thresholds = thresholds
        pairs = [
            (self.image_threshold, thresholds and thresholds.image_threshold),
            (self.pixel_threshold, thresholds and thresholds.pixel_threshold),
            (self.min_area, thresholds and thresholds.min_defect_area_px),
        ]
        for box, value in pairs:
            box.blockSignals(True)
            box.setEnabled(value is not None and thresholds is not None)
            box.setValue(value or 0)
            box.blockSignals(False)
        if thresholds is not None and thresholds.pixel_threshold is None:
            self.min_area.setEnabled(False)  # without segmentation the area only filters the map
        self.defaults_button.setEnabled(self.inspector is not None)

    def thresholds(self) -> Thresholds | None:
        if self._thresholds is None:
            return None
        return dataclasses.replace(
            self._thresholds,
            image_threshold=self.image_threshold.value()
            if self.image_threshold.isEnabled()
            else self._thresholds.image_threshold,
            pixel_threshold=self.pixel_threshold.value()
            if self.pixel_threshold.isEnabled()
            else self._thresholds.pixel_threshold,
            min_defect_area_px=self.min_area.value()
            if self.min_area.isEnabled()
            else self._thresholds.min_defect_area_px,
        )

    def _emit_thresholds(self) -> None:
        thresholds = self.thresholds()
        if thresholds is not None:
            self.thresholds_changed.emit(thresholds)

    def restore_defaults(self) -> None:
        if self.inspector is not None:
            self._show_thresholds(default_thresholds(self.inspector.bundle))
            self._emit_thresholds()

    # --- model and output ----------------------------------------------------------------------
    def _station_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.bundle = QLineEdit(self.settings.bundle)
        bundle_folder = QPushButton(self.tr("Folder…"))
        bundle_folder.clicked.connect(self._browse_bundle_folder)
        bundle_zip = QPushButton(self.tr("Zip…"))
        bundle_zip.clicked.connect(self._browse_bundle_zip)
        row = _path_row(self.bundle, bundle_folder)
        row.layout().addWidget(bundle_zip)
        form.addRow(self.tr("Model bundle"), row)
        self.provider = QComboBox()
        choices = available_choices()
        self.provider.addItems(choices)
        # A provider this onnxruntime lacks (a stale setting) shows as auto: the window runs that.
        current = self.settings.provider
        self.provider.setCurrentIndex(choices.index(current) if current in choices else 0)
        self.provider.setToolTip(
            self.tr(
                "Only those this onnxruntime can run. auto: the fastest of them (CUDA, DirectML, "
                "CoreML, then CPU)"
            )
        )
        form.addRow(self.tr("Execution provider"), self.provider)
        self.output_dir = QLineEdit(self.settings.output_dir)
        output_browse = QPushButton(self.tr("Folder…"))
        output_browse.clicked.connect(self._browse_output)
        form.addRow(self.tr("Output folder"), _path_row(self.output_dir, output_browse))
        self.archive = QComboBox()
        for key in ARCHIVE_CHOICES:
            self.archive.addItem(self.tr(ARCHIVE_LABELS[key]), key)
        self.archive.setCurrentIndex(ARCHIVE_CHOICES.index(self.settings.archive))
        form.addRow(self.tr("Archive"), self.archive)
        self.pedal_key = QKeySequenceEdit(QKeySequence(self.settings.pedal_key))
        self.pedal_key.setMaximumSequenceLength(1)
        self.pedal_key.setToolTip(
            self.tr(
                "In software-trigger mode this key triggers a part, as Space does: press the foot "
                "pedal (or the key it types) here"
            )
        )
        form.addRow(self.tr("Foot pedal key"), self.pedal_key)
        self.language = QComboBox()
        self.language.addItem(
            self.tr("the system's ({language})").format(language=LANGUAGES[system_language()]),
            "",
        )
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(self.settings.language)))
        self.language.setToolTip(self.tr("The window's language, from the next start"))
        form.addRow(self.tr("Language (next start)"), self.language)
        return tab

    def _browse_bundle_folder(self) -> None:
        self._browse(self.bundle, self.tr("Model bundle folder"), Wanted.FOLDER)

    def _browse_bundle_zip(self) -> None:
        self._browse(self.bundle, self.tr("Model bundle"), Wanted.FILE, self.tr("Bundles (*.zip)"))

    def _browse_output(self) -> None:
        self._browse(self.output_dir, self.tr("Output folder"), Wanted.FOLDER)

    def _browse(self, edit: QLineEdit, title: str, wanted: Wanted, name_filter: str = "") -> None:
        """A file dialog for `edit`: a checked path goes into it, a refused one is said here."""
        ask_path(self, title, edit.text(), edit.setText, self._refuse, wanted, name_filter)

    def _refuse(self, message: str) -> None:
        self.message.setText(message)
        self.message.show()

    # --- recipes -------------------------------------------------------------------------------
    def _recipes_tab(self) -> QWidget:
        """The recipe file: which one (empty: the model bundle above is the only product),
        and its recipes, edited and saved here."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.recipes_file = QLineEdit(self.settings.recipes_file)
        self.recipes_file.setPlaceholderText(str(default_recipes_file()))
        self.recipes_file.setToolTip(
            self.tr(
                "Empty: no recipes, the model bundle of the previous tab is used. Saving recipes "
                "here uses the file shown (the grey suggestion when empty)."
            )
        )
        browse = QPushButton(self.tr("File…"))
        browse.clicked.connect(self._browse_recipes)
        form = QFormLayout()
        form.addRow(self.tr("Recipe file"), _path_row(self.recipes_file, browse))
        layout.addLayout(form)
        self.recipe_editor = RecipeEditor(self._recipes_path(), self._bundle_for_recipes())
        self.recipe_editor.saved.connect(self._recipes_saved)
        layout.addWidget(self.recipe_editor, 1)
        self.recipes_file.editingFinished.connect(self._recipes_file_changed)
        return tab

    def _bundle_for_recipes(self) -> str:
        """A new recipe starts with the bundle in use, as an absolute path: relative paths in
        a recipe file are relative to the file's folder, not to where the station started."""
        return str(Path(self.settings.bundle).resolve()) if self.settings.bundle else ""

    def _recipes_path(self) -> str:
        return self.recipes_file.text().strip() or str(default_recipes_file())

    def _browse_recipes(self) -> None:
        ask_path(
            self,
            self.tr("Recipe file"),
            self._recipes_path(),
            self._recipes_file_chosen,
            self._refuse,
            Wanted.NEW_FILE,
            self.tr("Recipes (*.toml)"),
        )

    def _recipes_file_chosen(self, path: str) -> None:
        self.recipes_file.setText(path)
        self._recipes_file_changed()

    def _recipes_file_changed(self) -> None:
        if str(self.recipe_editor.path) != self._recipes_path():
            editor = RecipeEditor(self._recipes_path(), self._bundle_for_recipes())
            editor.saved.connect(self._recipes_saved)
            self.recipe_editor.parentWidget().layout().replaceWidget(self.recipe_editor, editor)
            self.recipe_editor.hide()  # at once: the deletion waits for the event loop
            self.recipe_editor.deleteLater()
            self.recipe_editor = editor

    def _recipes_saved(self, book: object) -> None:
        """A saved file is the station's recipe file from now on."""
        self.recipes_file.setText(self._recipes_path())
        self.settings.recipes_file = self._recipes_path()
        self.recipes_saved.emit(book)

    # --- line links ----------------------------------------------------------------------------
    def _links_tab(self) -> QWidget:
        """Addresses of the line links (empty: off) and what each running link says now."""
        tab = QWidget()
        form = QFormLayout(tab)
        self.link_fields: dict[str, QLineEdit] = {}
        for kind, label in LINK_LABELS.items():
            field = QLineEdit(getattr(self.settings, kind))
            field.setPlaceholderText(
                self.tr("off; e.g. {example}").format(example=LINK_KINDS[kind].example)
            )
            self.link_fields[kind] = field
            form.addRow(self.tr(label), field)
            if kind == "opcua":  # clients log in: Basic256Sha256 with a user name and password
                self.opcua_user = QLineEdit(self.settings.opcua_user)
                self.opcua_password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
                self.opcua_password.setPlaceholderText(
                    self.tr("unchanged")
                    if self.settings.opcua_password_hash
                    else self.tr("choose one")
                )
                form.addRow(self.tr("OPC UA user"), self.opcua_user)
                form.addRow(self.tr("OPC UA password"), self.opcua_password)
            if kind == "mqtt":  # mqtts://: the broker checked against the CA; a client cert
                tls_rows = {
                    "mqtt_ca_file": (
                        self.tr("MQTT CA file"),
                        self.tr("mqtts://: CA file (PEM); else system CAs"),
                    ),
                    "mqtt_cert_file": (
                        self.tr("MQTT client certificate"),
                        self.tr("mqtts://: certificate (PEM), if the broker asks for one"),
                    ),
                    "mqtt_key_file": (
                        self.tr("MQTT client key"),
                        self.tr("mqtts://: its private key (PEM)"),
                    ),
                }
                self.mqtt_files = {}
                for name, (label, hint) in tls_rows.items():
                    edit = QLineEdit(getattr(self.settings, name), placeholderText=hint)
                    self.mqtt_files[name] = edit
                    form.addRow(label, edit)
                self.mqtt_ca_file = self.mqtt_files["mqtt_ca_file"]
            state = QLabel(self.link_states.get(kind, self.tr("off")), objectName="linkState")
            state.setWordWrap(True)
            form.addRow("", state)
        note = QLabel(
            self.tr(
                "Applied on OK. Triggers from the line are taken while a run in software-trigger "
                "mode is on. The OPC UA password is kept only as a salted hash; the server makes "
                "its certificate on first start (docs/opcua.md)."
            )
        )
        note.setWordWrap(True)
        form.addRow(note)
        return tab

    def _model_info_tab(self) -> QWidget:
        text = QPlainTextEdit(readOnly=True)
        if self.inspector is None:
            text.setPlainText(self.tr("No model bundle is loaded."))
        else:
            bundle = self.inspector.bundle
            info = {
                "name": bundle.name,
                "source": str(bundle.source),
                "created": bundle.manifest.get("created"),
                "providers in use": self.inspector.providers,
                "defect types": bundle.defect_types,
                "metrics": bundle.metrics,
                "anomaly score": bundle.anomaly.score_meaning if bundle.anomaly else None,
                "calibration": bundle.manifest["models"].get("anomaly", {}).get("calibration"),
            }
            text.setPlainText(json.dumps(info, indent=2, default=str))
        return text

    # --- closing -------------------------------------------------------------------------------
    def _typed_paths_refused(self) -> str | None:
        """Why a typed path cannot be used (None: all can): a bundle must be there, the output
        folder and recipe file may be new; none may be a system file, FIFO or device."""
        typed = [(self.bundle, False), (self.output_dir, True), (self.recipes_file, True)]
        typed += [(edit, False) for edit in self.mqtt_files.values()]
        for edit, missing_ok in typed:
            if edit.text().strip():
                try:
                    check_path(edit.text(), missing_ok=missing_ok)
                except PathRefused as exc:
                    return str(exc)
        return None

    def accept(self) -> None:
        refused = self._typed_paths_refused() or self.alarm_tab.refused()
        if refused is not None:
            self._refuse(refused)
            return
        self.settings.bundle = self.bundle.text().strip()
        self.settings.provider = self.provider.currentText()
        self.settings.output_dir = self.output_dir.text().strip() or self.settings.output_dir
        self.settings.archive = self.archive.currentData()
        self.settings.pedal_key = self.pedal_key.keySequence().toString()
        self.settings.language = self.language.currentData()
        self.settings.recipes_file = self.recipes_file.text().strip()
        for kind, field in self.link_fields.items():
            setattr(self.settings, kind, field.text().strip())
        self.settings.opcua_user = self.opcua_user.text().strip()
        for name, edit in self.mqtt_files.items():
            setattr(self.settings, name, edit.text().strip())
        self.alarm_tab.apply_to(self.settings)
        if self.opcua_password.text():
            self.settings.opcua_password_hash = hash_opcua_password(self.opcua_password.text())
        self.applied.emit(self.settings)
        super().accept()

    def reject(self) -> None:
        if self.original is not None and self.thresholds() != self.original:
            self.thresholds_changed.emit(self.original)
        super().reject()
