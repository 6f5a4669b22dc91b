"""Logging in, and the first start: making the administrator account deliberately."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from engine.users import Level, LoginRefused, UserError, check_new_password, save_users
from gui.permissions import level_name
from gui.session import Session


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def _password_field() -> QLineEdit:
    return QLineEdit(echoMode=QLineEdit.EchoMode.Password)


class LoginDialog(QDialog):
    """User name and password; accepted only when the session took them and the user has at
    least the level `needed`."""

    def __init__(
        self,
        session: Session,
        reason: str = "",
        parent: QWidget | None = None,
        needed: Level = Level.OPERATOR,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.needed = needed
        self.setWindowTitle(self.tr("Log in"))
        self.name = QLineEdit()
        self.password = _password_field()
        self.message = QLabel(reason, objectName="loginMessage", wordWrap=True)
        form = QFormLayout(self)
        form.addRow(self.tr("User"), self.name)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.message)
        form.addRow(_buttons(self))

    def accept(self) -> None:
        try:
            self.session.login(self.name.text(), self.password.text())
        except LoginRefused:
            self._refuse(self.tr("Wrong user name or password."))
            return
        except UserError as exc:  # the users file went bad since the window read it
            self._refuse(str(exc))
            return
        if self.session.level < self.needed:
            self.message.setText(
                self.tr("{user} may not do this: it needs {level}.").format(
                    user=self.session.describe(), level=level_name(self.needed)
                )
            )
            return
        super().accept()

    def _refuse(self, message: str) -> None:
        self.message.setText(message)
        self.password.clear()
        self.password.setFocus()


class FirstStartDialog(QDialog):
    """No administrator yet: choose one, with a password typed twice. `created` fires with
    the new user, who is then logged in."""

    created = Signal(object)  # User

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.tr("First start: the administrator"))
        self.name = QLineEdit("admin")
        self.password = _password_field()
        self.repeat = _password_field()
        self.message = QLabel(objectName="firstStartMessage", wordWrap=True)
        intro = QLabel(
            self.tr(
                "This station has no administrator yet. The administrator manages the users "
                "(operators, engineers). Choose the account now; a forgotten password can be "
                "reset only from a shell on this machine (station users reset-password NAME)."
            ),
            wordWrap=True,
        )
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow(self.tr("Administrator"), self.name)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.tr("Repeat"), self.repeat)
        form.addRow(self.message)
        form.addRow(_buttons(self))

    def accept(self) -> None:
        book = self.session.book
        try:
            check_new_password(self.password.text(), self.repeat.text())
            user = book.add(self.name.text(), Level.ADMINISTRATOR, self.password.text())
            try:
                save_users(book)
            except OSError as exc:
                book.users.pop(user.name)
                raise UserError(f"{book.path}: cannot write ({exc.strerror or exc})") from None
        except UserError as exc:
            self.message.setText(str(exc))
            self.password.clear()
            self.repeat.clear()
            return
        self.session.login(user.name, self.password.text())
        self.created.emit(user)
        super().accept()
