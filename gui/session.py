"""Who is logged in at the window, and the idle log-out.

Nobody logged in acts as an operator: the line runs without a login, and an engineer or
administrator logs in for what needs more. After `idle_logout_s` without a key press, click or
touch anywhere in the application the session falls back to that, so a tuned station left
alone does not stay open to whoever comes by.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from engine.users import Level, User, UserBook, load_users, save_users
from gui.permissions import Action, allowed, level_name, require

NOBODY = "operator (not logged in)"  # who acted, in the audit trail (not translated: it is data)
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class Session(QObject):
    """`changed` fires on every login and log-out with the user (None: nobody)."""

    changed = Signal(object)  # User | None
    idle_logout = Signal(str)  # the name of the user logged out for being idle

    def __init__(self, book: UserBook, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.user: User | None = None
        self._idle = QTimer(self, singleShot=True)
        self._idle.timeout.connect(self._logged_out_idle)

    @property
    def level(self) -> Level:
        return self.user.level if self.user is not None else Level.OPERATOR

    @property
    def who(self) -> str:
        """The name the audit trail keeps for whoever acts now."""
        return self.user.name if self.user is not None else NOBODY

    def describe(self) -> str:
        if self.user is None:
            return QCoreApplication.translate("session", "not logged in (operator)")
        return f"{self.user.name} ({level_name(self.user.level)})"

    def may(self, action: Action) -> bool:
        return allowed(self.level, action)

    def require(self, action: Action) -> None:
        """Raise permissions.Refused, saying what is needed, when the level may not."""
        require(self.level, action)

    def login(self, name: str, password: str) -> User:
        """Log in (raises engine.users.LoginRefused, or UserError for a damaged file); the
        idle clock starts. The users file is read again first: a password reset from a shell
        (`station users`) counts at once, and the window never writes over it."""
        if self.book.path is not None and self.book.path.exists():
            self.book = load_users(self.book.path)
        self.user = self.book.authenticate(name, password)
        self._restart_idle()
        self.changed.emit(self.user)
        return self.user

    def logout(self) -> None:
        self._stop_idle()
        if self.user is not None:
            self.user = None
            self.changed.emit(None)

    def set_idle_logout(self, seconds: float) -> None:
        """A new idle time for everyone (0: never), kept in the users file."""
        self.book.idle_logout_s = max(0.0, float(seconds))
        save_users(self.book)
        self._restart_idle()

    def refresh(self, name: str, user: User | None) -> None:
        """The account `name` changed (`user`) or went (None): the session follows it when
        that is who is logged in."""
        if self.user is not None and self.user.name == name:
            self.user = user
            if user is None:
                self._stop_idle()
            self.changed.emit(user)

    def _restart_idle(self) -> None:
        """The idle clock runs, and input is watched, only while someone is logged in: the
        line's normal running costs no filter on every event."""
        self._stop_idle()
        app = QApplication.instance()
        if self.user is not None and self.book.idle_logout_s > 0 and app is not None:
            app.installEventFilter(self)
            self._idle.start(int(self.book.idle_logout_s * 1000))

    def _stop_idle(self) -> None:
        self._idle.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _logged_out_idle(self) -> None:
        name = self.user.name if self.user is not None else ""
        self.logout()
        self.idle_logout.emit(name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS and self._idle.isActive():
            self._idle.start()  # any input restarts the clock
        return False
