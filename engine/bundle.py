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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

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


@dataclass(frozen=True)
class SegmentationSpec:
    file: str
    input: InputSpec
    output_name: str
    output_kind: str
    pixel_threshold: float
    min_defect_area_px: int


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


@dataclass(frozen=True)
class Bundle:
    """A validated bundle, with its ONNX files' bytes (hash-checked) held in memory."""

    source: Path
    manifest: dict[str, Any]
    digest: str
    segmentation: SegmentationSpec | None
    anomaly: AnomalySpec | None
    model_bytes: dict[str, bytes] = field(repr=False)

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
    )


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
    )


def parse_manifest(
    manifest: Any, source: str
) -> tuple[SegmentationSpec | None, AnomalySpec | None]:
    """Validate the manifest's structure; return the model specs it declares."""
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
    return seg, ano


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_members(path: Path) -> tuple[bytes, Any]:
    """Return (manifest bytes, a reader mapping member name -> bytes) for a folder or zip."""
    if path.is_dir():
        root = path.resolve()

        def read_dir(name: str) -> bytes:
            target = (root / name).resolve()
            if not target.is_relative_to(root):
                raise BundleError(f"{path}: {name!r} leaves the bundle (symlink)")
            if not target.is_file():
                raise BundleError(f"{path}: file {name!r} named in manifest.json is missing")
            return target.read_bytes()

        return read_dir(MANIFEST), read_dir
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        for member in archive.namelist():
            _safe_member(member, str(path), f"zip member {member}")
        names = set(archive.namelist())

        def read_zip(name: str) -> bytes:
            if name not in names:
                raise BundleError(f"{path}: file {name!r} named in manifest.json is missing")
            return archive.read(name)

        return read_zip(MANIFEST), read_zip
    if not path.exists():
        raise BundleError(f"{path}: bundle not found")
    raise BundleError(f"{path}: not a bundle folder or .zip file")


def load_bundle(path: Path | str) -> Bundle:
    """Read and validate a bundle folder or .zip; raise BundleError naming what is wrong."""
    path = Path(path)
    manifest_bytes, read = _read_members(path)
    source = f"{path}/{MANIFEST}"
    try:
        manifest = json.loads(manifest_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{source}: not valid JSON ({exc})") from None
    seg, ano = parse_manifest(manifest, source)
    model_bytes: dict[str, bytes] = {}
    for role in ROLES:
        if role not in manifest["models"]:
            continue
        entry = _Fields(manifest["models"][role], f"models.{role}", source)
        name = _safe_member(entry.get("file", str), source, f"models.{role}.file")
        expected = entry.get("sha256", str).lower()
        data = read(name)
        if sha256_bytes(data) != expected:
            raise BundleError(
                f"{path}/{name}: sha256 does not match field 'models.{role}.sha256' "
                "(file changed or corrupt)"
            )
        model_bytes[role] = data
    return Bundle(
        source=path,
        manifest=manifest,
        digest=sha256_bytes(manifest_bytes),
        segmentation=seg,
        anomaly=ano,
        model_bytes=model_bytes,
    )


def check_session_io(
    session: Any, role: str, expected_inputs: list[str], expected_outputs: list[str], source: str
) -> None:
    """Fail if an onnxruntime session's inputs/outputs differ from what the manifest says."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    for name in expected_inputs:
        if name not in inputs:
            raise BundleError(
                f"{source}: models.{role} input {name!r} is not in the ONNX graph "
                f"(graph inputs: {sorted(inputs)})"
            )
        shape = inputs[name].shape
        channels_ok = len(shape) == 4 and (shape[1] == 3 or not isinstance(shape[1], int))
        if not channels_ok:
            raise BundleError(
                f"{source}: models.{role} input {name!r} has shape {shape}, expected [N, 3, H, W]"
            )
    for name in expected_outputs:
        if name not in outputs:
            raise BundleError(
                f"{source}: models.{role} output {name!r} is not in the ONNX graph "
                f"(graph outputs: {sorted(outputs)})"
            )


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


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
) -> Path:
    """Add or replace the model `role` in a bundle folder; keep the other model if present.

    `entry` is the model's manifest object without `file` and `sha256`, which are filled in
    here. The whole manifest is validated before it is written.
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
    manifest["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    parse_manifest(manifest, f"{bundle_dir}/{MANIFEST}")  # before touching the bundle's files
    target = bundle_dir / file_name
    if Path(onnx_path).resolve() != target.resolve():
        shutil.copyfile(onnx_path, target)
    _write_json_atomic(bundle_dir / MANIFEST, manifest)
    return bundle_dir / MANIFEST


def set_metrics(bundle_dir: Path | str, role: str, split: str, metrics: dict[str, Any]) -> None:
    """Record evaluation metrics for one model and split, e.g. ('anomaly', 'test', {...})."""
    bundle_dir = Path(bundle_dir)
    manifest = _read_manifest_for_update(bundle_dir)
    manifest.setdefault("metrics", {}).setdefault(role, {})[split] = metrics
    _write_json_atomic(bundle_dir / MANIFEST, manifest)


def pack_bundle(bundle_dir: Path | str, zip_path: Path | str) -> Path:
    """Zip a bundle folder's manifest and model files (nothing else) into one file."""
    bundle = load_bundle(bundle_dir)
    zip_path = Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(Path(bundle_dir) / MANIFEST, MANIFEST)
        for role in bundle.model_bytes:
            file_name = bundle.manifest["models"][role]["file"]
            archive.write(Path(bundle_dir) / file_name, file_name)
    return zip_path
