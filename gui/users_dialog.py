"""The administrator's users dialog: add and remove users, their level and password, and the
idle log-out. Every change is written to the users file at once and reported by `changed`
(for the audit trail); the checks are the engine's (engine.users.UserBook)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.users import Level, User, UserError, check_new_password, save_users
from gui.permissions import level_name
from gui.session import Session

PASSWORD_CHANGED = "(changed)"  # what the audit trail keeps of a new password


class UsersDialog(QDialog):
    """`changed(subject, old, new)`: one change of the users file (subject: a user name, or
    "idle_logout_s"); passwords show only as PASSWORD_CHANGED."""

    changed = Signal(str, object, object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.tr("Users"))
        self.setMinimumWidth(520)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([self.tr("User"), self.tr("Level")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.name = QLineEdit()
        self.level = QComboBox()
        for level in Level:
            self.level.addItem(level_name(level), level)
        self.password, self.repeat = (
            QLineEdit(echoMode=QLineEdit.EchoMode.Password) for _ in range(2)
        )
        self.password.setPlaceholderText(self.tr("unchanged"))
        self.add_button = QPushButton(self.tr("Add user"), clicked=self.add_user)
        self.apply_button = QPushButton(self.tr("Apply to selected"))
        self.apply_button.clicked.connect(self.apply_to_selected)
        self.remove_button = QPushButton(self.tr("Remove selected"), clicked=self.remove_selected)
        form_box = QGroupBox(self.tr("User"))
        form = QFormLayout(form_box)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Level"), self.level)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.tr("Repeat"), self.repeat)
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.apply_button, self.remove_button):
            row.addWidget(button)
        form.addRow(buttons)

        self.idle = QDoubleSpinBox(decimals=1, maximum=24 * 60, suffix=self.tr(" min"))
        self.idle.setSpecialValueText(self.tr("never"))
        self.idle.setValue(session.book.idle_logout_s / 60)
        self.idle.setToolTip(
            self.tr("Without input for this long, whoever is logged in is logged out")
        )
        self.idle.editingFinished.connect(self._idle_changed)
        idle_form = QFormLayout()
        idle_form.addRow(self.tr("Idle log-out after"), self.idle)

        self.message = QLabel(objectName="usersMessage", wordWrap=True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(form_box)
        layout.addLayout(idle_form)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self._fill()

    # --- table ---------------------------------------------------------------------------------
    def _fill(self, select: str | None = None) -> None:
        users = list(self.session.book.users.values())
        self.table.setRowCount(len(users))
        for row, user in enumerate(users):
            self.table.setItem(row, 0, QTableWidgetItem(user.name))
            self.table.setItem(row, 1, QTableWidgetItem(level_name(user.level)))
            if user.name == select:
                self.table.selectRow(row)
        self._show_selected()

    def selected(self) -> User | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.session.book.users.get(self.table.item(rows[0].row(), 0).text())

    def select(self, name: str) -> None:
        self._fill(select=name)

    def _show_selected(self) -> None:
        user = self.selected()
        for button in (self.apply_button, self.remove_button):
            button.setEnabled(user is not None)
        if user is not None:
            self.name.setText(user.name)
            self.level.setCurrentIndex(self.level.findData(user.level))

    # --- changes -------------------------------------------------------------------------------
    def add_user(self) -> User | None:
        book = self.session.book
        level = Level(self.level.currentData())
        try:
            check_new_password(self.password.text(), self.repeat.text())
            user = book.add(self.name.text(), level, self.password.text())
        except UserError as exc:
            return self._say(str(exc))
        if not self._save(lambda: book.users.pop(user.name)):
            return None
        self.changed.emit(user.name, None, {"level": level.label})
        self._done(self.tr("Added {name}").format(name=user.name), user.name)
        return user

    def apply_to_selected(self) -> User | None:
        """The selected user's level and, when typed, a new password."""
        before = self.selected()
        if before is None:
            return None
        book = self.session.book
        level = Level(self.level.currentData())
        try:
            if self.password.text():
                check_new_password(self.password.text(), self.repeat.text())
                book.set_password(before.name, self.password.text())
            user = book.set_level(before.name, level)
        except UserError as exc:
            book.users[before.name] = before
            return self._say(str(exc))
        if not self._save(lambda: book.users.__setitem__(before.name, before)):
            return None
        if level != before.level:
            self.changed.emit(user.name, {"level": before.level.label}, {"level": level.label})
        if user.password != before.password:
            self.changed.emit(user.name, {"password": ""}, {"password": PASSWORD_CHANGED})
        self.session.refresh(user.name, user)
        self._done(self.tr("Changed {name}").format(name=user.name), user.name)
        return user

    def remove_selected(self) -> bool:
        user = self.selected()
        if user is None:
            return False
        book = self.session.book
        try:
            book.remove(user.name)
        except UserError as exc:
            self._say(str(exc))
            return False
        if not self._save(lambda: book.users.__setitem__(user.name, user)):
            return False
        self.changed.emit(user.name, {"level": user.level.label}, None)
        self.session.refresh(user.name, None)
        self._done(self.tr("Removed {name}").format(name=user.name))
        return True

    def _idle_changed(self) -> None:
        old = self.session.book.idle_logout_s
        new = round(self.idle.value() * 60, 1)
        if new != old:
            try:
                self.session.set_idle_logout(new)
            except OSError as exc:
                self._say(f"{self.session.book.path}: {exc.strerror or exc}")
                return
            self.changed.emit("idle_logout_s", old, new)

    def _save(self, undo) -> bool:
        """Write the users file; on failure undo the change in memory and say why."""
        try:
            save_users(self.session.book)
        except OSError as exc:
            undo()
            self._say(f"{self.session.book.path}: cannot write ({exc.strerror or exc})")
            return False
        return True

    def _say(self, text: str) -> None:
        self.message.setText(text)

    def _done(self, text: str, select: str | None = None) -> None:
        self.password.clear()
        self.repeat.clear()
        self._say(text)
        self._fill(select)
