"""The pytest side of the real mosquitto broker (bench/mosquitto.py starts and stops it): a
fixture body that skips the test, with the reason, when mosquitto is not installed.

    from bench.mosquitto import Mosquitto
    from tests.mosquitto import mosquitto_broker

    @pytest.fixture()
    def broker(tmp_path):
        yield from mosquitto_broker(tmp_path)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.mosquitto import Mosquitto, find_mosquitto


def mosquitto_broker(
    tmp_path: Path, tls: tuple[Path, Path, Path] | None = None, require_certificate: bool = False
) -> Iterator[Mosquitto]:
    """Body of a pytest fixture: a started broker (a TLS listener with `tls`: CA, certificate,
    key; asking clients for a certificate with `require_certificate`), always killed at the end
    of the test."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto is not installed (Debian: apt-get install -y mosquitto)")
    broker = Mosquitto(
        binary, tmp_path / "mosquitto", tls=tls, require_certificate=require_certificate
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
