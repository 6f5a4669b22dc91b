"""The station's users: who may do what (operator, engineer, administrator), and their passwords.

One JSON file, readable and writable by the machine's user only (mode 0600):

    {"format": 1, "idle_logout_s": 600,
     "users": {"anna": {"level": "administrator", "password": "scrypt$16384$8$1$<salt>$<hash>"}}}

Passwords are kept only as salted slow hashes with their parameters in each hash, so a copied
file does not give them away and the cost can rise later without breaking older hashes. The
station's window reads the file; `station users ...` (this module's `main`) changes it from a
shell on the machine: that is how the first administrator can be made before the window opens,
and how a forgotten administrator password is reset (it needs the machine, not the screen).
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path

from engine.atomic_file import replace_file
from engine.audit import AuditTrail
from engine.recorder import DB_NAME
from engine.store import ResultStore, StoreError

log = logging.getLogger(__name__)

FORMAT = 1
USERS_FILE = "users.json"
DEFAULT_IDLE_LOGOUT_S = 600.0
MIN_PASSWORD_LENGTH = 6
# scrypt cost: 16 MiB and about 50 ms per check on a small CPU: cheap for a login, dear for a
# guesser. Kept in each hash, so a test may use a cheaper one and old hashes stay valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# The single engineer password of older settings (PBKDF2-SHA256, hex), migrated as it is.
LEGACY_SCHEME = "pbkdf2_sha256_hex"
USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class Level(IntEnum):
    """What a user may do grows with the level (gui.permissions holds the table)."""

    OPERATOR = 1
    ENGINEER = 2
    ADMINISTRATOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(level.label for level in cls)
            raise UserError(f"level {text!r} is not one of {known}") from None


class UserError(Exception):
    """A users file, user name, level or password that cannot be used; says which and why."""


class LoginRefused(UserError):
    """Wrong user name or password (the message does not say which)."""


@dataclass(frozen=True)
class User:
    name: str
    level: Level
    password: str = field(repr=False)  # the encoded hash, never the password


# --- password hashes ------------------------------------------------------------------------


def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$<salt>$<hash>` (base64): what the users file keeps."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded` (scrypt, or a migrated legacy PBKDF2 hash)."""
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(v) for v in parts[1:4])
            salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            digest = _scrypt(password, salt, n, r, p)
        elif parts[0] == LEGACY_SCHEME and len(parts) == 4:
            salt, expected = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(parts[1]))
        else:
            return False
    except (ValueError, TypeError):  # a damaged hash never matches
        return False
    return hmac.compare_digest(digest, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_new_password(password: str, repeat: str | None = None) -> None:
    """Raise UserError when a chosen password is too short or typed differently twice."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if repeat is not None and password != repeat:
        raise UserError("the two passwords differ")


# --- the users file -------------------------------------------------------------------------


@dataclass
class UserBook:
    """The users of one file. Every change is checked here, so the window and the command line
    refuse the same things (an unknown level, the last administrator removed...)."""

    users: dict[str, User] = field(default_factory=dict)
    idle_logout_s: float = DEFAULT_IDLE_LOGOUT_S  # 0: never log out
    path: Path | None = None

    @property
    def has_administrator(self) -> bool:
        return any(user.level == Level.ADMINISTRATOR for user in self.users.values())

    def get(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            known = ", ".join(self.users) or "none"
            raise UserError(f"no user {name!r} (known: {known})") from None

    def authenticate(self, name: str, password: str) -> User:
        user = self.users.get(name.strip())
        if user is None or not verify_password(password, user.password):
            raise LoginRefused("wrong user name or password")
        return user

    def add(self, name: str, level: Level, password: str, hasher=hash_password) -> User:
        name = name.strip()
        if not USER_NAME.fullmatch(name):
            raise UserError(f"user name {name!r}: use 1-64 letters, digits, _ . @ or -")
        if name in self.users:
            raise UserError(f"user {name!r} exists already")
        check_new_password(password)
        user = self.users[name] = User(name, Level(level), hasher(password))
        return user

    def set_password(self, name: str, password: str, hasher=hash_password) -> User:
        check_new_password(password)
        user = self.users[name] = replace(self.get(name), password=hasher(password))
        return user

    def set_level(self, name: str, level: Level) -> User:
        user = self.get(name)
        if user.level == Level.ADMINISTRATOR and level != Level.ADMINISTRATOR:
            self._keep_an_administrator(name)
        user = self.users[name] = replace(user, level=Level(level))
        return user

    def remove(self, name: str) -> User:
        user = self.get(name)
        if user.level == Level.ADMINISTRATOR:
            self._keep_an_administrator(name)
        return self.users.pop(name)

    def _keep_an_administrator(self, name: str) -> None:
        others = [u for u in self.users.values() if u.level == Level.ADMINISTRATOR]
        if [u.name for u in others] == [name]:
            raise UserError(f"{name!r} is the last administrator: make another one first")


def default_users_file() -> Path:
    """Where the window keeps its users when it uses the user's own settings: beside them
    (Qt's QSettings folder for organisation InspectionStation)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Preferences"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "InspectionStation" / USERS_FILE


def load_users(path: Path | str) -> UserBook:
    """The users of `path`; a missing file is a book without users (the first start)."""
    path = Path(path)
    if not path.exists():
        return UserBook(path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        users = {
            name: User(name, Level.parse(entry["level"]), str(entry["password"]))
            for name, entry in data["users"].items()
        }
        idle = float(data.get("idle_logout_s", DEFAULT_IDLE_LOGOUT_S))
    except OSError as exc:
        raise UserError(f"{path}: cannot read users file ({exc.strerror or exc})") from None
    except (UserError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: not a users file ({exc})") from None
    return UserBook(users, max(0.0, idle), path)


def save_users(book: UserBook, path: Path | str | None = None) -> Path:
    """Write the book atomically, readable by the machine's user only; returns the path."""
    path = Path(path or book.path)
    data = {
        "format": FORMAT,
        "idle_logout_s": book.idle_logout_s,
        "users": {
            u.name: {"level": u.level.label, "password": u.password} for u in book.users.values()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(data, indent=1), private=True)
    book.path = path
    return path


# --- `station users ...` ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # after any command: `... list --file F`
    common.add_argument(
        "--file",
        type=Path,
        help=f"users file (default: {default_users_file()}; with the window's --settings INI, "
        f"the {USERS_FILE} beside the INI)",
    )
    common.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="the station's output folder: the change also goes to the audit trail of its "
        "results store, as made by this machine user",
    )
    common.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )
    parser = argparse.ArgumentParser(
        prog="station users",
        description=(
            "List and change the station's users from a shell on the machine. Run as the "
            "machine user the station runs as: the users file is theirs alone. This is how the "
            "first administrator is made before the window opens, and how a forgotten "
            "administrator password is reset: station users reset-password NAME."
        ),
        epilog="Each command takes --file, --output and --password-stdin (see COMMAND --help).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[common], help="user names and levels")
    add = commands.add_parser("add", parents=[common], help="add a user")
    add.add_argument("name")
    add.add_argument("--level", required=True, choices=[level.label for level in Level])
    reset = commands.add_parser(
        "reset-password", parents=[common], help="choose a new password for a user"
    )
    reset.add_argument("name")
    level = commands.add_parser("set-level", parents=[common], help="change a user's level")
    level.add_argument("name")
    level.add_argument("level", choices=[level.label for level in Level])
    remove = commands.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("name")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("New password: ")
    check_new_password(password, getpass.getpass("Repeat it: "))
    return password


def _change(book: UserBook, args: argparse.Namespace) -> tuple[object, object]:
    """Make the change the command asks for; (old, new) as the audit trail keeps them."""
    if args.command == "add":
        book.add(args.name, Level.parse(args.level), _read_password(args.password_stdin))
        return None, {"level": args.level}
    old = book.get(args.name)  # an unknown name is refused before a password is asked
    if args.command == "reset-password":
        book.set_password(args.name, _read_password(args.password_stdin))
        return {"password": ""}, {"password": "(changed)"}
    if args.command == "set-level":
        book.set_level(args.name, Level.parse(args.level))
        return {"level": old.level.label}, {"level": args.level}
    book.remove(args.name)
    return {"level": old.level.label}, None


def _audit(output: Path, who: str, subject: str, old: object, new: object) -> None:
    """Write the change to the audit trail of the station's results store in `output`; the
    station may be running (SQLite in WAL mode takes a second writer)."""
    try:
        with ResultStore(output / DB_NAME) as store:
            AuditTrail(store).record(who, "user", subject, old, new)
    except StoreError as exc:
        raise UserError(f"changed, but not written to the audit trail: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 2 refused (the reason on standard error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = args.file or default_users_file()
    who = f"machine user {getpass.getuser()}"
    try:
        book = load_users(path)
        if args.command == "list":
            for user in book.users.values():
                print(f"{user.name}\t{user.level.label}")
            if not book.has_administrator:
                print("no administrator yet: station users add NAME --level administrator")
            return 0
        if args.output is not None and not (args.output / DB_NAME).is_file():
            raise UserError(f"{args.output}: no {DB_NAME} here; is it the station's output?")
        old, new = _change(book, args)
        save_users(book, path)
        if args.output is not None:
            _audit(args.output, who, args.name, old, new)
    except (UserError, OSError) as exc:
        print(f"station users: {exc}", file=sys.stderr)
        return 2
    log.info("%s %s: %s -> %s in %s (by %s)", args.command, args.name, old, new, path, who)
    return 0


if __name__ == "__main__":
    sys.exit(main())
