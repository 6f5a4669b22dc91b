"""Which line links a configuration asks for, checked, and started on a station.

The one place that knows the three adapters: their config section (`[modbus]`, `[opcua]`,
`[mqtt]`), the key holding the address, the package extra that brings their library, and
their classes. Each adapter's own config class checks its fields; its module is imported only
when a configuration names it, so `station serve` runs without the extras it does not use.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.recipes import RecipeBook
from engine.station import Station

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkKind:
    section: str  # the config section, also the command-line option (--modbus)
    address_key: str  # the section's key holding the address
    example: str  # an address, for messages
    module: str
    config_class: str  # has from_url(address, **fields)
    adapter_class: str  # (station, config=, recipes=) with start(), close(), status()
    name_field: str | None = None  # the config field that defaults to the station's name


KINDS = {
    kind.section: kind
    for kind in (
        LinkKind(
            "modbus",
            "listen",
            "127.0.0.1:502",
            "engine.line.modbus",
            "ModbusConfig",
            "ModbusAdapter",
        ),
        LinkKind(
            "opcua",
            "endpoint",
            "opc.tcp://127.0.0.1:4840",
            "engine.line.opcua",
            "OpcUaConfig",
            "OpcUaServer",
        ),
        LinkKind(
            "mqtt",
            "broker",
            "mqtt://127.0.0.1:1883",
            "engine.line.mqtt",
            "MqttConfig",
            "MqttLink",
            name_field="station_id",
        ),
    )
}


class LinkError(Exception):
    """A link that cannot be configured or started; the message names the section and why."""


class Link(Protocol):
    """A started adapter; its status() has `up` and `headline()` for a status bar."""

    def start(self) -> None: ...

    def close(self) -> None: ...

    def status(self) -> Any: ...


@dataclass(frozen=True)
class LinkSpec:
    """One configured link: its kind, its address and the adapter's config, already checked."""

    kind: str
    address: str
    config: Any = field(repr=False)


def _module(kind: LinkKind):
    try:
        return importlib.import_module(kind.module)
    except ImportError as exc:
        raise LinkError(
            f"{kind.section}: needs the [{kind.section}] extra "
            f"(pip install 'inspection-station[{kind.section}]'): {exc}"
        ) from None


def parse_link(section: str, table: dict[str, Any], station_name: str = "station") -> LinkSpec:
    """The link of a config section; raises LinkError naming the section and what is wrong."""
    kind = KINDS[section]
    options = dict(table)
    if kind.name_field:
        options.setdefault(kind.name_field, station_name)
    address = options.pop(kind.address_key, None)
    if not isinstance(address, str) or not address.strip():
        raise LinkError(
            f"{section}.{kind.address_key}: missing (the address, e.g. {kind.example!r})"
        )
    config_class = getattr(_module(kind), kind.config_class)
    try:
        config = config_class.from_url(address, **options)
    except TypeError as exc:  # a field the adapter does not have
        raise LinkError(f"{section}: {exc}") from None
    except Exception as exc:  # each adapter's own config error, naming the field
        message = str(exc)
        raise LinkError(
            message if message.startswith(section) else f"{section}: {message}"
        ) from None
    return LinkSpec(section, address, config)


def start_links(specs: list[LinkSpec], station: Station, book: RecipeBook | None) -> list[Link]:
    """Start every link on `station`; if one cannot start, those started are closed again and
    LinkError says which one failed and why."""
    started: list[Link] = []
    for spec in specs:
        kind = KINDS[spec.kind]
        adapter_class = getattr(_module(kind), kind.adapter_class)
        try:
            link = adapter_class(station, config=spec.config, recipes=book)
            link.start()
        except Exception as exc:  # e.g. the port is taken: the service cannot do its job
            close_links(started)
            raise LinkError(f"{spec.kind} {spec.address}: cannot start: {exc}") from None
        log.info("%s link on %s", spec.kind, spec.address)
        started.append(link)
    return started


def hash_opcua_password(password: str) -> str:
    """The OPC UA server's stored form of a password (needs the [opcua] extra)."""
    _module(KINDS["opcua"])  # says which extra is missing, if it is
    from engine.line.opcua_security import hash_password

    return hash_password(password)


def close_links(links: list[Link]) -> None:
    """Close in reverse order; a link that fails to close is logged, the others still close."""
    for link in reversed(links):
        try:
            link.close()
        except Exception:
            log.exception("closing %r failed", link)
