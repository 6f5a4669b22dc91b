"""The line controls beside the image: the active recipe (always in sight) and its chooser, the
trigger mode, a large Trigger button, the keys that trigger, and the missed-trigger count.

Everything here can be done by touch (operator mode): buttons and choosers are at least
TOUCH_PX high. The window owns what the controls do; this widget shows and collects.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from engine.events import TriggerMissed
from engine.recipes import Recipe
from engine.station import Station
from gui.assets import icon
from gui.workers import StationBridge

TOUCH_PX = 48  # the smallest touch target in operator mode (a fingertip, with a margin)


class TriggerPanel(QWidget):
    def __init__(self, trigger_mode: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recipe_label = QLabel(objectName="activeRecipe", wordWrap=True)
        self.recipe_box = QComboBox(objectName="recipeBox")
        self.recipe_box.setToolTip(self.tr("Recipe (product): switching loads its model first"))
        self.mode_box = QComboBox(objectName="triggerModeBox")
        self.mode_box.setToolTip(self.tr("Free run, or one part per trigger"))
        self.mode_box.addItem(self.tr("Free run"), "continuous")
        self.mode_box.addItem(self.tr("Software trigger"), "software")
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(trigger_mode)))
        self.mode_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.trigger_button = QPushButton(icon("trigger"), self.tr("TRIGGER"))
        self.trigger_button.setObjectName("bigTrigger")
        self.trigger_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the window's
        self.leave_button = QPushButton(icon("operator"), self.tr("Leave operator mode"))
        self.leave_button.setObjectName("leaveOperator")
        self.leave_button.setToolTip(self.tr("Back to the engineer's view (also Esc)"))
        self.leave_button.hide()  # shown in operator mode, where menus and keys are out of reach
        self.keys_label = QLabel(objectName="triggerKeys")
        self.missed_label = QLabel(objectName="missedTriggers")
        for widget in (self.recipe_box, self.mode_box, self.trigger_button, self.leave_button):
            widget.setMinimumHeight(TOUCH_PX)
        self.recipe_caption = QLabel(self.tr("Recipe"), objectName="activeRecipeCaption")
        self.recipe_label.setStyleSheet("font-weight: bold;")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.recipe_caption, 0, 0)
        grid.addWidget(self.recipe_label, 0, 1)
        choosers = QHBoxLayout()  # without recipes the mode takes the row
        choosers.addWidget(self.recipe_box, 1)
        choosers.addWidget(self.mode_box)
        grid.addLayout(choosers, 1, 0, 1, 3)
        grid.addWidget(self.trigger_button, 2, 0, 1, 3)
        grid.addWidget(self.keys_label, 3, 0, 1, 2)
        grid.addWidget(self.missed_label, 3, 2, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.leave_button, 4, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.set_missed(0)

    def follow(self, bridge: StationBridge, station: Station) -> None:
        """Show the active recipe and the missed triggers of `station` (behind `bridge`)."""
        self.set_missed(station.missed)
        self.set_active(station.recipe)
        bridge.trigger_missed.connect(self._missed)
        bridge.recipe_changed.connect(lambda _event: self.set_active(station.recipe))

    def _missed(self, event: TriggerMissed) -> None:
        self.set_missed(event.missed)

    def set_missed(self, count: int) -> None:
        self.missed_label.setText(self.tr("missed triggers: {count}").format(count=count))
        self.missed_label.setProperty("alarm", "true" if count else "false")
        self.missed_label.style().unpolish(self.missed_label)
        self.missed_label.style().polish(self.missed_label)

    def set_active(self, recipe: Recipe | None) -> None:
        """The recipe the station inspects with now (None: none loaded)."""
        self.recipe_label.setText(recipe.label if recipe is not None else self.tr("none loaded"))

    def set_recipes(self, recipes: list[Recipe], current: str | None, open_ids: set[str]) -> None:
        """The recipe file's recipes; only those in `open_ids` can be picked (the others need
        an engineer: they show, greyed). Changing the list emits no selection."""
        self.recipe_box.blockSignals(True)
        self.recipe_box.clear()
        model = self.recipe_box.model()
        for row, recipe in enumerate(recipes):
            self.recipe_box.addItem(recipe.label, recipe.id)
            if isinstance(model, QStandardItemModel):
                model.item(row).setEnabled(recipe.id in open_ids)
        self.recipe_box.setCurrentIndex(self.recipe_box.findData(current) if current else -1)
        self.recipe_box.blockSignals(False)
        self.recipe_box.setVisible(bool(recipes))

    def set_keys(self, software: bool, pedal_key: str) -> None:
        """Which keys trigger (software-trigger mode), and whether the Trigger button shows."""
        keys = ["Space", *([pedal_key] if pedal_key else [])]
        text = self.tr("keys: {keys}").format(keys=" · ".join(keys))
        self.keys_label.setText(text if software else "")
        self.trigger_button.setVisible(software)
