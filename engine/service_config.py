"""The configuration of `station serve`: a TOML file, read into dataclasses and checked by field.

    [station]
    name = "line-1"
    out = "results"                  # results.sqlite, overlays/ and the NG archive
    log_file = "logs/station.log"    # optional; rotated

    [source]
    spec = "0"                       # camera index, stream URL, folder, video or image
    trigger = "software"             # continuous, software or file

    [recipes]
    file = "recipes.toml"            # engine.recipes format; or an inline [recipe] table

Relative paths resolve against the config file's folder (command-line paths against the
working directory). Every error names the file and the field (`station.toml: source.trigger:
'sometimes' is not one of continuous, software, file`), and all of them are reported at once,
so one `--check` shows everything to fix. docs/serve.md describes every field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from engine.bundle import BundleError, load_bundle
from engine.cameras.spec import CameraSpecError, is_camera_spec, parse_camera_spec
from engine.imageio import max_pixels_setting
from engine.line.links import KINDS as LINK_KINDS
from engine.line.links import LinkError, LinkSpec, parse_link
from engine.providers import ProviderError, choose_providers
from engine.recipes import Recipe, RecipeBook, RecipeError, load_recipes, parse_recipe
from engine.sources import IMAGE_EXTENSIONS, classify
from engine.station import TriggerMode

TRIGGERS = tuple(mode.value for mode in TriggerMode)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECTIONS = {
    "station": {
        "name",
        "out",
        "provider",
        "log_file",
        "log_level",
        "log_max_bytes",
        "log_backups",
        "drop_alarm_share",
        "trigger_timeout_s",
    },
    "source": {"spec", "trigger", "realtime", "poll_interval", "reconnect_s"},
    "recipes": {"file", "recipe"},
    "recipe": {
        "id",
        "name",
        "bundle",
        "thresholds",
        "overlay_mode",
        "overlays",
        "archive",
        "camera",
    },
    # Line links: each adapter's own config class checks the keys (engine.line.links).
    **{section: set() for section in LINK_KINDS},
}
# Which command-line option sets which field: an error in an overridden field says so.
OPTION_FIELDS = {
    "bundle": "recipe.bundle",
    "source": "source.spec",
    "trigger": "source.trigger",
    "recipe": "recipes.recipe",
    "out": "station.out",
    "provider": "station.provider",
    **{section: f"{section}.{kind.address_key}" for section, kind in LINK_KINDS.items()},
}
COMMAND_LINE = "station serve"  # names the "file" when there is no config file


class ConfigError(Exception):
    """The configuration cannot be used; `errors` holds one line per bad field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class StationConfig:
    out: Path  # results folder: results.sqlite, overlays/, ng/
    name: str = "station"
    provider: str | None = None  # onnxruntime provider; None: env STATION_PROVIDER, else best
    log_file: Path | None = None
    log_level: str = "INFO"
    log_max_bytes: int = 10_000_000  # one log file's size before it is rotated
    log_backups: int = 5  # rotated files kept
    drop_alarm_share: float = 0.5
    trigger_timeout_s: float = 5.0


@dataclass(frozen=True)
class SourceConfig:
    spec: str
    trigger: TriggerMode = TriggerMode.CONTINUOUS
    realtime: bool = False  # a video file played at its own rate, as a camera
    poll_interval: float = 0.5  # seconds between scans of a watched folder (file trigger)
    reconnect_s: float | None = None  # reopen a lost camera every so many seconds

    @property
    def kind(self) -> str:
        return classify(self.spec)


@dataclass(frozen=True)
class ServeConfig:
    station: StationConfig
    source: SourceConfig
    book: RecipeBook  # the recipes `!recipe ID` can switch to
    recipe: Recipe  # the one the service starts with
    where: str  # the config file as given, or COMMAND_LINE
    warnings: tuple[str, ...] = ()
    links: tuple[LinkSpec, ...] = ()  # line links to start (Modbus, OPC UA, MQTT)

    def summary(self) -> str:
        """One line saying what the service would run."""
        source = self.source
        extras = ", realtime" if source.realtime else ""
        text = (
            f"{self.where}: OK: station {self.station.name!r}, recipe {self.recipe.id} "
            f"(bundle {self.recipe.bundle}), source {source.spec} ({source.kind}, "
            f"{source.trigger.value} trigger{extras}), results in {self.station.out}"
        )
        if self.station.log_file:
            text += f", log {self.station.log_file}"
        for link in self.links:
            text += f", {link.kind} {link.address}"
        return text


@dataclass(frozen=True)
class Overrides:
    """Command-line values that replace the file's (paths relative to the working folder)."""

    bundle: str | None = None
    source: str | None = None
    trigger: str | None = None
    recipe: str | None = None
    out: str | None = None
    provider: str | None = None
    modbus: str | None = None  # HOST:PORT the PLC connects to
    opcua: str | None = None  # opc.tcp://HOST:PORT
    mqtt: str | None = None  # mqtt://HOST:PORT of the broker


def load_config(
    path: Path | str | None, overrides: Overrides = Overrides(), *, load_bundles: bool = False
) -> ServeConfig:
    """Read `path` (None: the command line alone), apply `overrides` and check every field and
    the files they name: the recipe file, the bundle (with `load_bundles` its manifest and model
    hashes too, as `--check` does), the source, the results and log folders. Raises ConfigError
    listing every problem found."""
    where = str(path) if path is not None else COMMAND_LINE
    base = Path(path).resolve().parent if path is not None else Path.cwd()
    data = _read_toml(Path(path)) if path is not None else {}
    cli = _apply_overrides(data, overrides)
    reader = _Reader(data, where, base, cli)
    station = _station(reader)
    source = _source(reader)
    book, recipe, bundle_field = _recipes(reader, overrides.recipe)
    warnings: list[str] = []
    if station is not None:
        _check_station(reader, station)
    if source is not None:
        _check_source(reader, source)
    if recipe is not None:
        _check_bundle(reader, recipe.bundle, bundle_field, load_bundles)
        warnings += _other_bundles(where, book, recipe)
    links = _links(reader, station.name if station is not None else "station")
    try:
        max_pixels_setting()  # read per image later: a bad value must stop the start, not a part
    except ValueError as exc:
        reader.errors.append(f"environment: {exc}")
    if reader.errors:
        raise ConfigError(reader.errors)
    return ServeConfig(station, source, book, recipe, where, tuple(warnings), links)


def _links(reader: _Reader, station_name: str) -> tuple[LinkSpec, ...]:
    links = []
    for section in LINK_KINDS:
        if reader.has(section):
            try:
                links.append(parse_link(section, reader.tables[section], station_name))
            except LinkError as exc:
                option = reader.cli.get(f"{section}.{LINK_KINDS[section].address_key}")
                suffix = f" (from {option})" if option else ""
                reader.errors.append(f"{reader.where}: {exc}{suffix}")
    return tuple(links)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file ({exc.strerror or exc})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


def _apply_overrides(data: dict[str, Any], overrides: Overrides) -> dict[str, str]:
    """Write the command-line values into `data` (paths made absolute, since they are relative
    to the working folder, not the config's); returns {field: option} of what was set."""
    cli: dict[str, str] = {}
    for option, field_name in OPTION_FIELDS.items():
        value = getattr(overrides, option)
        if value is None:
            continue
        cli[field_name] = f"--{option}"
        if option == "recipe":  # chooses from the book; written nowhere (see _recipes)
            continue
        if option in ("bundle", "out") or (option == "source" and classify(value) != "camera"):
            value = str(Path(value).resolve())
        section, key = field_name.split(".")
        if option == "bundle":  # a one-recipe book with this bundle, the bundle's thresholds
            data.pop("recipes", None)
            data["recipe"] = {}
        table = data.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = value
    return cli


class _Reader:
    """Reads fields from the parsed TOML, collecting every error instead of stopping at the
    first; a bad field reads as None so the checks that depend on it are skipped."""

    def __init__(self, data: dict[str, Any], where: str, base: Path, cli: dict[str, str]) -> None:
        self.where, self.base, self.cli = where, base, cli
        self.errors: list[str] = []
        self.tables: dict[str, dict[str, Any]] = {}
        for name, value in data.items():
            if name not in SECTIONS:
                known = ", ".join(f"[{s}]" for s in SECTIONS)
                self.error(name, f"unknown section (known: {known})")
            elif not isinstance(value, dict):
                self.error(name, f"must be a table ([{name}])")
            else:
                self.tables[name] = value
                if name in LINK_KINDS:  # the adapter's config class checks its own keys
                    continue
                for key in sorted(set(value) - SECTIONS[name]):
                    known = ", ".join(sorted(SECTIONS[name]))
                    self.error(f"{name}.{key}", f"unknown field (known: {known})")

    def error(self, field_name: str, message: str) -> None:
        option = self.cli.get(field_name)
        suffix = f" (from {option})" if option else ""
        self.errors.append(f"{self.where}: {field_name}: {message}{suffix}")

    def has(self, section: str) -> bool:
        return section in self.tables

    def raw(self, field_name: str) -> Any:
        section, key = field_name.split(".", 1)
        return (self.tables.get(section) or {}).get(key)

    def text(self, field_name: str, default: str | None = None, *, what: str = "") -> str | None:
        value = self.raw(field_name)
        if value is None:
            if default is None and what:
                self.error(field_name, f"missing ({what})")
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(field_name, f"must be non-empty text, got {value!r}")
            return None
        return value

    def path(self, field_name: str, *, what: str = "") -> Path | None:
        value = self.text(field_name, what=what)
        return None if value is None else self.resolve(value)

    def resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return Path(os.path.normpath(path if path.is_absolute() else self.base / path))

    def choice(self, field_name: str, choices: tuple[str, ...], default: str) -> str | None:
        value = self.raw(field_name)
        if value is None:
            return default
        if value not in choices:
            self.error(field_name, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def flag(self, field_name: str, default: bool) -> bool | None:
        value = self.raw(field_name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(field_name, f"must be true or false, got {value!r}")
            return None
        return value

    def number(
        self,
        field_name: str,
        default: float | None,
        *,
        low: float = 0.0,
        high: float | None = None,
        above: bool = False,
        whole: bool = False,
    ) -> float | None:
        """A number ≥ low (> low with `above`), ≤ high; `whole`: an integer."""
        value = self.raw(field_name)
        if value is None:
            return default
        kind = "a whole number" if whole else "a number"
        wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
        if wrong_type or (whole and not isinstance(value, int)):
            self.error(field_name, f"must be {kind}, got {value!r}")
            return None
        too_low = value <= low if above else value < low
        if too_low or (high is not None and value > high):
            bound = f"> {low:g}" if above else f"≥ {low:g}"
            if high is not None:
                bound += f" and ≤ {high:g}"
            self.error(field_name, f"must be {kind} {bound}, got {value!r}")
            return None
        return value


def _station(reader: _Reader) -> StationConfig | None:
    errors = len(reader.errors)
    out = reader.path("station.out", what="the results folder; or give --out")
    log_file = reader.path("station.log_file")
    level = reader.raw("station.log_level")
    if isinstance(level, str):
        level = level.upper()
    if level is not None and level not in LOG_LEVELS:
        reader.error("station.log_level", f"{level!r} is not one of {', '.join(LOG_LEVELS)}")
    values = {
        "name": reader.text("station.name", "station"),
        "provider": reader.text("station.provider"),
        "log_max_bytes": reader.number("station.log_max_bytes", 10_000_000, low=0, whole=True),
        "log_backups": reader.number("station.log_backups", 5, low=0, whole=True),
        "drop_alarm_share": reader.number("station.drop_alarm_share", 0.5, low=0, high=1),
        "trigger_timeout_s": reader.number("station.trigger_timeout_s", 5.0, above=True),
    }
    if len(reader.errors) > errors or out is None:
        return None
    return StationConfig(out=out, log_file=log_file, log_level=level or "INFO", **values)


def _source(reader: _Reader) -> SourceConfig | None:
    errors = len(reader.errors)
    spec = reader.raw("source.spec")
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = str(spec)  # `spec = 0`: a camera index written as a number
    if spec is None:
        reader.error(
            "source.spec",
            "missing (camera index, stream URL, pylon:SERIAL, genicam:SERIAL@producer.cti, "
            "folder, video or image)",
        )
    elif not isinstance(spec, str) or not spec.strip():
        reader.error("source.spec", f"must be non-empty text, got {spec!r}")
        spec = None
    elif classify(spec) != "camera":
        spec = str(reader.resolve(spec))
    trigger = reader.choice("source.trigger", TRIGGERS, TriggerMode.CONTINUOUS.value)
    realtime = reader.flag("source.realtime", False)
    poll = reader.number("source.poll_interval", 0.5, above=True)
    reconnect = reader.number("source.reconnect_s", None, low=0)
    if len(reader.errors) > errors or spec is None:
        return None
    return SourceConfig(
        spec=spec,
        trigger=TriggerMode(trigger),
        realtime=realtime,
        poll_interval=poll,
        reconnect_s=reconnect or None,  # 0: no reconnecting
    )


def _recipes(reader: _Reader, chosen: str | None) -> tuple[RecipeBook | None, Recipe | None, str]:
    """The recipe book, the recipe to start with (`chosen`, else recipes.recipe, else the
    book's default) and the field that names its bundle."""
    if reader.has("recipes") and reader.has("recipe"):
        reader.error("recipe", "give either [recipes] file = ... or an inline [recipe], not both")
        return None, None, ""
    if reader.has("recipe"):
        book = _inline_recipe(reader)
        field_name = "recipe.bundle"
    elif reader.has("recipes"):
        book = _recipe_file(reader)
        field_name = "recipes.file"
    else:
        reader.error("recipes", "missing: give [recipes] file, an inline [recipe] or --bundle")
        return None, None, ""
    if book is None:
        return None, None, field_name
    chosen = chosen or reader.raw("recipes.recipe")
    try:
        recipe = book.get(chosen) if chosen is not None else book.first()
    except RecipeError as exc:
        reader.error("recipes.recipe", str(exc))
        return book, None, field_name
    return book, recipe, field_name


def _recipe_file(reader: _Reader) -> RecipeBook | None:
    path = reader.path("recipes.file", what="the recipe file, engine.recipes format")
    chosen = reader.raw("recipes.recipe")
    if chosen is not None and not isinstance(chosen, str):
        reader.error("recipes.recipe", f"must be a recipe id (text), got {chosen!r}")
        return None
    if path is None:
        return None
    try:
        return load_recipes(path)
    except RecipeError as exc:
        reader.error("recipes.file", str(exc))
        return None


def _inline_recipe(reader: _Reader) -> RecipeBook | None:
    """A one-recipe book from [recipe], checked by engine.recipes as a recipe file's entry is
    (every bad field reported, named `recipe.<field>`)."""
    table = dict(reader.tables["recipe"])
    recipe_id = table.pop("id", None)
    if recipe_id is None:
        bundle = table.get("bundle")
        recipe_id = Path(bundle).stem if isinstance(bundle, str) and bundle else "recipe"
    try:
        recipe = parse_recipe(
            str(recipe_id), table, Path(reader.where), field="recipe", base=reader.base
        )
    except RecipeError as exc:
        reader.errors += exc.problems
        return None
    return RecipeBook({recipe.id: recipe}, recipe.id, None)


def _check_station(reader: _Reader, station: StationConfig) -> None:
    problem = folder_problem(station.out)
    if problem:
        reader.error("station.out", problem)
    if station.log_file is not None:
        problem = _log_file_problem(station.log_file)
        if problem:
            reader.error("station.log_file", problem)
    if station.provider is not None:
        try:
            choose_providers(station.provider)
        except ProviderError as exc:
            reader.error("station.provider", str(exc))


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (None when they can). A missing folder is fine
    when its nearest existing parent is a writable folder: it is created at start."""
    if folder.exists():
        if not folder.is_dir():
            return f"{folder}: not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder}: folder not writable"
        return None
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{folder}: cannot be created ({parent} is not a folder)"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{folder}: cannot be created ({parent} is not writable)"
    return None


def _log_file_problem(path: Path) -> str | None:
    if path.exists():
        if not path.is_file():
            return f"{path}: not a file"
        return None if os.access(path, os.W_OK) else f"{path}: not writable"
    return folder_problem(path.parent)


def _check_source(reader: _Reader, source: SourceConfig) -> None:
    """Is the source plausible? A camera is not opened (the running service may hold it)."""
    kind = source.kind
    if kind != "camera":
        problem = _file_source_problem(Path(source.spec), kind)
        if problem:
            reader.error("source.spec", problem)
            return
    elif problem := _camera_spec_problem(source.spec):
        reader.error("source.spec", problem)
        return
    named = f"source.spec is {'an' if kind == 'image' else 'a'} {kind}"
    if source.trigger is TriggerMode.FILE and kind != "folder":
        reader.error("source.trigger", f"'file' watches a folder; {named}")
    if source.realtime and kind != "video":
        reader.error("source.realtime", f"plays a video file as a camera; {named}")


def _camera_spec_problem(spec: str) -> str | None:
    """What is wrong with an industrial camera's spec (engine.cameras.spec), checked without
    opening the camera: its syntax, and that a producer it names is a file."""
    if not is_camera_spec(spec):
        return None
    try:
        camera = parse_camera_spec(spec)
    except CameraSpecError as exc:
        return str(exc)
    if camera.producer and not Path(camera.producer).expanduser().is_file():
        return f"{spec}: the GenTL producer {camera.producer} is not a file"
    return None


def _file_source_problem(path: Path, kind: str) -> str | None:
    if not path.exists():
        return f"{path}: not found"
    if kind == "folder":
        return None if os.access(path, os.R_OK | os.X_OK) else f"{path}: folder not readable"
    if not path.is_file():
        return f"{path}: not a file, folder or camera"
    if kind == "video":
        capture = cv2.VideoCapture(str(path))
        try:
            opened = capture.isOpened()
        finally:
            capture.release()
        return None if opened else f"{path}: cannot open video (unsupported or corrupt file)"
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return f"{path}: not an image, video, folder or camera"
    return None


def _check_bundle(reader: _Reader, bundle: str, field_name: str, load: bool) -> None:
    path = Path(bundle)
    if not load:
        if not path.exists():
            reader.error(field_name, f"{path}: bundle not found")
        return
    try:
        load_bundle(path)
    except (BundleError, OSError) as exc:
        reader.error(field_name, str(exc))


def _other_bundles(where: str, book: RecipeBook, chosen: Recipe) -> list[str]:
    """Recipes the service could switch to whose bundle is missing: a warning, since the
    service runs without them until asked to switch."""
    return [
        f"{where}: recipes.file: recipe {recipe.id!r}: bundle {recipe.bundle} not found"
        for recipe in book.recipes.values()
        if recipe.id != chosen.id and not Path(recipe.bundle).exists()
    ]
