"""A real mosquitto broker on a free 127.0.0.1 port, for the MQTT tests and bench/bench_line.py,
that a test can kill and restart on the same port (the broker outage of engine.line.mqtt's
store and forward).

The broker runs from a config file written into a scratch folder: one listener on 127.0.0.1,
anonymous access, no persistence (a restart forgets every session and retained message, as a
broker that crashed without a disk would). Every wait is bounded. The tests' fixture
(tests/mosquitto.py, `mosquitto_broker`) skips, with the reason, only when the mosquitto binary
is not installed (Debian package `mosquitto`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
# Debian installs the broker in /usr/sbin, which is not on every user's PATH.
CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); mosquitto binds it right after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One broker process on 127.0.0.1:`port`; `kill()` / `stop()` then `start()` again gives an
    outage with the same address. Its log is `log_path` (shown when it fails to start)."""

    def __init__(
        self,
        binary: str,
        folder: Path,
        port: int | None = None,
        tls: tuple[Path, Path, Path] | None = None,
        require_certificate: bool = False,
    ) -> None:
        """`tls`: (CA, certificate, key) files for a TLS listener instead of plain TCP; with
        `require_certificate` a client must show a certificate signed by that CA."""
        self.binary = binary
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.config_path = self.folder / "mosquitto.conf"
        self.log_path = self.folder / "mosquitto.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        keys = ("cafile", "certfile", "keyfile")
        tls_lines = "".join(f"{k} {v}\n" for k, v in zip(keys, tls, strict=True)) if tls else ""
        if tls and require_certificate:
            tls_lines += "require_certificate true\n"
        # Started as root, mosquitto drops to user `mosquitto`, who cannot read the test's
        # private folders (its log, the TLS files); for any other user this line is a no-op.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
        self.config_path.write_text(
            f"listener {self.port} {self.host}\n" + tls_lines + user + "allow_anonymous true\n"
            "persistence false\n"
            "set_tcp_nodelay true\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "connection_messages true\n",
            encoding="utf-8",
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the broker and wait until it accepts connections (at most `timeout` s)."""
        if self.running:
            raise RuntimeError(f"mosquitto already running on {self.host}:{self.port}")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not port_open(self.port, self.host):
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace").strip()
                raise RuntimeError(
                    f"mosquitto on {self.host}:{self.port} exited with {self.process.returncode}"
                    f": {stderr or self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"mosquitto on {self.host}:{self.port} did not listen within {timeout:g} s: "
                    f"{self._log_tail()}"
                )
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL: the broker dies at once, as in a crash; its clients see the link drop."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        self._end(signal.SIGTERM)

    def freeze(self) -> None:
        """SIGSTOP: the broker hangs. Connections stay open and the kernel still takes bytes,
        but nothing is read or acknowledged until `kill()` (or SIGCONT)."""
        if self.running:
            os.kill(self.process.pid, signal.SIGSTOP)

    def restart(self, down_s: float = 0.0) -> None:
        """Kill the broker, stay down `down_s` seconds, start it again on the same port."""
        self.kill()
        if down_s:
            time.sleep(down_s)
        self.start()

    def _end(self, how: signal.Signals) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, how)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        if process.stderr is not None:
            process.stderr.close()

    def _log_tail(self, lines: int = 10) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"
