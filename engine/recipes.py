"""Recipes: named product settings (bundle, thresholds, overlay and archive policy) in TOML.

The file, edited by hand or from the window's engineer settings:

    default = "metal_nut"

    [recipes.metal_nut]
    name = "Metal nut M8"
    bundle = "assets/default_bundle"   # relative paths are relative to this file's folder
    overlay_mode = "mask"              # mask, contours, heatmap (what archived overlays show)
    overlays = "ng"                    # which parts get an overlay image: all, ng, none
    archive = "ng"                     # which parts' originals are kept: all, ng, none

    [recipes.metal_nut.thresholds]     # optional; a missing one is the bundle's own
    image_threshold = 0.835
    pixel_threshold = 0.10
    min_defect_area_px = 3168

A recipe's id is its table name, so ids are unique by construction. Errors name the file and
the field (`recipes.metal_nut.overlays`).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from engine.overlay import MODES
from engine.result import Thresholds

POLICIES = ("all", "ng", "none")
THRESHOLD_FIELDS = {"image_threshold": float, "pixel_threshold": float, "min_defect_area_px": int}
ARCHIVE_MODES = tuple(m for m in MODES if m != "none")
# A recipe id is what a PLC, OPC UA client or `!recipe ID` sends: keep it plain.
RECIPE_ID = re.compile(r"[A-Za-z0-9_-]+")


class RecipeError(Exception):
    """A recipe file or recipe that cannot be used; the message names the file and field."""


@dataclass(frozen=True)
class Recipe:
    id: str
    bundle: str  # path of the model bundle (folder or .zip)
    name: str = ""
    # Overrides of the bundle's calibrated thresholds; a missing key keeps the bundle's.
    thresholds: dict[str, float | int] = field(default_factory=dict)
    overlay_mode: str = "mask"
    overlays: str = "ng"
    archive: str = "ng"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id

    def apply_thresholds(self, defaults: Thresholds) -> Thresholds:
        """The bundle's thresholds with this recipe's overrides (only where the model exists)."""
        changes = {
            name: value
            for name, value in self.thresholds.items()
            if getattr(defaults, name) is not None
        }
        return dataclasses.replace(defaults, **changes)


@dataclass
class RecipeBook:
    """The recipes of one file; `default` is the id the station starts with."""

    recipes: dict[str, Recipe]
    default: str | None = None
    path: Path | None = None

    def get(self, recipe_id: str) -> Recipe:
        try:
            return self.recipes[recipe_id]
        except KeyError:
            where = f"{self.path}: " if self.path else ""
            known = ", ".join(sorted(self.recipes)) or "none"
            raise RecipeError(f"{where}no recipe with id {recipe_id!r} (known: {known})") from None

    def first(self) -> Recipe:
        if self.default:
            return self.get(self.default)
        if not self.recipes:
            raise RecipeError(f"{self.path or 'recipe book'}: holds no recipe")
        return next(iter(self.recipes.values()))


def load_recipes(path: Path | str) -> RecipeBook:
    """Read and check a recipe file; raises RecipeError naming the file and the bad field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe file ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: not valid TOML ({exc})") from None
    return parse_recipes(data, path)


def parse_recipes(data: dict, path: Path) -> RecipeBook:
    unknown = set(data) - {"default", "recipes"}
    if unknown:
        raise RecipeError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    tables = data.get("recipes", {})
    if not isinstance(tables, dict):
        raise RecipeError(f"{path}: recipes: must be a table of recipes")
    recipes = {rid: _recipe(rid, table, path) for rid, table in tables.items()}
    default = data.get("default")
    if default is not None and default not in recipes:
        raise RecipeError(f"{path}: default: no recipe with id {default!r}")
    return RecipeBook(recipes, default, path)


def _recipe(recipe_id: str, table: object, path: Path) -> Recipe:
    where = f"{path}: recipes.{recipe_id}"
    if not RECIPE_ID.fullmatch(recipe_id):
        raise RecipeError(f"{where}: id {recipe_id!r} must be letters, digits, _ or -")
    if not isinstance(table, dict):
        raise RecipeError(f"{where}: must be a table")
    allowed = {f.name for f in dataclasses.fields(Recipe)} - {"id"}
    unknown = set(table) - allowed
    if unknown:
        raise RecipeError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if not isinstance(table.get("bundle"), str) or not table["bundle"]:
        raise RecipeError(f"{where}.bundle: missing (the model bundle's path)")
    bundle = Path(table["bundle"])
    if not bundle.is_absolute():
        bundle = path.parent / bundle
    for name, choices in (
        ("overlay_mode", ARCHIVE_MODES),
        ("overlays", POLICIES),
        ("archive", POLICIES),
    ):
        if name in table and table[name] not in choices:
            raise RecipeError(f"{where}.{name}: {table[name]!r} is not one of {', '.join(choices)}")
    thresholds = table.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise RecipeError(f"{where}.thresholds: must be a table")
    for name, value in thresholds.items():
        kind = THRESHOLD_FIELDS.get(name)
        if kind is None:
            raise RecipeError(
                f"{where}.thresholds.{name}: unknown; known: {', '.join(THRESHOLD_FIELDS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RecipeError(f"{where}.thresholds.{name}: must be a number ≥ 0, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise RecipeError(f"{where}.thresholds.{name}: must be a whole number of pixels")
    name = table.get("name", "")
    if not isinstance(name, str):
        raise RecipeError(f"{where}.name: must be text")
    return Recipe(
        id=recipe_id,
        bundle=str(bundle),
        name=name,
        thresholds=dict(thresholds),
        overlay_mode=table.get("overlay_mode", "mask"),
        overlays=table.get("overlays", "ng"),
        archive=table.get("archive", "ng"),
    )


def recipes_data(book: RecipeBook) -> dict:
    """The book as the TOML file holds it (what tomllib reads back; `parse_recipes` takes it)."""
    data: dict[str, object] = {}
    if book.default:
        data["default"] = book.default
    data["recipes"] = {
        recipe.id: {
            key: value
            for key, value in dataclasses.asdict(recipe).items()
            if key != "id" and value not in ("", {})
        }
        for recipe in book.recipes.values()
    }
    return data


def save_recipes(book: RecipeBook, path: Path | str) -> Path:
    """Write the book as TOML (atomically: a crash leaves the old file); returns the path."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(tomli_w.dumps(recipes_data(book)), encoding="utf-8")
    temporary.replace(path)
    return path
