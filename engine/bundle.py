"""The model bundle: reading, validating and writing it (docs/bundle-format.md).

This module is the format's only owner: training writes bundles through `write_model` and
`set_metrics`, the station reads them through `load_bundle`. Loading runs no code from the
bundle (JSON and ONNX bytes only), checks every hash and rejects paths that leave the bundle.
"""

import hashlib
import json
import math
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from engine.atomic_file import replace_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROLES = ("segmentation", "anomaly")
COLOR_ORDERS = ("RGB", "BGR")
RESIZE_POLICIES = ("stretch",)
OUTPUT_KINDS = ("probability", "logits")


class BundleError(Exception):
    """A bundle is unusable; the message names the file and the field at fault."""


@dataclass(frozen=True)
class InputSpec:
    """How an image becomes the model's float32 NCHW input tensor."""

    name: str
    width: int
    height: int
    color_order: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str

    @classmethod
    def from_manifest(cls, data: Any, source: str, where: str = "input") -> "InputSpec":
        """Parse and validate a manifest `input` object; BundleError names `source` and the
        field (`where` is the object's dotted path, e.g. 'models.anomaly.input')."""
        return _parse_input(_Fields(data, where, source))

    def to_manifest(self) -> dict[str, Any]:
        """This spec as the manifest's `input` object, as `from_manifest` reads it back."""
        block = asdict(self)
        block["mean"], block["std"] = list(self.mean), list(self.std)
        return block


@dataclass(frozen=True)
class VariantSpec:
    """Another precision of a model (e.g. int8), listed under `models.<role>.variants`:
    its file and the accuracy measured for it and for the fp32 model (`metrics`), from which
    engine.variants decides whether the station may run it."""

    precision: str
    file: str
    metrics: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class SegmentationSpec:
    file: str
    input: InputSpec
    output_name: str
    output_kind: str
    pixel_threshold: float
    min_defect_area_px: int
    variants: tuple[VariantSpec, ...] = ()


@dataclass(frozen=True)
class AnomalySpec:
    file: str
    input: InputSpec
    map_output: str
    score_output: str
    global_score_output: str | None
    image_threshold: float
    map_low: float
    map_high: float
    map_threshold: float
    global_threshold: float | None
    score_meaning: str
    variants: tuple[VariantSpec, ...] = ()


@dataclass(frozen=True)
class InputLimits:
    """The images a bundle can judge (manifest `input_limits`), from those it was trained on.

    A verdict on an image far from every training image (a thumbnail, a greyscale camera on a
    colour model) means nothing, so the engine refuses such images instead of judging them.
    """

    min_width: int
    min_height: int
    max_width: int
    max_height: int
    colour: bool | None  # True: colour images only, False: greyscale only, None: either
    trained_size: str | None  # e.g. "700×700", quoted in the refusal message

    @classmethod
    def from_manifest(cls, data: Any, source: str) -> "InputLimits":
        """Parse and validate the manifest's `input_limits` object (BundleError names it)."""
        return _parse_limits(_Fields(data, "input_limits", source))

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's `input_limits` object, optional fields left out when None."""
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class ManifestSpecs:
    """What a validated manifest declares, ready for the engine."""

    segmentation: SegmentationSpec | None
    anomaly: AnomalySpec | None
    input_limits: InputLimits | None


@dataclass(frozen=True)
class Bundle:
    """A validated bundle, with its ONNX files' bytes (hash-checked) held in memory."""

    source: Path
    manifest: dict[str, Any]
    digest: str
    segmentation: SegmentationSpec | None
    anomaly: AnomalySpec | None
    input_limits: InputLimits | None
    model_bytes: dict[str, bytes] = field(repr=False)
    # (role, precision) -> the variant file's bytes, hash-checked like the models'
    variant_bytes: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def defect_types(self) -> list[str]:
        return list(self.manifest.get("defect_types", []))

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})


class _Fields:
    """Typed access to a manifest object that reports the dotted path of a bad field."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise BundleError(f"{source}: field '{where}' must be an object")
        self.data, self.where, self.source = data, where, source

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        if key not in self.data:
            if required:
                raise BundleError(f"{self.source}: missing field '{self._path(key)}'")
            return None
        value = self.data[key]
        numeric = kind in (float, (float,))
        if numeric and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            name = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise BundleError(
                f"{self.source}: field '{self._path(key)}' must be {name}, got {value!r}"
            )
        if numeric and not math.isfinite(value):
            raise BundleError(f"{self.source}: field '{self._path(key)}' must be finite")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.get(key, str)
        if value not in allowed:
            raise BundleError(
                f"{self.source}: field '{self._path(key)}' is {value!r}, expected one of {allowed}"
            )
        return value

    def triple(self, key: str) -> tuple[float, float, float]:
        value = self.get(key, list)
        if len(value) != 3 or not all(isinstance(v, int | float) for v in value):
            raise BundleError(f"{self.source}: field '{self._path(key)}' must be 3 numbers")
        return (float(value[0]), float(value[1]), float(value[2]))

    def child(self, key: str) -> "_Fields":
        return _Fields(self.get(key, dict), self._path(key), self.source)


def _safe_member(name: str, source: str, where: str) -> str:
    """Reject file names that could leave the bundle (absolute, '..', drive letters)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or ":" in name:
        raise BundleError(f"{source}: field '{where}' path {name!r} leaves the bundle")
    return str(path)


def _parse_input(f: _Fields) -> InputSpec:
    spec = InputSpec(
        name=f.get("name", str),
        width=f.get("width", int),
        height=f.get("height", int),
        color_order=f.choice("color_order", COLOR_ORDERS),
        scale=f.get("scale", float),
        mean=f.triple("mean"),
        std=f.triple("std"),
        resize=f.choice("resize", RESIZE_POLICIES),
    )
    if spec.width <= 0 or spec.height <= 0:
        raise BundleError(f"{f.source}: field '{f.where}.width/height' must be positive")
    if any(s <= 0 for s in spec.std):
        raise BundleError(f"{f.source}: field '{f.where}.std' must be positive")
    return spec


def _parse_segmentation(f: _Fields) -> SegmentationSpec:
    out = f.child("output")
    return SegmentationSpec(
        file=_safe_member(f.get("file", str), f.source, f"{f.where}.file"),
        input=_parse_input(f.child("input")),
        output_name=out.get("name", str),
        output_kind=out.choice("kind", OUTPUT_KINDS),
        pixel_threshold=f.get("pixel_threshold", float),
        min_defect_area_px=f.get("min_defect_area_px", int),
        variants=_parse_variants(f),
    )


def _parse_variants(f: _Fields) -> tuple[VariantSpec, ...]:
    """A model's optional `variants` list: precision, file, sha256, metrics (see add_variant)."""
    entries = f.get("variants", list, required=False) or []
    variants = []
    for i, entry in enumerate(entries):
        v = _Fields(entry, f"{f.where}.variants[{i}]", f.source)
        precision = v.get("precision", str)
        if not precision.isidentifier() or precision == "fp32":
            raise BundleError(
                f"{f.source}: field '{v.where}.precision' must be a word other than fp32 "
                f"(the model itself), e.g. 'int8', got {precision!r}"
            )
        if precision in (known.precision for known in variants):
            raise BundleError(f"{f.source}: field '{v.where}': a second {precision} variant")
        v.get("sha256", str)
        file = _safe_member(v.get("file", str), f.source, f"{v.where}.file")
        metrics = v.get("metrics", dict, required=False) or {}
        variants.append(VariantSpec(precision, file, metrics))
    return tuple(variants)


def _parse_anomaly(f: _Fields) -> AnomalySpec:
    outs = f.child("outputs")
    norm = f.child("map_normalization")
    low, high = norm.get("low", float), norm.get("high", float)
    if high <= low:
        raise BundleError(f"{f.source}: field '{norm.where}' needs high > low")
    f.get("calibration", dict)
    return AnomalySpec(
        file=_safe_member(f.get("file", str), f.source, f"{f.where}.file"),
        input=_parse_input(f.child("input")),
        map_output=outs.get("map", str),
        score_output=outs.get("score", str),
        global_score_output=outs.get("global_score", str, required=False),
        image_threshold=f.get("image_threshold", float),
        map_low=low,
        map_high=high,
        map_threshold=f.get("map_threshold", float),
        global_threshold=f.get("global_threshold", float, required=False),
        score_meaning=f.get("score_meaning", str),
        variants=_parse_variants(f),
    )


def _parse_limits(f: _Fields) -> InputLimits:
    limits = InputLimits(
        min_width=f.get("min_width", int),
        min_height=f.get("min_height", int),
        max_width=f.get("max_width", int),
        max_height=f.get("max_height", int),
        colour=f.get("colour", bool, required=False),
        trained_size=f.get("trained_size", str, required=False),
    )
    for axis in ("width", "height"):
        low, high = getattr(limits, f"min_{axis}"), getattr(limits, f"max_{axis}")
        if low < 1:
            raise BundleError(
                f"{f.source}: field '{f.where}.min_{axis}' must be at least 1, got {low}"
            )
        if high < low:
            raise BundleError(
                f"{f.source}: field '{f.where}.max_{axis}' is {high}, "
                f"below '{f.where}.min_{axis}' ({low})"
            )
    return limits


_JSON_KINDS = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def parse_manifest(manifest: Any, source: str) -> ManifestSpecs:
    """Validate the manifest's structure; return what it declares."""
    if not isinstance(manifest, dict):
        kind = _JSON_KINDS.get(type(manifest), type(manifest).__name__)
        raise BundleError(f"{source}: must be a JSON object, got {kind}")
    top = _Fields(manifest, "", source)
    version = top.get("format_version", int)
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{source}: field 'format_version' is {version}, this station reads {FORMAT_VERSION}"
        )
    top.get("name", str)
    top.get("created", str)
    top.get("defect_types", list)
    top.get("metrics", dict, required=False)
    models = top.child("models")
    unknown = set(models.data) - set(ROLES)
    if unknown:
        raise BundleError(f"{source}: unknown model role(s) in 'models': {sorted(unknown)}")
    if not models.data:
        raise BundleError(f"{source}: field 'models' declares no model")
    seg = (
        _parse_segmentation(models.child("segmentation")) if "segmentation" in models.data else None
    )
    ano = _parse_anomaly(models.child("anomaly")) if "anomaly" in models.data else None
    limits = (
        InputLimits.from_manifest(manifest["input_limits"], source)
        if "input_limits" in manifest
        else None
    )
    return ManifestSpecs(seg, ano, limits)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_Reader = Callable[[str], bytes | None]  # a member's bytes, or None when there is no such file


def _folder_reader(path: Path) -> _Reader:
    root = path.resolve()

    def read(name: str) -> bytes | None:
        target = (root / name).resolve()
        if not target.is_relative_to(root):
            raise BundleError(f"{path}: {name!r} leaves the bundle (symlink)")
        if not target.is_file():
            return None
        try:
            return target.read_bytes()
        except OSError as exc:
            raise BundleError(f"{path}/{name}: cannot be read ({exc.strerror or exc})") from None

    return read


def _zip_reader(path: Path, archive: zipfile.ZipFile) -> _Reader:
    for member in archive.namelist():
        _safe_member(member, str(path), f"zip member {member}")
    names = set(archive.namelist())

    def read(name: str) -> bytes | None:
        if name not in names:
            return None
        try:
            return archive.read(name)
        # bad CRC or truncated data; RuntimeError: encrypted; NotImplementedError: compression
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError) as exc:
            raise BundleError(f"{path}: zip member {name!r} cannot be read ({exc})") from None

    return read


@contextmanager
def _open_members(path: Path) -> Iterator[_Reader]:
    """Yield a _Reader over a bundle folder or .zip (the zip is closed afterwards)."""
    if path.is_dir():
        yield _folder_reader(path)
    elif path.exists() and not path.is_file():  # a FIFO or device: reading it could block
        raise BundleError(f"{path}: not a model bundle: neither a folder nor a regular file")
    elif zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{path}: not a readable .zip file ({exc})") from None
        with archive:
            yield _zip_reader(path, archive)
    elif path.exists():
        raise BundleError(f"{path}: not a model bundle: neither a folder nor a .zip file")
    else:
        raise BundleError(f"{path}: bundle not found")


def _no_manifest(path: Path) -> BundleError:
    """The error for a folder or zip without manifest.json, pointing at a nested one: the
    usual mistakes are choosing the folder above the bundle, or zipping the folder itself."""
    if path.is_dir():
        nested = sorted(str(p.relative_to(path)) for p in path.glob(f"*/{MANIFEST}"))
        where, fix = "", "choose that folder"
    else:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        nested = sorted(n for n in names if PurePosixPath(n).name == MANIFEST)
        where, fix = " from the top of the zip", "zip the bundle folder's contents (pack_bundle)"
    hint = f" (found {nested[0]!r}: {fix})" if nested else ""
    return BundleError(f"{path}: not a model bundle: {MANIFEST} is missing{where}{hint}")


def _decode_manifest(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is fine
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "manifest.json must be JSON in UTF-8"
        ) from None
    if not text.strip():
        raise BundleError(f"{source}: not valid JSON (the file is empty)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def _read_model(path: Path, read: _Reader, manifest: dict[str, Any], role: str) -> bytes:
    """A model file's bytes, checked against its manifest sha256."""
    source = f"{path}/{MANIFEST}"
    entry = _Fields(manifest["models"][role], f"models.{role}", source)
    name = _safe_member(entry.get("file", str), source, f"models.{role}.file")
    return _read_checked(path, read, f"models.{role}", name, entry.get("sha256", str))


def _read_variants(path: Path, read: _Reader, manifest: dict[str, Any]) -> dict:
    """Every variant file's bytes by (role, precision), checked against its sha256."""
    found = {}
    for role in ROLES:
        for i, entry in enumerate(manifest["models"].get(role, {}).get("variants", [])):
            where = f"models.{role}.variants[{i}]"
            name = _safe_member(entry["file"], f"{path}/{MANIFEST}", f"{where}.file")
            found[(role, entry["precision"])] = _read_checked(
                path, read, where, name, entry["sha256"]
            )
    return found


def _read_checked(path: Path, read: _Reader, where: str, name: str, sha256: str) -> bytes:
    """Member `name`'s bytes, named by manifest field `where`, checked against `sha256`."""
    data = read(name)
    if data is None:
        raise BundleError(f"{path}: file {name!r} named in field '{where}.file' is missing")
    if sha256_bytes(data) != sha256.lower():
        raise BundleError(
            f"{path}/{name}: sha256 does not match field '{where}.sha256' (file changed or corrupt)"
        )
    return data


def load_bundle(path: Path | str) -> Bundle:
    """Read and validate a bundle folder or .zip; raise BundleError naming what is wrong."""
    path = Path(path)
    source = f"{path}/{MANIFEST}"
    with _open_members(path) as read:
        manifest_bytes = read(MANIFEST)
        if manifest_bytes is None:
            raise _no_manifest(path)
        manifest = _decode_manifest(manifest_bytes, source)
        specs = parse_manifest(manifest, source)
        model_bytes = {
            role: _read_model(path, read, manifest, role)
            for role in ROLES
            if role in manifest["models"]
        }
        variant_bytes = _read_variants(path, read, manifest)
    return Bundle(
        source=path,
        manifest=manifest,
        digest=sha256_bytes(manifest_bytes),
        segmentation=specs.segmentation,
        anomaly=specs.anomaly,
        input_limits=specs.input_limits,
        model_bytes=model_bytes,
        variant_bytes=variant_bytes,
    )


def _write_manifest(bundle_dir: Path, manifest: dict[str, Any]) -> None:
    replace_file(bundle_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def _read_manifest_for_update(bundle_dir: Path) -> dict[str, Any]:
    manifest_path = bundle_dir / MANIFEST
    if manifest_path.exists():
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    return {"format_version": FORMAT_VERSION, "name": bundle_dir.name, "models": {}, "metrics": {}}


def write_model(
    bundle_dir: Path | str,
    role: str,
    onnx_path: Path | str,
    entry: dict[str, Any],
    *,
    name: str | None = None,
    defect_types: list[str] | None = None,
    input_limits: InputLimits | None = None,
) -> Path:
    """Add or replace the model `role` in a bundle folder; keep the other model if present.

    `entry` is the model's manifest object without `file` and `sha256`, which are filled in
    here. `input_limits`, when given, replaces the bundle's: they describe the images its
    models were trained on, and both models of a bundle learn from one category's images.
    The whole manifest is validated before it is written.
    """
    if role not in ROLES:
        raise ValueError(f"unknown model role {role!r}; expected one of {ROLES}")
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest_for_update(bundle_dir)
    file_name = f"{role}.onnx"
    digest = sha256_bytes(Path(onnx_path).read_bytes())
    manifest["models"][role] = {**entry, "file": file_name, "sha256": digest}
    manifest["metrics"] = {k: v for k, v in manifest.get("metrics", {}).items() if k != role}
    if name:
        manifest["name"] = name
    if defect_types is not None:
        manifest["defect_types"] = sorted(set(manifest.get("defect_types", [])) | set(defect_types))
    manifest.setdefault("defect_types", [])
    if input_limits is not None:
        manifest["input_limits"] = input_limits.to_manifest()
    manifest["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    parse_manifest(manifest, f"{bundle_dir}/{MANIFEST}")  # before touching the bundle's files
    target = bundle_dir / file_name
    if Path(onnx_path).resolve() != target.resolve():
        shutil.copyfile(onnx_path, target)
    _write_manifest(bundle_dir, manifest)
    return bundle_dir / MANIFEST


def add_variant(
    bundle_dir: Path | str, role: str, onnx_path: Path | str, entry: dict[str, Any]
) -> Path:
    """Add another precision of a bundle's model (e.g. int8) beside the one the station runs:
    the file is copied in as `<role>.<precision>.onnx` and listed under `models.<role>.variants`
    with `entry` (precision, recipe, metrics...) and its sha256; a variant of the same
    precision is replaced. Which one the station runs is engine.variants' choice."""
    bundle_dir = Path(bundle_dir)
    manifest = _read_manifest_for_update(bundle_dir)
    model = manifest["models"].get(role)
    if model is None:
        raise BundleError(f"{bundle_dir}/{MANIFEST}: no model {role!r} to add a variant to")
    precision = entry.get("precision")
    if not isinstance(precision, str) or not precision.isidentifier():
        raise ValueError(f"variant precision must be a word such as 'int8', got {precision!r}")
    file_name = f"{role}.{precision}.onnx"
    kept = [v for v in model.get("variants", []) if v.get("precision") != precision]
    digest = sha256_bytes(Path(onnx_path).read_bytes())
    model["variants"] = [*kept, {**entry, "file": file_name, "sha256": digest}]
    parse_manifest(manifest, f"{bundle_dir}/{MANIFEST}")
    shutil.copyfile(onnx_path, bundle_dir / file_name)
    _write_manifest(bundle_dir, manifest)
    return bundle_dir / file_name


def set_metrics(bundle_dir: Path | str, role: str, split: str, metrics: dict[str, Any]) -> None:
    """Record evaluation metrics for one model and split, e.g. ('anomaly', 'test', {...})."""
    bundle_dir = Path(bundle_dir)
    manifest = _read_manifest_for_update(bundle_dir)
    manifest.setdefault("metrics", {}).setdefault(role, {})[split] = metrics
    _write_manifest(bundle_dir, manifest)


def set_section(bundle_dir: Path | str, key: str, value: Any) -> None:
    """Record a top-level manifest section that a training command writes after the models
    (e.g. `comparison`, from `station-train compare --record`), validated before it is written."""
    bundle_dir = Path(bundle_dir)
    manifest = _read_manifest_for_update(bundle_dir)
    manifest[key] = value
    parse_manifest(manifest, f"{bundle_dir}/{MANIFEST}")
    _write_manifest(bundle_dir, manifest)


def pack_bundle(bundle_dir: Path | str, zip_path: Path | str) -> Path:
    """Zip a bundle folder's manifest and model files (nothing else) into one file."""
    bundle = load_bundle(bundle_dir)
    zip_path = Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(Path(bundle_dir) / MANIFEST, MANIFEST)
        for role in bundle.model_bytes:
            model = bundle.manifest["models"][role]
            for file_name in [model["file"], *(v["file"] for v in model.get("variants", []))]:
                archive.write(Path(bundle_dir) / file_name, file_name)
    return zip_path
