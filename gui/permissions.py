"""What each user level may do in the window: one table, read by the window (to hide and
disable what a level may not do) and by every guarded action (to refuse it with a message)."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from engine.users import Level


class Action(StrEnum):
    """A guarded action; its value is what a refusal names (translated when shown)."""

    START_STOP = QT_TRANSLATE_NOOP("permissions", "start and stop a run")
    TRIGGER = QT_TRANSLATE_NOOP("permissions", "trigger a part")
    SELECT_ALLOWED_RECIPE = QT_TRANSLATE_NOOP("permissions", "select a recipe open to operators")
    SELECT_ANY_RECIPE = QT_TRANSLATE_NOOP("permissions", "select any recipe")
    RESET_COUNTERS = QT_TRANSLATE_NOOP("permissions", "reset the counters")
    CHOOSE_SOURCE = QT_TRANSLATE_NOOP("permissions", "change the source")
    TUNE = QT_TRANSLATE_NOOP("permissions", "change thresholds, model, provider and line settings")
    MANAGE_RECIPES = QT_TRANSLATE_NOOP("permissions", "create, edit and delete recipes")
    QUIT_RUNNING = QT_TRANSLATE_NOOP("permissions", "quit during a run without confirming")
    VIEW_AUDIT = QT_TRANSLATE_NOOP("permissions", "view and export the audit trail")
    MANAGE_USERS = QT_TRANSLATE_NOOP("permissions", "manage users")


MINIMUM_LEVEL: dict[Action, Level] = {
    Action.START_STOP: Level.OPERATOR,
    Action.TRIGGER: Level.OPERATOR,
    Action.SELECT_ALLOWED_RECIPE: Level.OPERATOR,
    Action.SELECT_ANY_RECIPE: Level.ENGINEER,
    Action.RESET_COUNTERS: Level.ENGINEER,
    Action.CHOOSE_SOURCE: Level.ENGINEER,
    Action.TUNE: Level.ENGINEER,
    Action.MANAGE_RECIPES: Level.ENGINEER,
    Action.QUIT_RUNNING: Level.ENGINEER,
    Action.VIEW_AUDIT: Level.ENGINEER,
    Action.MANAGE_USERS: Level.ADMINISTRATOR,
}


class Refused(Exception):
    """An action the current level may not take; the message says what it needs."""


def allowed(level: Level, action: Action) -> bool:
    return level >= MINIMUM_LEVEL[action]


def level_name(level: Level) -> str:
    """The level in the window's language."""
    names = {
        Level.OPERATOR: QCoreApplication.translate("permissions", "operator"),
        Level.ENGINEER: QCoreApplication.translate("permissions", "engineer"),
        Level.ADMINISTRATOR: QCoreApplication.translate("permissions", "administrator"),
    }
    return names[level]


def refusal(level: Level, action: Action) -> str:
    """Why `action` is refused at `level`, for a person."""
    return QCoreApplication.translate(
        "permissions", "Not allowed: to {action} log in as {needed} (now: {level})"
    ).format(
        action=QCoreApplication.translate("permissions", action.value),
        needed=level_name(MINIMUM_LEVEL[action]),
        level=level_name(level),
    )


def require(level: Level, action: Action) -> None:
    if not allowed(level, action):
        raise Refused(refusal(level, action))
