"""Recipe files: TOML round trip, relative bundle paths, and errors naming the file and field."""

from pathlib import Path

import pytest

from engine.bundle import load_bundle
from engine.inspector import Inspector
from engine.recipes import Recipe, RecipeBook, RecipeError, load_recipes, save_recipes
from engine.result import Thresholds
from training.tiny_bundle import make_tiny_bundle

GOOD = """
default = "nut"

[recipes.nut]
name = "Metal nut M8"
bundle = "models/nut"
overlay_mode = "contours"
overlays = "all"
archive = "none"

[recipes.nut.thresholds]
image_threshold = 0.835
pixel_threshold = 0.1
min_defect_area_px = 3168

[recipes.bolt]
bundle = "/abs/bolt.zip"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipes.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_every_field_and_resolves_relative_bundles(tmp_path):
    path = _write(tmp_path, GOOD)
    book = load_recipes(path)
    assert book.path == path and book.default == "nut"
    assert list(book.recipes) == ["nut", "bolt"]
    nut = book.get("nut")
    assert nut == Recipe(
        id="nut",
        bundle=str(tmp_path / "models" / "nut"),  # relative to the file's folder, not the cwd
        name="Metal nut M8",
        thresholds={"image_threshold": 0.835, "pixel_threshold": 0.1, "min_defect_area_px": 3168},
        overlay_mode="contours",
        overlays="all",
        archive="none",
    )
    assert nut.label == "Metal nut M8 (nut)"
    bolt = book.get("bolt")
    assert bolt == Recipe(id="bolt", bundle="/abs/bolt.zip")  # defaults: mask, ng, ng
    assert (bolt.overlay_mode, bolt.overlays, bolt.archive, bolt.label) == (
        "mask",
        "ng",
        "ng",
        "bolt",
    )
    assert book.first() is nut


def test_relative_bundle_is_resolved_against_the_file_not_the_working_directory(
    tmp_path, monkeypatch
):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    folder = tmp_path / "line3"
    folder.mkdir()
    book = load_recipes(_write(folder, '[recipes.a]\nbundle = "../bundles/a"\n'))
    assert Path(book.get("a").bundle).resolve() == (tmp_path / "bundles" / "a").resolve()


def test_save_load_round_trip(tmp_path):
    book = RecipeBook(
        {
            "a": Recipe(
                "a",
                str(tmp_path / "bundle_a"),
                name="Part A",
                thresholds={"image_threshold": 0.5, "min_defect_area_px": 12},
                overlay_mode="heatmap",
                overlays="none",
                archive="all",
            ),
            "b": Recipe("b", str(tmp_path / "bundle_b.zip")),
        },
        default="b",
    )
    path = save_recipes(book, tmp_path / "saved.toml")
    assert path == tmp_path / "saved.toml" and not (tmp_path / "saved.toml.tmp").exists()
    again = load_recipes(path)
    assert again.recipes == book.recipes and again.default == "b" and again.path == path
    assert isinstance(again.get("a").thresholds["min_defect_area_px"], int)
    # and once more: saving what was loaded gives the same file
    save_recipes(again, tmp_path / "saved2.toml")
    assert (tmp_path / "saved2.toml").read_text() == path.read_text()


def test_save_replaces_an_existing_file_and_omits_empty_fields(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text("old contents that are not TOML [[[")
    save_recipes(RecipeBook({"x": Recipe("x", "/b/x")}), path)
    text = path.read_text()
    assert "default" not in text and "thresholds" not in text and "name" not in text
    assert load_recipes(path).recipes == {"x": Recipe("x", "/b/x")}


BAD = [
    ("colour = 'red'\n[recipes.a]\nbundle = 'b'\n", "unknown field(s) colour"),
    ("recipes = 3\n", "recipes: must be a table"),
    ("[recipes]\na = 3\n", "recipes.a: must be a table"),
    ("[recipes.a]\nbundle = 'b'\ncolour = 'red'\n", "recipes.a.colour: unknown field"),
    ("[recipes.a]\nname = 'no bundle'\n", "recipes.a.bundle: missing"),
    ("[recipes.a]\nbundle = ''\n", "recipes.a.bundle: missing"),
    ("[recipes.a]\nbundle = 7\n", "recipes.a.bundle: missing"),
    ("[recipes.a]\nbundle = 'b'\noverlays = 'some'\n", "recipes.a.overlays: 'some' is not one"),
    ("[recipes.a]\nbundle = 'b'\narchive = 'NG'\n", "recipes.a.archive: 'NG' is not one"),
    ("[recipes.a]\nbundle = 'b'\noverlay_mode = 'none'\n", "recipes.a.overlay_mode: 'none'"),
    ("[recipes.a]\nbundle = 'b'\nname = 3\n", "recipes.a.name: must be text"),
    ("[recipes.a]\nbundle = 'b'\nthresholds = 0.5\n", "recipes.a.thresholds: must be a table"),
    (
        "[recipes.a]\nbundle = 'b'\n[recipes.a.thresholds]\nimage_threshold = 'high'\n",
        "recipes.a.thresholds.image_threshold: must be a number",
    ),
    (
        "[recipes.a]\nbundle = 'b'\n[recipes.a.thresholds]\npixel_threshold = true\n",
        "recipes.a.thresholds.pixel_threshold: must be a number",
    ),
    (
        "[recipes.a]\nbundle = 'b'\n[recipes.a.thresholds]\nimage_threshold = -0.1\n",
        "recipes.a.thresholds.image_threshold: must be a number ≥ 0",
    ),
    (
        "[recipes.a]\nbundle = 'b'\n[recipes.a.thresholds]\nmin_defect_area_px = 2.5\n",
        "recipes.a.thresholds.min_defect_area_px: must be a whole number",
    ),
    (
        "[recipes.a]\nbundle = 'b'\n[recipes.a.thresholds]\nmap_threshold = 0.5\n",
        "recipes.a.thresholds.map_threshold: unknown",
    ),
    ("default = 'zz'\n[recipes.a]\nbundle = 'b'\n", "default: no recipe with id 'zz'"),
    ("[recipes.a\nbundle = 'b'\n", "not valid TOML"),
    ("[recipes.'a b']\nbundle = 'b'\n", "recipes.a b: id 'a b' must be letters, digits"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_recipe_files_name_the_file_and_the_field(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(RecipeError) as failed:
        load_recipes(path)
    message = str(failed.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_missing_or_undecodable_file(tmp_path):
    with pytest.raises(RecipeError, match="cannot read recipe file") as failed:
        load_recipes(tmp_path / "absent.toml")
    assert str(tmp_path / "absent.toml") in str(failed.value)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[recipes.a]\nbundle = '\xe9'\n")
    with pytest.raises(RecipeError, match="not valid TOML") as failed:
        load_recipes(latin)
    assert str(latin) in str(failed.value)


def test_get_of_an_unknown_id_lists_the_known_ones(tmp_path):
    path = _write(tmp_path, GOOD)
    book = load_recipes(path)
    with pytest.raises(RecipeError) as failed:
        book.get("washer")
    assert str(failed.value) == f"{path}: no recipe with id 'washer' (known: bolt, nut)"
    with pytest.raises(RecipeError, match=r"^no recipe with id 'x' \(known: none\)$"):
        RecipeBook({}).get("x")


def test_first_without_default_and_empty_book(tmp_path):
    book = load_recipes(_write(tmp_path, "[recipes.b]\nbundle='x'\n[recipes.a]\nbundle='y'\n"))
    assert book.default is None and book.first().id == "b"  # file order
    empty = load_recipes(_write(tmp_path, ""))
    assert empty.recipes == {}
    with pytest.raises(RecipeError, match="holds no recipe"):
        empty.first()


def test_apply_thresholds_overrides_only_what_the_bundle_has(tmp_path):
    both = Inspector(load_bundle(make_tiny_bundle(tmp_path / "both")), "cpu").thresholds
    anomaly_only = Inspector(
        load_bundle(make_tiny_bundle(tmp_path / "ano", segmentation=False)), "cpu"
    ).thresholds
    assert both == Thresholds(0.8, 0.5, 4, 0.8)
    recipe = Recipe("r", "x", thresholds={"image_threshold": 0.95, "pixel_threshold": 0.3})
    assert recipe.apply_thresholds(both) == Thresholds(0.95, 0.3, 4, 0.8)
    # the anomaly-only bundle has no pixel threshold: the recipe's is not applied
    assert anomaly_only.pixel_threshold is None
    assert recipe.apply_thresholds(anomaly_only) == Thresholds(0.95, None, 0, 0.8)
    assert Recipe("r", "x").apply_thresholds(both) == both
