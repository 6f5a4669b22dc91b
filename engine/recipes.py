"""Recipes: named product settings (bundle, thresholds, overlay and archive policy) in TOML.

The file, edited by hand or from the window's engineer settings:

    default = "metal_nut"

    [recipes.metal_nut]
    name = "Metal nut M8"
    bundle = "assets/default_bundle"   # relative paths are relative to this file's folder
    overlay_mode = "mask"              # mask, contours, heatmap (what archived overlays show)
    overlays = "ng"                    # which parts get an overlay image: all, ng, none
    archive = "ng"                     # which parts' originals are kept: all, ng, none
    operator_select = true             # operators may switch to it (default: engineers only)
    previous_bundle = "bundles/v1"     # the bundle before the last change: what a roll back uses

    [recipes.metal_nut.thresholds]     # optional; a missing one is the bundle's own
    image_threshold = 0.835
    pixel_threshold = 0.10
    min_defect_area_px = 3168

    [recipes.metal_nut.camera]         # optional; for industrial cameras (docs/cameras.md)
    exposure_us = 2000                 # a missing setting keeps the camera's own
    gain_db = 0.0
    roi = [0, 0, 1280, 960]            # x, y, width, height
    binning = 1
    pixel_format = "Mono8"
    trigger = "line1"                  # free, software, line0..line4 (a light barrier)
    activation = "rising"              # rising or falling edge

    [recipes.metal_nut.review]         # optional; when parts go to the review queue (review.md)
    near_margin = 0.1                  # a score within 10 % of its threshold
    audit_share = 0.02                 # 2 % of OK parts at random, as an audit sample

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

from engine.atomic_file import replace_file
from engine.cameras.common import CameraSetup, setup_problems
from engine.overlay import MODES
from engine.result import Thresholds
from engine.review import ReviewPolicy

POLICIES = ("all", "ng", "none")
THRESHOLD_FIELDS = {"image_threshold": float, "pixel_threshold": float, "min_defect_area_px": int}
ARCHIVE_MODES = tuple(m for m in MODES if m != "none")
# A recipe id is what a PLC, OPC UA client or `!recipe ID` sends: keep it plain.
RECIPE_ID = re.compile(r"[A-Za-z0-9_-]+")


class RecipeError(Exception):
    """A recipe file or recipe that cannot be used; the message names the file and field.
    `problems` lists each bad field's line, where there are several."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


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
    # The bundle this recipe used before its last bundle change: what "Roll back" returns to.
    previous_bundle: str = ""
    # When parts go to the review queue (the `review` table; engine.review).
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    # Operators may switch to this recipe themselves; others need an engineer (gui.permissions).
    operator_select: bool = False
    # An industrial camera's acquisition settings (the `camera` table; engine.cameras.common).
    camera: CameraSetup = field(default_factory=CameraSetup)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id

    def with_bundle(self, bundle: str) -> Recipe:
        """This recipe on `bundle`, keeping the one it leaves as `previous_bundle` (a roll
        back is `with_bundle(previous_bundle)`, so it can be undone the same way)."""
        return dataclasses.replace(self, bundle=bundle, previous_bundle=self.bundle)

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
    recipes = {rid: parse_recipe(rid, table, path) for rid, table in tables.items()}
    default = data.get("default")
    if default is not None and default not in recipes:
        raise RecipeError(f"{path}: default: no recipe with id {default!r}")
    return RecipeBook(recipes, default, path)


def parse_recipe(
    recipe_id: str,
    table: object,
    path: Path,
    field: str | None = None,
    base: Path | None = None,
) -> Recipe:
    """One recipe from its TOML table in the file `path`; relative bundle paths are relative
    to `base` (default: the file's folder). Raises RecipeError listing every problem, each
    naming the file and `field` (default `recipes.<id>`) with the key at fault."""
    field = field or f"recipes.{recipe_id}"
    base = path.parent if base is None else base
    problems = [
        f"{path}: {field}{'.' + key if key else ''}: {message}"
        for key, message in _problems(recipe_id, table)
    ]
    if problems:
        raise RecipeError("\n".join(problems), problems)
    bundle = Path(table["bundle"])
    previous = table.get("previous_bundle", "")
    return Recipe(
        id=recipe_id,
        bundle=str(bundle if bundle.is_absolute() else base / bundle),
        previous_bundle=str(base / previous) if previous else "",  # an absolute path stays
        name=table.get("name", ""),
        thresholds=dict(table.get("thresholds", {})),
        overlay_mode=table.get("overlay_mode", "mask"),
        overlays=table.get("overlays", "ng"),
        archive=table.get("archive", "ng"),
        review=ReviewPolicy(**table.get("review", {})),
        operator_select=table.get("operator_select", False),
        camera=CameraSetup(**table.get("camera", {})),
    )


def _problems(recipe_id: str, table: object) -> list[tuple[str, str]]:
    """(key, what is wrong) for every bad field of a recipe's table; empty when it is good."""
    if not RECIPE_ID.fullmatch(recipe_id):
        return [("", f"id {recipe_id!r} must be letters, digits, _ or -")]
    if not isinstance(table, dict):
        return [("", "must be a table")]
    problems = []
    allowed = {f.name for f in dataclasses.fields(Recipe)} - {"id"}
    for key in sorted(set(table) - allowed):
        problems.append((key, f"unknown field (known: {', '.join(sorted(allowed))})"))
    if not isinstance(table.get("bundle"), str) or not table["bundle"]:
        problems.append(("bundle", "missing (the model bundle's path)"))
    if not isinstance(table.get("name", ""), str):
        problems.append(("name", "must be text"))
    if not isinstance(table.get("operator_select", False), bool):
        problems.append(("operator_select", "must be true or false"))
    if not isinstance(table.get("previous_bundle", ""), str):
        problems.append(("previous_bundle", "must be a path (text)"))
    for key, choices in (
        ("overlay_mode", ARCHIVE_MODES),
        ("overlays", POLICIES),
        ("archive", POLICIES),
    ):
        if key in table and table[key] not in choices:
            problems.append((key, f"{table[key]!r} is not one of {', '.join(choices)}"))
    problems += _review_problems(table.get("review", {}))
    problems += _camera_problems(table.get("camera", {}))
    thresholds = table.get("thresholds", {})
    if not isinstance(thresholds, dict):
        return [*problems, ("thresholds", "must be a table")]
    for name, value in thresholds.items():
        key, kind = f"thresholds.{name}", THRESHOLD_FIELDS.get(name)
        if kind is None:
            problems.append((key, f"unknown; known: {', '.join(THRESHOLD_FIELDS)}"))
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append((key, f"must be a number ≥ 0, got {value!r}"))
        elif kind is int and not isinstance(value, int):
            problems.append((key, f"must be a whole number of pixels, got {value!r}"))
    return problems


REVIEW_FIELDS = tuple(f.name for f in dataclasses.fields(ReviewPolicy))


def _review_problems(review: object) -> list[tuple[str, str]]:
    """(key, what is wrong) for a recipe's `review` table (engine.review.ReviewPolicy)."""
    if not isinstance(review, dict):
        return [("review", "must be a table")]
    problems = []
    for name, value in review.items():
        key = f"review.{name}"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if name not in REVIEW_FIELDS:
            problems.append((key, f"unknown; known: {', '.join(REVIEW_FIELDS)}"))
        elif name == "enabled" and not isinstance(value, bool):
            problems.append((key, f"must be true or false, got {value!r}"))
        elif name == "seed" and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append((key, f"must be a whole number, got {value!r}"))
        elif name in ("near_margin", "audit_share") and not (number and 0 <= value <= 1):
            problems.append((key, f"must be a number from 0 to 1, got {value!r}"))
    return problems


def _camera_problems(camera: object) -> list[tuple[str, str]]:
    """(key, what is wrong) for a recipe's `camera` table (engine.cameras.common.CameraSetup)."""
    if not isinstance(camera, dict):
        return [("camera", "must be a table")]
    return [(f"camera.{name}", message) for name, message in setup_problems(camera)]


def _review_table(policy: ReviewPolicy) -> dict:
    """The policy's fields that differ from the defaults: what the file needs to hold."""
    default = ReviewPolicy()
    return {
        name: getattr(policy, name)
        for name in REVIEW_FIELDS
        if getattr(policy, name) != getattr(default, name)
    }


def recipes_data(book: RecipeBook) -> dict:
    """The book as the TOML file holds it (what tomllib reads back; `parse_recipes` takes it)."""
    data: dict[str, object] = {}
    if book.default:
        data["default"] = book.default
    data["recipes"] = {
        recipe.id: {
            key: value
            for key, value in {
                **dataclasses.asdict(recipe),
                "review": _review_table(recipe.review),
                "camera": recipe.camera.table(),
            }.items()
            if key != "id" and value not in ("", {})
        }
        for recipe in book.recipes.values()
    }
    return data


def save_recipes(book: RecipeBook, path: Path | str) -> Path:
    """Write the book as TOML (atomically: a crash leaves the old file); returns the path."""
    return replace_file(path, tomli_w.dumps(recipes_data(book)))
