"""Waiting in tests: poll a condition until it holds, failing with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable

TIMEOUT = 5.0  # any one wait; a test that needs longer says so


def wait_until(predicate: Callable[[], object], timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.002)
