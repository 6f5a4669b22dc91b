"""Recipe editor: the station's recipe file (TOML, also edited by hand) as a table and a form.

The engine owns the rules: Save builds the file's dict and lets `engine.recipes.parse_recipes`
judge it, so an edit here and a hand edit fail with the same message naming file and field.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.recipes import (
    ARCHIVE_MODES,
    POLICIES,
    THRESHOLD_FIELDS,
    Recipe,
    RecipeBook,
    RecipeError,
    load_recipes,
    parse_recipes,
    recipes_data,
    save_recipes,
)
from gui.review_comparison import comparison_line, manifest_comparison
from gui.source_picker import PathRefused, Wanted, ask_path, check_path

# Marked for translation here (context RecipeEditor), translated where shown.
COLUMNS = (
    QT_TRANSLATE_NOOP("RecipeEditor", "Id"),
    QT_TRANSLATE_NOOP("RecipeEditor", "Name"),
    QT_TRANSLATE_NOOP("RecipeEditor", "Bundle"),
    QT_TRANSLATE_NOOP("RecipeEditor", "Default"),
    QT_TRANSLATE_NOOP("RecipeEditor", "Operators"),
)
POLICY_LABELS = {
    "all": QT_TRANSLATE_NOOP("RecipeEditor", "all parts"),
    "ng": QT_TRANSLATE_NOOP("RecipeEditor", "NG parts only"),
    "none": QT_TRANSLATE_NOOP("RecipeEditor", "none"),
}
COMBO_LABELS = {
    "overlay_mode": QT_TRANSLATE_NOOP("RecipeEditor", "Overlay mode"),
    "overlays": QT_TRANSLATE_NOOP("RecipeEditor", "Overlay images for"),
    "archive": QT_TRANSLATE_NOOP("RecipeEditor", "Archive originals of"),
}
THRESHOLD_LABELS = {
    "image_threshold": QT_TRANSLATE_NOOP("RecipeEditor", "Image score threshold"),
    "pixel_threshold": QT_TRANSLATE_NOOP("RecipeEditor", "Pixel threshold"),
    "min_defect_area_px": QT_TRANSLATE_NOOP("RecipeEditor", "Minimum defect area"),
}
ERROR_STYLE, NOTE_STYLE = "color: #ff7b72;", "color: #aab1bd;"
STYLE = """
*:disabled { color: #6b7280; }
QLineEdit:read-only { color: #aab1bd; }
QCheckBox::indicator { width: 13px; height: 13px; border: 1px solid #8a93a3; border-radius: 3px; }
QCheckBox::indicator:checked { background-color: #2f6fb3; border-color: #e8eaed; }
QCheckBox::indicator:disabled { border-color: #3c434f; }
"""


def _tr(text: str) -> str:
    return QCoreApplication.translate("RecipeEditor", text)


def _combo(choices: tuple[str, ...], labels: dict[str, str] | None = None) -> QComboBox:
    combo = QComboBox()
    for key in choices:
        label = (labels or {}).get(key)
        combo.addItem(_tr(label) if label else key, key)
    return combo


def _row(*widgets: QWidget | None) -> QWidget:
    """Widgets side by side; None is a stretch, and edits take the spare width."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        if widget is None:
            layout.addStretch(1)
        else:
            layout.addWidget(widget, 1 if isinstance(widget, QLineEdit | QAbstractSpinBox) else 0)
    return row


def _with_previous(recipe: Recipe, saved_bundle: str | None) -> Recipe:
    """A saved recipe moved to another bundle keeps the one it leaves, for a roll back."""
    if saved_bundle and recipe.bundle != saved_bundle:
        return dataclasses.replace(recipe, previous_bundle=saved_bundle)
    return recipe


class RecipeEditor(QWidget):
    """Edits a copy of the file's recipes; the file changes only on Save, and only to what the
    engine accepts. Ids of recipes already in the file are fixed (Duplicate, then Remove, to
    rename) because the serve config and `!recipe ID` commands refer to them; a new recipe's id
    is editable until it is saved."""

    saved = Signal(object)  # RecipeBook, as load_recipes(path) returns it (bundles resolved)
    modified_changed = Signal(bool)

    def __init__(self, path: Path | str, bundle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.bundle = bundle  # prefills a new recipe: the bundle the station has loaded
        self.recipes: list[Recipe] = []  # bundles as written in the file (relative stays relative)
        self.default: str | None = None
        self.stored_ids: set[str] = set()
        self.stored_bundles: dict[str, str] = {}  # each saved recipe's bundle, as in the file
        self.modified = False
        self._showing = False  # filling the form is not an edit
        self._build()
        self.reload()

    # --- widgets -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([_tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(130)  # about four recipes before it scrolls
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.new_button = QPushButton(self.tr("New"), clicked=self.new_recipe)
        self.duplicate_button = QPushButton(self.tr("Duplicate"), clicked=self.duplicate_recipe)
        self.remove_button = QPushButton(self.tr("Remove"), clicked=self.remove_recipe)

        self.id, self.name, self.bundle_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.id.setToolTip(self.tr("Letters, digits, _ or -; fixed once the recipe is saved"))
        self.browse_button = QPushButton(self.tr("Browse…"), clicked=self._browse_bundle)
        self.combos = {  # keyed by the Recipe field each one sets
            "overlay_mode": _combo(ARCHIVE_MODES),
            "overlays": _combo(POLICIES, POLICY_LABELS),
            "archive": _combo(POLICIES, POLICY_LABELS),
        }
        self.overrides = {key: QCheckBox(self.tr("override")) for key in THRESHOLD_FIELDS}
        self.values = {
            "image_threshold": QDoubleSpinBox(decimals=6, singleStep=0.01, maximum=1e6),
            "pixel_threshold": QDoubleSpinBox(decimals=4, singleStep=0.01, maximum=1.0),
            "min_defect_area_px": QSpinBox(
                maximum=10_000_000, singleStep=10, suffix=self.tr(" px")
            ),
        }
        self.is_default = QCheckBox(self.tr("the station starts with this recipe"))
        self.operator_select = QCheckBox(self.tr("operators may switch to this recipe"))
        self.operator_select.setToolTip(self.tr("Unchecked: only an engineer may select it"))
        self.form = QGroupBox(self.tr("Selected recipe"))
        form = QFormLayout(self.form)
        form.addRow(self.tr("Id"), self.id)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Model bundle"), _row(self.bundle_edit, self.browse_button))
        for key, label in COMBO_LABELS.items():
            form.addRow(_tr(label), self.combos[key])
        for key, label in THRESHOLD_LABELS.items():
            self.overrides[key].setToolTip(self.tr("Unchecked: the bundle's own calibrated value"))
            form.addRow(_tr(label), _row(self.overrides[key], self.values[key]))
        form.addRow(self.tr("Default recipe"), self.is_default)
        form.addRow(self.tr("Operators"), self.operator_select)
        self.comparison = QLabel(objectName="recipeComparison", wordWrap=True)
        self.comparison.setToolTip(
            self.tr("What station-train compare --record wrote into the bundle")
        )
        form.addRow(self.tr("Comparison"), self.comparison)
        self.bundle_edit.textChanged.connect(self._show_comparison)
        for edit in (self.id, self.name, self.bundle_edit):
            edit.textChanged.connect(self._form_edited)
        for combo in self.combos.values():
            combo.currentIndexChanged.connect(self._form_edited)
        for check in (*self.overrides.values(), self.is_default, self.operator_select):
            check.toggled.connect(self._form_edited)
        for box in self.values.values():
            box.valueChanged.connect(self._form_edited)

        note = QLabel(
            self.tr(
                "Relative bundle paths are relative to the recipe file's folder. Saving rewrites "
                "the file: comments written by hand are not kept."
            ),
            wordWrap=True,
            styleSheet=NOTE_STYLE,
        )
        self.message = QLabel(objectName="recipeMessage", wordWrap=True)
        self.modified_label = QLabel(objectName="recipeModified", styleSheet="color: #f0e442;")
        self.reload_button = QPushButton(self.tr("Reload"), clicked=self.reload)
        self.reload_button.setToolTip(self.tr("Read the file again, dropping unsaved changes"))
        self.save_button = QPushButton(self.tr("Save"), clicked=self.save)

        self.body = QWidget()  # locked while the file on disk is one the engine refuses
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.table, 1)
        body.addWidget(_row(self.new_button, self.duplicate_button, self.remove_button, None))
        body.addWidget(self.form)
        body.addWidget(note)
        layout = QVBoxLayout(self)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.message)
        layout.addWidget(_row(self.modified_label, None, self.reload_button, self.save_button))
        # The station's style sheet draws disabled and read-only fields like editable ones; an
        # override that is off and a fixed id must look so.
        self.setStyleSheet(STYLE)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)

    def _set_modified(self, modified: bool) -> None:
        self.modified_label.setText(self.tr("● modified (not saved)") if modified else "")
        if modified != self.modified:
            self.modified = modified
            self.modified_changed.emit(modified)

    # --- table and form ------------------------------------------------------------------------
    def _selected(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _fill_table(self, select: int | None = None) -> None:
        self._fill_cells()
        if select is not None and self.recipes:
            self.table.selectRow(min(select, len(self.recipes) - 1))
        self._show_selected()

    def _fill_cells(self) -> None:
        self.table.setRowCount(len(self.recipes))
        for row, recipe in enumerate(self.recipes):
            default = self.tr("yes") if recipe.id == self.default else ""
            operators = self.tr("may select") if recipe.operator_select else ""
            cells = (recipe.id, recipe.name, recipe.bundle, default, operators)
            for column, text in enumerate(cells):
                if self.table.item(row, column) is None:
                    self.table.setItem(row, column, QTableWidgetItem())
                self.table.item(row, column).setText(text)

    def _show_selected(self) -> None:
        row = self._selected()
        recipe = self.recipes[row] if row is not None else Recipe(id="", bundle="")
        for widget in (self.form, self.duplicate_button, self.remove_button):
            widget.setEnabled(row is not None)
        self._showing = True
        try:
            self.id.setText(recipe.id)
            ids = [r.id for r in self.recipes]  # a new recipe that took a saved id stays open
            self.id.setReadOnly(recipe.id in self.stored_ids and ids.count(recipe.id) == 1)
            self.name.setText(recipe.name)
            self.bundle_edit.setText(recipe.bundle)
            for key, combo in self.combos.items():
                combo.setCurrentIndex(combo.findData(getattr(recipe, key)))
            for key, box in self.values.items():
                self.overrides[key].setChecked(key in recipe.thresholds)
                box.setValue(recipe.thresholds.get(key, 0))
                box.setEnabled(key in recipe.thresholds)
            self.is_default.setChecked(row is not None and recipe.id == self.default)
            self.operator_select.setChecked(recipe.operator_select)
        finally:
            self._showing = False

    def _form_edited(self) -> None:
        """Keep the selected recipe in step with the form, so the table and Save see the edit."""
        for key, box in self.values.items():
            box.setEnabled(self.overrides[key].isChecked())
        row = self._selected()
        if self._showing or row is None:
            return
        recipe = dataclasses.replace(  # fields the form does not show stay as they were
            self.recipes[row],
            id=self.id.text().strip(),
            bundle=self.bundle_edit.text().strip(),
            name=self.name.text().strip(),
            thresholds={k: box.value() for k, box in self.values.items() if box.isEnabled()},
            operator_select=self.operator_select.isChecked(),
            **{key: combo.currentData() for key, combo in self.combos.items()},
        )
        if self.is_default.isChecked():
            self.default = recipe.id
        elif self.default == self.recipes[row].id:
            self.default = None
        self.recipes[row] = recipe
        self._set_modified(True)
        self._fill_cells()  # not the form: refilling it would move the cursor of the edit

    def _show_comparison(self) -> None:
        """The bundle's comparison with its champion, seen before the change is saved."""
        text = self.bundle_edit.text().strip()
        found = manifest_comparison(self.path.parent / text) if text else None
        self.comparison.setText(comparison_line(found) if found else self.tr("none"))

    def _browse_bundle(self) -> None:
        start = self.path.parent / self.bundle_edit.text().strip()  # an absolute path wins
        title = self.tr("Model bundle folder")
        ask_path(self, title, str(start), self.bundle_edit.setText, self._refuse, Wanted.FOLDER)

    def _refuse(self, message: str) -> None:
        self._say(message, error=True)

    # --- actions -------------------------------------------------------------------------------
    def _free_id(self, base: str) -> str:
        taken = {recipe.id for recipe in self.recipes}
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}_{number}", number + 1
        return candidate

    def _add(self, recipe: Recipe) -> None:
        self.recipes.append(recipe)
        self._set_modified(True)
        self._fill_table(select=len(self.recipes) - 1)
        self.id.setFocus()
        self.id.selectAll()

    def new_recipe(self) -> None:
        self._add(Recipe(id=self._free_id("new_recipe"), bundle=self.bundle))

    def duplicate_recipe(self) -> None:
        row = self._selected()
        if row is not None:
            source = self.recipes[row]
            copy_id = self._free_id(f"{source.id}_copy")
            self._add(dataclasses.replace(source, id=copy_id, thresholds=dict(source.thresholds)))

    def remove_recipe(self) -> None:
        row = self._selected()
        if row is not None:
            if self.recipes.pop(row).id == self.default:
                self.default = None
            self._set_modified(True)
            self._fill_table(select=row)

    def reload(self) -> None:
        """Read the file again, dropping unsaved edits; a missing file is an empty book. A file
        the engine refuses is shown, not replaced: editing stays locked until it is fixed."""
        self.recipes, self.default, self.stored_ids = [], None, set()
        broken = False
        if not self.path.exists():
            self._say(
                self.tr("No recipe file yet at {path}: New adds a recipe, Save creates it.").format(
                    path=self.path
                )
            )
        else:
            try:
                book = load_recipes(self.path)
                # load_recipes resolves relative bundles; writing those back would pin the file
                # to this folder, so the editor keeps the paths as the file writes them.
                tables = tomllib.loads(self.path.read_text(encoding="utf-8")).get("recipes", {})
            except RecipeError as exc:
                self._say(
                    self.tr("{error}\nFix the file by hand, then Reload.").format(error=exc),
                    error=True,
                )
                broken = True
            else:
                self.recipes = [
                    dataclasses.replace(recipe, bundle=tables[recipe.id]["bundle"])
                    for recipe in book.recipes.values()
                ]
                self.default, self.stored_ids = book.default, set(book.recipes)
                self.stored_bundles = {r.id: r.bundle for r in self.recipes}
                self._say(
                    self.tr("{count} recipe(s) in {path}").format(
                        count=len(self.recipes), path=self.path
                    )
                )
        self.body.setEnabled(not broken)
        self.save_button.setEnabled(not broken)
        self._set_modified(False)
        self._fill_table(select=0)

    def _book(self) -> RecipeBook:
        """The recipes as written (relative bundle paths kept); two equal ids are refused
        here, since the file's table could not hold them."""
        recipes: dict[str, Recipe] = {}
        for recipe in self.recipes:
            if recipe.id in recipes:
                raise RecipeError(f"{self.path}: recipes.{recipe.id}: two recipes have this id")
            recipes[recipe.id] = recipe
        return RecipeBook(recipes, self.default, self.path)

    def _check_bundles(self) -> None:
        """A typed bundle path may name a bundle still to come, never a system file, FIFO or
        device: loading one would block the station's loader."""
        for recipe in self.recipes:
            try:
                check_path(str(self.path.parent / recipe.bundle), missing_ok=True)
            except PathRefused as exc:
                raise RecipeError(f"{self.path}: recipes.{recipe.id}.bundle: {exc}") from None

    def save(self) -> RecipeBook | None:
        """Write the recipes if the engine accepts them; else show its message and write nothing."""
        try:
            self._check_bundles()
            self.recipes = [_with_previous(r, self.stored_bundles.get(r.id)) for r in self.recipes]
            as_written = self._book()
            book = parse_recipes(recipes_data(as_written), self.path)  # the engine's checks
            self.path.parent.mkdir(parents=True, exist_ok=True)
            save_recipes(as_written, self.path)
        except RecipeError as exc:
            self._say(str(exc), error=True)
            return None
        except OSError as exc:
            self._say(
                self.tr("{path}: cannot write ({error})").format(
                    path=self.path, error=exc.strerror or exc
                ),
                error=True,
            )
            return None
        self.stored_ids = set(book.recipes)
        self.stored_bundles = {r.id: r.bundle for r in self.recipes}
        self._set_modified(False)
        self._say(
            self.tr("Saved {count} recipe(s) to {path}").format(
                count=len(book.recipes), path=self.path
            )
        )
        self._show_selected()  # the ids just saved are fixed now
        self.saved.emit(book)
        return book
