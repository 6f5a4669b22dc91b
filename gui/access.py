"""Users at the window: logging in and out, the first-start administrator, what the current
level may see and do (gui.permissions), refusals with a message, and the audit trail rows of
every change made at the window. Kept apart from the window so that it only calls in here."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox

from engine.audit import AuditTrail
from engine.recipes import RecipeBook, recipes_data
from engine.result import Thresholds
from engine.store import Counters, StoreError
from engine.users import UserBook, UserError
from gui.audit_view import AuditView
from gui.login_dialog import FirstStartDialog, LoginDialog
from gui.permissions import Action, refusal
from gui.session import Session
from gui.settings import StationSettings, open_users
from gui.users_dialog import UsersDialog

if TYPE_CHECKING:
    from gui.main_window import MainWindow

log = logging.getLogger(__name__)

# Which audit kind a changed setting is; the rest are "settings". Hashes are never shown.
SETTING_KINDS = {"provider": "provider", "bundle": "recipe", "recipes_file": "recipe"}
SECRET_SETTINGS = {"opcua_password_hash"}
UNAUDITED_SETTINGS = {"last_source", "overlay_mode", "opacity", "recipe_id"}  # logged elsewhere
SECRET_CHANGED = "(changed)"


class WindowAccess(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        try:
            book = open_users(window.qsettings)
        except (UserError, OSError) as exc:  # damaged or unwritable: no login until fixed
            window.errors.add_error(self.tr("Users not loaded: {error}").format(error=exc))
            book = UserBook()
        self.session = Session(book, self)
        self.session.changed.connect(self.apply)
        self.session.idle_logout.connect(self._idle_logout)
        self._trail: AuditTrail | None = None
        self.dialogs: dict[str, QDialog] = {}  # the open login, users and audit dialogs
        self.user_label = QLabel(objectName="userLabel")
        window.statusBar().addPermanentWidget(self.user_label)
        self.act_login = self._action(self.tr("&Log in…"), lambda: self.log_in())
        self.act_logout = self._action(self.tr("Log &out"), self.session.logout)
        self.act_users = self._action(self.tr("&Users…"), self.open_users)
        self.act_audit = self._action(self.tr("&Audit trail…"), self.open_audit)
        menu = window.menuBar().addMenu(self.tr("&Users"))
        menu.addActions([self.act_login, self.act_logout])
        menu.addSeparator()
        menu.addActions([self.act_users, self.act_audit])

    def _action(self, text: str, slot) -> QAction:
        action = QAction(text, self.window)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    # --- what the level may do -----------------------------------------------------------------
    def apply(self) -> None:
        """Show and enable what the current level may do; called on every login and log-out."""
        window, may = self.window, self.session.may
        for action in (window.act_image, window.act_folder, window.act_video, window.act_camera):
            action.setEnabled(may(Action.CHOOSE_SOURCE))
        window.counters.reset_button.setVisible(may(Action.RESET_COUNTERS))
        self.act_logout.setEnabled(self.session.user is not None)
        self.act_users.setVisible(may(Action.MANAGE_USERS))
        self.act_audit.setEnabled(may(Action.VIEW_AUDIT))
        self.user_label.setText(self.session.describe())
        window.setWindowTitle(
            self.tr("Inspection Station — {user}").format(user=self.session.describe())
        )
        self.show_recipes()
        for name in [n for n in self.dialogs if not self._still_allowed(n)]:
            self.dialogs.pop(name).close()  # a log-out closes what the level may not see

    def _still_allowed(self, name: str) -> bool:
        needed = {"settings": Action.TUNE, "users": Action.MANAGE_USERS, "audit": Action.VIEW_AUDIT}
        return name not in needed or self.session.may(needed[name])

    def allow(self, action: Action) -> bool:
        """True when the current level may; else say why (error panel, shown in operator mode
        too) and return False."""
        if self.session.may(action):
            return True
        message = refusal(self.session.level, action)
        log.info("%s", message)
        self.window.errors.add_error(message)
        return False

    def open_recipe_ids(self, book: RecipeBook | None) -> set[str]:
        """The recipes the current level may switch to."""
        if book is None:
            return set()
        if self.session.may(Action.SELECT_ANY_RECIPE):
            return set(book.recipes)
        return {r.id for r in book.recipes.values() if r.operator_select}

    def show_recipes(self) -> None:
        window = self.window
        book = window.book
        chosen = window._book_recipe()
        recipes = list(book.recipes.values()) if book else []
        panel = window.trigger_panel
        panel.set_recipes(recipes, chosen.id if chosen else None, self.open_recipe_ids(book))

    def may_select_recipe(self, recipe_id: str) -> bool:
        if recipe_id in self.open_recipe_ids(self.window.book):
            return True
        self.allow(Action.SELECT_ANY_RECIPE)
        self.show_recipes()  # the chooser goes back to the recipe in use
        return False

    def may_close(self) -> bool:
        """Quitting during a run needs an engineer, or the operator's confirmation (asked
        without blocking the window: Yes stops the run and closes)."""
        window = self.window
        if not window.running or self.session.may(Action.QUIT_RUNNING):
            return True
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Quit during a run"),
            self.tr("A run is going on. Stop it and quit the station?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            window,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.accepted.connect(self._stop_and_close)
        box.open()
        self.dialogs["quit"] = box
        return False

    def _stop_and_close(self) -> None:
        self.window.stop()
        self.window.close()

    # --- logging in ----------------------------------------------------------------------------
    def first_start(self) -> FirstStartDialog | None:
        """No administrator yet: ask for one now (the station runs meanwhile, as operator)."""
        if self.session.book.has_administrator:
            return None
        dialog = FirstStartDialog(self.session, self.window)
        dialog.created.connect(lambda user: self.audit("user", user.name, None, "administrator"))
        return self._show("login", dialog)

    def log_in(self, reason: str = "") -> QDialog:
        """The login dialog; with no users at all, the first start's administrator dialog."""
        if not self.session.book.users:
            return self.first_start()
        return self._show("login", LoginDialog(self.session, reason, self.window))

    def open_settings(self) -> QDialog:
        """The engineer settings, after a login when the level is too low."""
        if self.session.may(Action.TUNE):
            self.window._show_settings()
            return self._keep("settings", self.window.settings_dialog)
        gate = self.log_in(refusal(self.session.level, Action.TUNE))
        gate.accepted.connect(self._settings_after_login)
        return gate

    def _settings_after_login(self) -> None:
        if self.allow(Action.TUNE):
            self.open_settings()

    def open_users(self) -> UsersDialog | None:
        if not self.allow(Action.MANAGE_USERS):
            return None
        dialog = UsersDialog(self.session, self.window)
        dialog.changed.connect(lambda subject, old, new: self.audit("user", subject, old, new))
        return self._show("users", dialog)

    def open_audit(self) -> AuditView | None:
        if not self.allow(Action.VIEW_AUDIT) or self.trail is None:
            return None
        default = str(Path(self.window.settings.output_dir) / "audit_trail.csv")
        return self._show("audit", AuditView(self.trail, default, self.window))

    def _show(self, name: str, dialog: QDialog) -> QDialog:
        """Not modal: the image, overlay and stepping stay usable while it is open."""
        dialog.setModal(False)
        dialog.show()
        return self._keep(name, dialog)

    def _keep(self, name: str, dialog: QDialog) -> QDialog:
        old = self.dialogs.get(name)
        if old is not None and old is not dialog:
            old.close()
        self.dialogs[name] = dialog
        return dialog

    def _idle_logout(self, name: str) -> None:
        message = self.tr("{name} logged out after {minutes:g} min without input").format(
            name=name, minutes=self.session.book.idle_logout_s / 60
        )
        self.window.statusBar().showMessage(message, 10_000)
        self.audit("user", name, "logged in", "logged out (idle)")

    # --- the audit trail -----------------------------------------------------------------------
    @property
    def trail(self) -> AuditTrail | None:
        """The audit table of the window's results store (None while no store is open)."""
        store = self.window.results
        if store is None:
            return None
        if self._trail is None or self._trail.store is not store:
            self._trail = AuditTrail(store)
        return self._trail

    def audit(self, kind: str, subject: str, old: object, new: object) -> None:
        """One change by whoever is logged in; a store that cannot take it is reported."""
        try:
            if self.trail is None:
                raise StoreError("no results store is open")
            self.trail.record(self.session.who, kind, subject, old, new)
        except StoreError as exc:
            self.window.report_error(f"audit trail: {kind} {subject} not recorded ({exc})")
            return
        view = self.dialogs.get("audit")
        if isinstance(view, AuditView) and view.isVisible():
            view.refresh()

    def audit_settings(self, old: StationSettings, new: StationSettings) -> None:
        before, after = dataclasses.asdict(old), dataclasses.asdict(new)
        for name in sorted(before):
            if name in UNAUDITED_SETTINGS or before[name] == after[name]:
                continue
            secret = name in SECRET_SETTINGS
            self.audit(
                SETTING_KINDS.get(name, "settings"),
                name,
                SECRET_CHANGED if secret else before[name],
                SECRET_CHANGED if secret else after[name],
            )

    def audit_thresholds(self, old: Thresholds | None, new: Thresholds | None) -> None:
        if old is None or new is None:
            return
        before, after = dataclasses.asdict(old), dataclasses.asdict(new)
        for name in sorted(before):
            if before[name] != after[name]:
                self.audit("thresholds", name, before[name], after[name])

    def audit_recipes(self, old: RecipeBook | None, new: RecipeBook) -> None:
        """One row per recipe created, edited (its whole table before and after) or deleted."""
        before = recipes_data(old)["recipes"] if old is not None else {}
        after = recipes_data(new)["recipes"]
        for recipe_id in sorted(set(before) | set(after)):
            if before.get(recipe_id) != after.get(recipe_id):
                self.audit("recipe", recipe_id, before.get(recipe_id), after.get(recipe_id))

    def audit_counters(self, counts: Counters) -> None:
        self.audit("counters", "reset", dataclasses.asdict(counts), None)
