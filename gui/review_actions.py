"""The window's review actions: flag the part on screen, open the review screen (engineer),
export the reviewed parts (off the GUI thread), and a bundle's comparison and rollback.

The window builds one `ReviewActions` and tells it when a recipe's bundle is in service
(`bundle_loaded`); everything else lives here, so the window stays a place that routes signals.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu

from engine.bundle import Bundle
from engine.export_dataset import ExportError, ExportSummary, export_dataset
from engine.recipes import Recipe, save_recipes
from engine.review import ReviewError, ReviewQueue
from engine.store import ResultStore, StoreError
from gui import source_picker
from gui.permissions import MINIMUM_LEVEL, Action, level_name
from gui.review_comparison import ComparisonDialog
from gui.review_screen import ReviewScreen

if TYPE_CHECKING:
    from gui.main_window import MainWindow

log = logging.getLogger(__name__)

# Reviewing decides what the next model learns: the engineers' level, as tuning is.
REVIEW_NEEDS = Action.TUNE


class ExportRun(QThread):
    """engine.export_dataset off the GUI thread (it copies every reviewed image)."""

    done = Signal(object, str)  # ExportSummary or None, the error message

    def __init__(self, store: ResultStore, out: str) -> None:
        super().__init__()
        self.store, self.out = store, out

    def run(self) -> None:
        try:
            summary = export_dataset(self.store, self.out)
        except (ExportError, StoreError, OSError) as exc:
            self.done.emit(None, str(exc))
            return
        self.done.emit(summary, "")


class ReviewActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.screen: ReviewScreen | None = None
        self.session = window.access.session
        self.session.changed.connect(self._level_changed)
        a = window._action
        self.act_flag = a(self.tr("&Flag part for review"), self.flag_current, "F")
        self.act_review = a(self.tr("&Review queue…"), self.open_review, "Ctrl+R")
        self.act_export = a(self.tr("E&xport reviewed parts…"), self.export_reviewed)
        self.act_roll_back = a(self.tr("Roll &back the recipe's bundle"), self.roll_back)
        self.act_flag.setToolTip(self.tr("Queue the part on screen for an engineer's review"))
        self.act_export.setToolTip(
            self.tr("The decided parts as an MVTec AD dataset (added to a folder)")
        )
        self.act_roll_back.setToolTip(
            self.tr("Back to the bundle the recipe used before its last change")
        )
        self.act_roll_back.setEnabled(False)  # until a recipe with a previous bundle is loaded
        self.export_run: ExportRun | None = None
        self.comparison: ComparisonDialog | None = None
        self._digest: str | None = None  # the bundle in service, to tell a switch
        menu = QMenu(self.tr("Re&view"), window)
        menu.addActions([self.act_flag, self.act_review, self.act_export])
        menu.addSeparator()
        menu.addAction(self.act_roll_back)
        window.menuBar().addMenu(menu)
        self.menu = menu

    def queue(self) -> ReviewQueue | None:
        """The review queue of the window's results store (None, reported, without one)."""
        if self.window.results is None:
            self.window.report_error(self.tr("No results store is open: no review queue"))
            return None
        try:
            return ReviewQueue(self.window.results)
        except StoreError as exc:
            self.window.report_error(
                self.tr("Review queue not available: {error}").format(error=exc)
            )
            return None

    # --- the operator's flag --------------------------------------------------------------
    def flag_current(self) -> bool:
        """Queue the part on screen (reason operator_flag) with its image and both models'
        outputs while this session holds them, archived now if its recipe did not keep the
        original. A part replayed from the history is flagged by its stored row."""
        window = self.window
        replay, part = window.replay, window.current
        inspection_id = replay.result_id if replay is not None else part and part.result_id
        if not inspection_id:
            window.statusBar().showMessage(self.tr("Nothing to flag: no part on screen"), 4000)
            return False
        queue = self.queue()
        if queue is None:
            return False
        inspector = window.inspector
        try:
            item = queue.flag(
                inspection_id,
                by=self.session.who,
                image=part.frame.image if part is not None else None,
                result=part.result if part is not None else None,
                bundle=inspector.bundle if inspector is not None else None,
            )
        except (ReviewError, StoreError) as exc:
            window.report_error(self.tr("Part not flagged for review: {error}").format(error=exc))
            return False
        log.info("inspection %d flagged for review (item %d)", inspection_id, item.id)
        window.statusBar().showMessage(
            self.tr("Part #{part} flagged for review ({pending} pending)").format(
                part=inspection_id, pending=queue.count(pending=True)
            ),
            5000,
        )
        if self.screen is not None and self.screen.isVisible():
            self.screen.reload()
        return True

    # --- the review screen ----------------------------------------------------------------
    def _refusal(self) -> str:
        needed = level_name(MINIMUM_LEVEL[REVIEW_NEEDS])
        return self.tr("Not allowed: reviewing needs an {needed} login (now: {level})").format(
            needed=needed, level=level_name(self.session.level)
        )

    def may_review(self) -> bool:
        """True for an engineer; else say why (error panel) and return False."""
        if self.session.may(REVIEW_NEEDS):
            return True
        self.window.errors.add_error(self._refusal())
        return False

    def open_review(self) -> QDialog | ReviewScreen | None:
        """The review screen, after a login when the user's level is too low."""
        if self.session.may(REVIEW_NEEDS):
            return self.show_review()
        gate = self.window.access.log_in(self._refusal())
        if gate is not None:
            gate.accepted.connect(self._review_after_login)
        return gate

    def _review_after_login(self) -> None:
        if self.session.may(REVIEW_NEEDS):
            self.show_review()

    def _level_changed(self) -> None:
        """A log-out (or idle log-out) closes the review screen."""
        if self.screen is not None and not self.session.may(REVIEW_NEEDS):
            self.screen.close()

    def show_review(self) -> ReviewScreen | None:
        """The review screen over the window's store (a new one when the store changed)."""
        queue = self.queue()
        if queue is None:
            return None
        if self.screen is not None and self.screen.queue.store is not queue.store:
            self.screen.close()
            self.screen.deleteLater()
            self.screen = None
        if self.screen is None:
            self.screen = ReviewScreen(queue, lambda: self.session.who, self.window)
            self.screen.resize(1500, 900)
        else:
            self.screen.reload()
        self.screen.show()
        self.screen.raise_()
        self.screen.activateWindow()
        return self.screen

    # --- export ---------------------------------------------------------------------------
    def export_reviewed(self) -> QFileDialog | None:
        """Ask for the dataset folder (an existing dataset is added to), then export."""
        if not self.may_review():
            return None
        if self.window.results is None:
            self.window.report_error(self.tr("No results store is open; nothing to export"))
            return None
        start = str(Path(self.window.settings.output_dir) / "reviewed_dataset")
        return source_picker.ask_path(
            self.window,
            self.tr("Export reviewed parts: dataset folder (MVTec AD layout)"),
            start,
            self.export_to,
            self.window._refused,
            source_picker.Wanted.FOLDER,
        )

    def export_to(self, folder: str) -> ExportRun | None:
        if self.export_run is not None:
            self.window.statusBar().showMessage(self.tr("An export is already running"), 4000)
            return None
        if self.window.results is None:
            return None
        run = self.export_run = ExportRun(self.window.results, folder)
        run.done.connect(self._exported)
        self.act_export.setEnabled(False)
        self.window.statusBar().showMessage(
            self.tr("Exporting reviewed parts to {folder}…").format(folder=folder)
        )
        self.window._start_thread(run)
        return run

    def _exported(self, summary: ExportSummary | None, error: str) -> None:
        self.export_run = None
        self.act_export.setEnabled(True)
        if summary is None:
            self.window.report_error(
                self.tr("Reviewed parts not exported: {error}").format(error=error)
            )
            return
        for failure in summary.failed:
            self.window.report_error(self.tr("Not exported: {failure}").format(failure=failure))
        for changed in summary.changed:
            self.window.errors.add_error(
                self.tr(
                    "{file}: its decision changed after it was exported; the dataset keeps "
                    "the earlier one"
                ).format(file=changed)
            )
        text = self.summary_text(summary)
        self.window.statusBar().showMessage(text, 10_000)
        log.info("%s", text)

    def summary_text(self, summary: ExportSummary) -> str:
        text = self.tr("Exported {n} part(s) to {folder}: {good} good").format(
            n=summary.exported, folder=summary.out, good=summary.good
        )
        if summary.defective:
            types = ", ".join(f"{n} {name}" for name, n in sorted(summary.defective.items()))
            text += self.tr(", defective: {types}").format(types=types)
        if summary.already:
            text += self.tr("; {n} exported before").format(n=summary.already)
        return text

    # --- a new bundle in service: its comparison, and the roll back -----------------------
    def bundle_loaded(self, recipe: Recipe, bundle: Bundle) -> ComparisonDialog | None:
        """A recipe's bundle is in service. After a switch to another bundle whose manifest
        carries a comparison with its champion, show it (not modal: the line runs on)."""
        previous, self._digest = self._digest, bundle.digest
        self.act_roll_back.setEnabled(bool(recipe.previous_bundle))
        comparison = bundle.manifest.get("comparison")
        if previous in (None, bundle.digest) or not isinstance(comparison, dict):
            return None
        if self.comparison is not None:
            self.comparison.close()
        dialog = ComparisonDialog(comparison, bundle.name, recipe.previous_bundle, self.window)
        dialog.roll_back.connect(self.roll_back)
        dialog.show()
        self.comparison = dialog
        return dialog

    def roll_back(self) -> bool:
        """Put the selected recipe back on its previous bundle (saved in the recipe file; the
        bundle it leaves becomes the previous one, so a roll back can be undone)."""
        window = self.window
        if not window.access.allow(Action.MANAGE_RECIPES):
            return False
        recipe = window._book_recipe()
        if recipe is None or not recipe.previous_bundle:
            window.statusBar().showMessage(
                self.tr("This recipe has no previous bundle to go back to"), 5000
            )
            return False
        before = copy.deepcopy(window.book)
        window.book.recipes[recipe.id] = recipe.with_bundle(recipe.previous_bundle)
        try:
            save_recipes(window.book, window.book.path)
        except OSError as exc:
            window.book = before
            window.report_error(
                self.tr("{file}: roll back not saved ({error})").format(file=before.path, error=exc)
            )
            return False
        window.access.audit_recipes(before, window.book)
        window.statusBar().showMessage(
            self.tr("Recipe {recipe} rolled back to {bundle}").format(
                recipe=recipe.label, bundle=Path(recipe.previous_bundle).name
            ),
            8000,
        )
        window.load_recipe_book()
        window.load_recipe()
        return True
