"""Users: the users file and its hashes, `station users` (first administrator, recovery), the
first-start dialog, logging in and the idle log-out. Real files under tmp_path, real Qt."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLineEdit

from engine.audit import AuditTrail
from engine.store import ResultStore
from engine.users import (
    Level,
    LoginRefused,
    UserBook,
    UserError,
    hash_password,
    load_users,
    save_users,
    verify_password,
)
from gui.login_dialog import FirstStartDialog, LoginDialog
from gui.session import Session
from gui.settings import open_users, users_file
from tests.test_gui import RUN_TIMEOUT_MS, open_window

PASSWORD = "correct-horse"


def station_users(*args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """`station users COMMAND ...` as a person types it in a shell on the machine."""
    command = "import sys; from gui.launcher import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", command, "users", *args],
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hashes_are_salted_slow_and_carry_their_parameters():
    encoded = hash_password(PASSWORD)
    scheme, n, r, p, _salt, _digest = encoded.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert PASSWORD not in encoded and hash_password(PASSWORD) != encoded  # salted
    assert verify_password(PASSWORD, encoded) and not verify_password("Correct-horse", encoded)
    cheap = hash_password(PASSWORD, n=2**4, r=1, p=1)  # parameters are per hash
    assert verify_password(PASSWORD, cheap)
    assert not verify_password(PASSWORD, "scrypt$garbage")  # a damaged hash never matches


def test_the_users_file_is_private_and_keeps_only_hashes(tmp_path):
    path = tmp_path / "conf" / "users.json"
    book = load_users(path)
    assert book.users == {} and not book.has_administrator  # the first start
    book.add("anna", Level.ADMINISTRATOR, PASSWORD)
    book.add("olaf", Level.OPERATOR, "operator-pw")
    save_users(book, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "operator-pw" not in text
    again = load_users(path)
    assert again.get("anna").level == Level.ADMINISTRATOR and again.has_administrator
    assert again.authenticate("anna", PASSWORD).name == "anna"
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        again.authenticate("anna", "guess")
    with pytest.raises(LoginRefused):
        again.authenticate("nobody", PASSWORD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.add("anna", Level.ENGINEER, PASSWORD), "exists already"),
        (lambda b: b.add("bad name", Level.ENGINEER, PASSWORD), "user name 'bad name'"),
        (lambda b: b.add("eve", Level.ENGINEER, "short"), "at least 6 characters"),
        (lambda b: b.remove("anna"), "last administrator"),
        (lambda b: b.set_level("anna", Level.ENGINEER), "last administrator"),
        (lambda b: b.set_password("nobody", PASSWORD), "no user 'nobody'"),
    ],
)
def test_the_book_refuses_what_would_lock_the_station_or_is_malformed(change, message):
    book = UserBook()
    book.add("anna", Level.ADMINISTRATOR, PASSWORD)
    with pytest.raises(UserError, match=message):
        change(book)
    assert book.get("anna").level == Level.ADMINISTRATOR


def test_a_damaged_users_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "users.json"
    path.write_text('{"users": {"anna": {"level": "king", "password": "x"}}}', encoding="utf-8")
    with pytest.raises(UserError, match=f"{path}: not a users file"):
        load_users(path)


def test_the_first_administrator_and_the_recovery_from_a_shell(tmp_path):
    path = tmp_path / "users.json"
    done = station_users("list", "--file", str(path))
    assert done.returncode == 0 and "no administrator yet" in done.stdout
    made = station_users(
        "add", "anna", "--level", "administrator", "--file", str(path), "--password-stdin",
        password=PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert load_users(path).authenticate("anna", PASSWORD).level == Level.ADMINISTRATOR
    # Forgotten: reset from a shell on the machine, as its user (the file is theirs alone).
    output = tmp_path / "out"  # the station's output folder: its audit trail gets the change
    refused = station_users("remove", "anna", "--file", str(path), "--output", str(output))
    assert refused.returncode == 2 and "no results.sqlite here" in refused.stderr
    output.mkdir()
    ResultStore(output / "results.sqlite").close()
    reset = station_users(  # as docs/gui.md tells it
        "reset-password", "anna", "--output", str(output), "--file", str(path),
        "--password-stdin", password="new-pass-1",
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    with ResultStore(output / "results.sqlite") as store:
        (entry,) = AuditTrail(store).entries()
    assert entry.user.startswith("machine user ") and (entry.kind, entry.subject) == (
        "user",
        "anna",
    )
    assert entry.new_value == '{"password": "(changed)"}'
    book = load_users(path)
    assert book.authenticate("anna", "new-pass-1").name == "anna"
    with pytest.raises(LoginRefused):
        book.authenticate("anna", PASSWORD)
    refused = station_users("remove", "anna", "--file", str(path))
    assert refused.returncode == 2 and "last administrator" in refused.stderr
    unknown = station_users("reset-password", "bob", "--file", str(path), "--password-stdin")
    assert unknown.returncode == 2 and "no user 'bob'" in unknown.stderr


def test_station_users_runs_without_qt(tmp_path):
    command = (
        "import sys; from gui.launcher import main; code = main(sys.argv[1:]); "
        "assert 'PySide6' not in sys.modules, 'Qt was imported'; sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", command, "users", "list", "--file", str(tmp_path / "u.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_old_single_engineer_password_becomes_the_user_engineer(tmp_path):
    """Settings from before user levels keep working: the same password logs in."""
    import hashlib

    store = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", b"old-secret", salt, 200_000)
    store.setValue("engineer/salt", salt.hex())
    store.setValue("engineer/hash", digest.hex())
    store.sync()
    book = open_users(store)
    assert users_file(store) == tmp_path / "users.json" and book.path == users_file(store)
    assert book.authenticate("engineer", "old-secret").level == Level.ENGINEER
    assert store.value("engineer/hash") is None  # migrated once, into the users file
    assert "old-secret" not in (tmp_path / "users.json").read_text(encoding="utf-8")
    assert open_users(store).authenticate("engineer", "old-secret")


def test_first_start_asks_for_the_administrator_and_logs_them_in(qtbot, tmp_path, tiny_bundle):
    qsettings = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    window = open_window(qtbot, qsettings, tiny_bundle, tmp_path / "out")
    dialog = window.access.first_start()
    assert isinstance(dialog, FirstStartDialog) and dialog.isVisible()
    dialog.name.setText("anna")
    dialog.password.setText(PASSWORD)
    dialog.repeat.setText("typo" + PASSWORD)
    dialog.accept()
    assert dialog.isVisible() and "differ" in dialog.message.text()
    assert not window.access.session.book.has_administrator
    dialog.password.setText(PASSWORD)
    dialog.repeat.setText(PASSWORD)
    dialog.accept()
    assert not dialog.isVisible()
    assert window.access.session.user.name == "anna"
    assert "anna" in window.windowTitle() and "administrator" in window.windowTitle()
    assert load_users(tmp_path / "users.json").get("anna").level == Level.ADMINISTRATOR
    assert window.access.first_start() is None  # once there is one, never again
    (entry,) = window.access.trail.entries(kind="user")
    assert (entry.user, entry.subject, entry.new_value) == ("anna", "anna", "administrator")
    window.close()


def test_login_refuses_a_wrong_password_and_idle_logout_ends_the_session(qtbot, tmp_path):
    book = UserBook(path=tmp_path / "users.json", idle_logout_s=0.3)
    book.add("erik", Level.ENGINEER, PASSWORD)
    session = Session(book)
    dialog = LoginDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("erik")
    dialog.password.setText("wrong")
    dialog.accept()
    assert dialog.isVisible() and session.user is None
    assert dialog.message.text() == "Wrong user name or password."
    assert dialog.password.text() == ""  # typed again, not kept
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(session.changed):
        dialog.accept()
    assert session.level == Level.ENGINEER and not dialog.isVisible()

    # Input keeps the session open past the idle time; then silence ends it.
    field = QLineEdit()
    qtbot.addWidget(field)
    for _ in range(5):
        qtbot.wait(100)
        qtbot.keyClick(field, Qt.Key.Key_A)
    assert session.user is not None  # 0.5 s with input, longer than 0.3 s idle
    with qtbot.waitSignal(session.idle_logout, timeout=RUN_TIMEOUT_MS) as idle:
        pass
    assert idle.args == ["erik"] and session.user is None and session.level == Level.OPERATOR


def test_a_login_for_an_engineer_action_refuses_an_operator(qtbot, tmp_path):
    book = UserBook(path=tmp_path / "users.json")
    book.add("olaf", Level.OPERATOR, PASSWORD)
    session = Session(book)
    dialog = LoginDialog(session, needed=Level.ENGINEER)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("olaf")
    dialog.password.setText(PASSWORD)
    dialog.accept()
    assert dialog.isVisible() and "needs engineer" in dialog.message.text()


def test_users_file_beside_the_ini_is_what_the_window_and_the_shell_share(tmp_path: Path):
    data = {"format": 1, "users": {}}
    (tmp_path / "users.json").write_text(json.dumps(data), encoding="utf-8")
    store = QSettings(str(tmp_path / "station.ini"), QSettings.Format.IniFormat)
    assert open_users(store).path == tmp_path / "users.json"


def test_a_password_reset_from_the_shell_counts_at_the_next_login(qtbot, tmp_path):
    path = tmp_path / "users.json"
    book = UserBook(path=path)
    book.add("anna", Level.ADMINISTRATOR, PASSWORD)
    save_users(book)
    session = Session(load_users(path))  # the running window's
    reset = station_users(
        "reset-password", "anna", "--file", str(path), "--password-stdin", password="new-pass-1"
    )
    assert reset.returncode == 0, reset.stderr
    with pytest.raises(LoginRefused):
        session.login("anna", PASSWORD)
    assert session.login("anna", "new-pass-1").level == Level.ADMINISTRATOR
