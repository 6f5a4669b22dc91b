"""The station's persistent settings (QSettings), and where its users file is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from engine.providers import CHOICES as PROVIDER_CHOICES
from engine.result import Thresholds
from engine.statistics import DEFAULT_SHIFT_STARTS
from engine.users import (
    LEGACY_SCHEME,
    USERS_FILE,
    Level,
    User,
    UserBook,
    default_users_file,
    load_users,
    save_users,
)

LEGACY_PBKDF2_ITERATIONS = 200_000  # of the single engineer password before user levels
LEGACY_ENGINEER = "engineer"  # the user that password becomes
LANGUAGE_CHOICES = ("", "en", "de")  # "": the system's language
ARCHIVE_CHOICES = ("ng", "all", "none")
TRIGGER_CHOICES = ("continuous", "software")  # file arrival is a watched folder


def _app_data() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".inspection-station")


def default_output_dir() -> str:
    return str(_app_data() / "output")


def default_recipes_file() -> Path:
    """Where the engineer's first recipe file goes when none is chosen."""
    return _app_data() / "recipes.toml"


# The MQTT link's TLS files: setting -> MqttConfig field (engine.line.mqtt).
MQTT_TLS_FILES = {
    "mqtt_ca_file": "ca_file",
    "mqtt_cert_file": "cert_file",
    "mqtt_key_file": "key_file",
}


@dataclass
class StationSettings:
    """Everything the engineer sets and the station remembers between shifts."""

    bundle: str = ""
    provider: str = "auto"
    output_dir: str = ""
    archive: str = "ng"  # which inspected images are saved: ng, all or none
    last_source: str = ""
    overlay_mode: str = "mask"
    opacity: float = 0.45
    watch_folder: bool = False  # a folder run waits for new images until stopped
    skip_inspected: bool = True  # a folder run passes over images this bundle already inspected
    # A video file is inspected frame by frame; as a camera stand-in it plays at its own rate
    # and the newest frame wins (frames the station could not keep up with are counted).
    video_as_camera: bool = False
    trigger_mode: str = "continuous"  # free run, or one part per trigger (button, Space, pedal)
    pedal_key: str = ""  # the key a USB foot pedal types (e.g. F12), a trigger besides Space
    recipes_file: str = ""  # a recipe file (engine.recipes); empty: the bundle above is the recipe
    recipe_id: str = ""  # the recipe last selected from that file
    # Line links (engine/line/): an address switches one on, empty leaves it off.
    modbus: str = ""  # HOST:PORT the PLC connects to, e.g. 127.0.0.1:502
    opcua: str = ""  # opc.tcp://HOST:PORT the OPC UA server listens on
    opcua_user: str = ""  # the OPC UA client's user name
    opcua_password_hash: str = ""  # its password, hashed (engine.line.opcua_security)
    mqtt: str = ""  # mqtt://HOST:PORT of the broker (mqtts:// for TLS)
    mqtt_ca_file: str = ""  # with mqtts://: the CA that signed the broker's certificate
    mqtt_cert_file: str = ""  # with mqtts://: the station's client certificate (PEM) ...
    mqtt_key_file: str = ""  # ... and its private key, for brokers that ask for one
    # Alarm limits (engine.alarms; 0 switches a rule off) and shift starts (engine.statistics).
    alarm_consecutive_ng: int = 5
    alarm_ng_rate_percent: float = 20.0
    alarm_ng_rate_window: int = 50
    alarm_uninspected: int = 10
    alarm_link_down: bool = True
    shift_starts: str = DEFAULT_SHIFT_STARTS
    language: str = ""  # en, de; empty: the system's (gui.i18n), applied at start

    @classmethod
    def load(cls, store: QSettings) -> StationSettings:
        values = {}
        for f in fields(cls):
            default = f.default
            value = store.value(f"station/{f.name}", default)
            values[f.name] = _typed(value, default)
        settings = cls(**values)
        if settings.archive not in ARCHIVE_CHOICES:
            settings.archive = "ng"
        if settings.provider not in PROVIDER_CHOICES:
            settings.provider = "auto"
        if settings.language not in LANGUAGE_CHOICES:
            settings.language = ""
        if settings.trigger_mode not in TRIGGER_CHOICES:
            settings.trigger_mode = "continuous"
        settings.output_dir = settings.output_dir or default_output_dir()
        return settings

    def save(self, store: QSettings) -> None:
        for name, value in asdict(self).items():
            store.setValue(f"station/{name}", value)
        store.sync()


def _typed(value: object, default: object) -> object:
    """A value read back from QSettings as the type of its default (INI files give strings)."""
    if isinstance(default, bool):
        return str(value).lower() in ("true", "1")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):  # a hand-edited file: the default, not a crash
            return default
    return float(value) if isinstance(default, float) else str(value)


def _thresholds_key(bundle_digest: str) -> str:
    return f"thresholds/{bundle_digest[:16]}"


def load_thresholds(store: QSettings, bundle_digest: str, defaults: Thresholds) -> Thresholds:
    """Thresholds an engineer set for this exact bundle, else the bundle's own."""
    key = _thresholds_key(bundle_digest)

    def read(name: str, kind: type, default: float | int | None) -> float | int | None:
        if default is None:  # the bundle lacks the model that uses it
            return None
        value = store.value(f"{key}/{name}")
        return default if value is None else kind(value)

    return Thresholds(
        image_threshold=read("image_threshold", float, defaults.image_threshold),
        pixel_threshold=read("pixel_threshold", float, defaults.pixel_threshold),
        min_defect_area_px=read("min_defect_area_px", int, defaults.min_defect_area_px),
        map_threshold=defaults.map_threshold,
    )


def save_thresholds(store: QSettings, bundle_digest: str, thresholds: Thresholds) -> None:
    key = _thresholds_key(bundle_digest)
    store.remove(key)
    for name in ("image_threshold", "pixel_threshold", "min_defect_area_px"):
        value = getattr(thresholds, name)
        if value is not None:
            store.setValue(f"{key}/{name}", value)
    store.sync()


def users_file(store: QSettings) -> Path:
    """The users file that goes with these settings: beside an INI file (`--settings INI`, a
    demo, a test), else the user's own (where `station users` looks by default)."""
    if store.format() == QSettings.Format.IniFormat:
        return Path(store.fileName()).with_name(USERS_FILE)
    return default_users_file()


def open_users(store: QSettings) -> UserBook:
    """The users of these settings. Settings from before user levels held one engineer
    password (salted PBKDF2): it becomes the user "engineer" with that password, once."""
    book = load_users(users_file(store))
    salt, digest = store.value("engineer/salt"), store.value("engineer/hash")
    if salt and digest and LEGACY_ENGINEER not in book.users:
        encoded = f"{LEGACY_SCHEME}${LEGACY_PBKDF2_ITERATIONS}${salt}${digest}"
        book.users[LEGACY_ENGINEER] = User(LEGACY_ENGINEER, Level.ENGINEER, encoded)
        save_users(book)
        store.remove("engineer")
        store.sync()
    return book
