"""The Inspector: one image in, one InspectionResult out, with onnxruntime.

The GUI, the batch CLI, the benchmarks and training's evaluation all use this class, so every
number reported is the number the station produces.
"""

import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from engine.bundle import (
    AnomalySpec,
    Bundle,
    BundleError,
    InputSpec,
    SegmentationSpec,
)
from engine.imageio import read_image
from engine.input_limits import check_judgeable
from engine.preprocess import to_model_input
from engine.providers import choose_providers
from engine.result import InspectionResult, Region, Thresholds, Verdict
from engine.variants import FP32, VariantChoice, VariantError, choose_variant, requested_variant

log = logging.getLogger(__name__)


def default_thresholds(bundle: Bundle) -> Thresholds:
    """The thresholds the bundle was calibrated with."""
    seg, ano = bundle.segmentation, bundle.anomaly
    return Thresholds(
        image_threshold=ano.image_threshold if ano else None,
        pixel_threshold=seg.pixel_threshold if seg else None,
        min_defect_area_px=seg.min_defect_area_px if seg else 0,
        map_threshold=ano.map_threshold if ano else None,
    )


def _regions(mask: np.ndarray, min_area: int, source: str) -> tuple[np.ndarray, list[Region]]:
    """Connected regions of at least `min_area` pixels, and the mask holding only those."""
    kept, regions, _ = _components(mask, min_area, source)
    return kept, regions


def _components(
    mask: np.ndarray, min_area: float, source: str
) -> tuple[np.ndarray, list[Region], int]:
    """_regions, and the area of the largest component below `min_area` (0 if none): the near
    miss an engineer needs to see to judge the minimum area.

    Contours are traced inside each kept component's bounding box, and specks below the
    minimum area are erased in one vectorised step, so a noisy mask with thousands of specks
    costs no more than a clean one (this runs on every frame).
    """
    if not mask.any():
        return mask, [], 0
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < max(min_area, 1)
    small[0] = False  # label 0 is the background, already False in the mask
    near_miss = int(stats[small, cv2.CC_STAT_AREA].max()) if small.any() else 0
    kept = mask & ~small[labels] if small.any() else mask
    regions = []
    for label in np.flatnonzero(~small[1:]) + 1:
        left, top, width, height, area = (int(v) for v in stats[label])
        window = labels[top : top + height, left : left + width] == label
        contours, _ = cv2.findContours(
            window.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(left, top)
        )
        outline = max(contours, key=len).reshape(-1, 2)
        regions.append(Region(outline, (left, top, width, height), area, source))
    regions.sort(key=lambda r: r.area_px, reverse=True)
    return kept, regions, near_miss


def decide(result: InspectionResult, thresholds: Thresholds) -> InspectionResult:
    """Apply thresholds to a result's model outputs: mask, regions, verdict and reasons.

    Cheap (no model runs), so the GUI can re-decide the current image as an engineer moves a
    threshold slider.
    """
    reasons: list[str] = []
    regions: list[Region] = []
    rejected_by: list[str] = []
    mask = near_miss = None
    if result.probability is not None and thresholds.pixel_threshold is not None:
        raw_mask = result.probability >= thresholds.pixel_threshold
        mask, regions, near_miss = _image_components(
            raw_mask, thresholds.min_defect_area_px, "segmentation", result.image_shape
        )
        if regions:
            largest = regions[0].area_px
            reasons.append(f"{len(regions)} defect region(s), largest {largest} px")
            rejected_by.append("segmentation")
    score, limit = result.anomaly_score, thresholds.image_threshold
    if score is not None and limit is not None and score >= limit:
        reasons.append(f"anomaly score {score:.3g} ≥ threshold {limit:.3g}")
        rejected_by.append("anomaly")
        if result.anomaly_map is not None and thresholds.map_threshold is not None:
            regions += _anomaly_regions(result.anomaly_map, thresholds, result.image_shape)
    verdict = Verdict.NG if reasons else Verdict.OK
    return dataclasses.replace(
        result,
        verdict=verdict,
        reasons=reasons,
        mask=mask,
        regions=regions,
        thresholds=thresholds,
        rejected_by=tuple(rejected_by),
        near_miss_px=near_miss,
    )


def _anomaly_regions(
    anomaly_map: np.ndarray, thresholds: Thresholds, image_shape: tuple[int, int]
) -> list[Region]:
    """Where the anomaly model saw the part differ, for a part it rejected: its hot regions of
    at least the minimum area, else the largest hot one, else the one around the map's peak.

    A part rejected by the score alone must still show the operator a region (the overlay
    outlines anomaly regions in every mode), though its hot area may be below the U-Net's
    minimum or the map threshold (calibrated apart from the image threshold).
    """
    hot = anomaly_map >= thresholds.map_threshold
    area = thresholds.min_defect_area_px
    regions = _image_components(hot, area, "anomaly", image_shape)[1]
    if regions:
        return regions
    if not hot.any():  # half-way between the map's typical value and its peak
        hot = anomaly_map >= (float(np.median(anomaly_map)) + float(anomaly_map.max())) / 2
    return _image_components(hot, 1, "anomaly", image_shape)[1][:1]


# onnxruntime's messages read "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : <detail>"
ORT_MESSAGE = re.compile(r"\[ONNXRuntimeError\] : \d+ : (\w+) : (.*)", re.DOTALL)
ORT_CODES = {
    "INVALID_PROTOBUF": "not an ONNX model",
    "INVALID_GRAPH": "the ONNX graph is invalid",
    "NOT_IMPLEMENTED": "the model uses something this onnxruntime does not support",
    "INVALID_ARGUMENT": "onnxruntime rejects the model",
    "NO_MODEL": "the file holds no model",
}


def _session_failure(exc: Exception) -> str:
    """onnxruntime's session-creation error in plain words, its own text kept after them."""
    match = ORT_MESSAGE.match(str(exc).strip())
    if not match:
        return f"onnxruntime cannot load it ({type(exc).__name__}: {exc})"
    code, detail = match.groups()
    return f"{ORT_CODES.get(code, 'onnxruntime cannot load it')} (onnxruntime: {detail.strip()})"


def check_session_io(
    session: ort.InferenceSession,
    role: str,
    spec: InputSpec,
    expected_outputs: list[str],
    source: str,
) -> None:
    """Fail if an onnxruntime session's input or outputs differ from what the manifest says.

    Checked when the bundle is loaded: a mismatch (say the manifest's input size is not the
    graph's) would otherwise fail every image one by one, each failure stored against this
    bundle. Symbolic dimensions (strings, None) accept any size.
    """
    inputs = {i.name: i for i in session.get_inputs()}
    if spec.name not in inputs:
        raise BundleError(
            f"{source}: models.{role} input {spec.name!r} is not in the ONNX graph "
            f"(graph inputs: {sorted(inputs)})"
        )
    shape = inputs[spec.name].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise BundleError(
            f"{source}: models.{role} input {spec.name!r} has shape {shape}, expected [N, 3, H, W]"
        )
    for axis, key, size in ((2, "height", spec.height), (3, "width", spec.width)):
        if isinstance(shape[axis], int) and shape[axis] != size:
            raise BundleError(
                f"{source}: field 'models.{role}.input.{key}' is {size} but the ONNX graph "
                f"input {spec.name!r} has {key} {shape[axis]} (shape {shape})"
            )
    outputs = {o.name for o in session.get_outputs()}
    for name in expected_outputs:
        if name not in outputs:
            raise BundleError(
                f"{source}: models.{role} output {name!r} is not in the ONNX graph "
                f"(graph outputs: {sorted(outputs)})"
            )


@dataclass(frozen=True)
class PreparedInput:
    """An image's model input tensors, made ahead of `inspect` (a prefetch thread does it while
    the previous image is inspected); `inspect` uses them for the specs they were made for."""

    tensors: dict[InputSpec, np.ndarray]
    preprocess_ms: float


class Inspector:
    """Holds the onnxruntime sessions of one bundle; `inspect` is safe to call from one thread
    at a time per Inspector (onnxruntime itself is thread-safe).

    `provider` picks the execution provider (engine.providers), `variant` the precision of
    each model ('auto', 'fp32', 'int8'; default env STATION_VARIANT, else auto), chosen per
    model by engine.variants.choose_variant; `variants` says what each model runs, and why.
    """

    def __init__(
        self, bundle: Bundle, provider: str | None = None, variant: str | None = None
    ) -> None:
        self.bundle = bundle
        requested = choose_providers(provider)
        wanted = requested_variant(variant)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # onnxruntime's own warnings go to stderr otherwise
        self._sessions: dict[str, ort.InferenceSession] = {}
        self.variants: dict[str, VariantChoice] = {}
        seg, ano = bundle.segmentation, bundle.anomaly
        models: list[tuple[str, SegmentationSpec | AnomalySpec, list[str]]] = []
        if seg:
            models.append(("segmentation", seg, [seg.output_name]))
        if ano:
            outputs = [ano.map_output, ano.score_output]
            if ano.global_score_output:
                outputs.append(ano.global_score_output)
            models.append(("anomaly", ano, outputs))
        for role, spec, _ in models:
            self.variants[role] = choose_variant(role, spec, requested[0], wanted)
        if wanted not in ("auto", FP32) and wanted not in self.precisions.values():
            raise VariantError(
                f"{bundle.source}: model variant {wanted} asked for, but no model of the bundle "
                f"has one (station-train quantize adds them)"
            )
        for role, spec, outputs in models:
            self._sessions[role] = self._open_session(
                role, spec, outputs, options, requested, self.variants[role]
            )
        self.providers: dict[str, list[str]] = {
            role: session.get_providers() for role, session in self._sessions.items()
        }
        self.thresholds = default_thresholds(bundle)
        log.info(
            "bundle %s loaded; providers in use: %s; variants: %s",
            bundle.name,
            self.providers,
            {role: f"{c.precision} ({c.reason})" for role, c in self.variants.items()},
        )

    def _open_session(
        self,
        role: str,
        spec: SegmentationSpec | AnomalySpec,
        outputs: list[str],
        options: ort.SessionOptions,
        providers: list[str],
        choice: VariantChoice,
    ) -> ort.InferenceSession:
        """One model's session (the chosen variant's file, or the model's), checked against the
        manifest.

        A model file onnxruntime cannot load (not ONNX, an unknown operator, a broken graph)
        is a bundle fault like a bad hash, so it is a BundleError naming the file, which every
        caller already reports as "bundle unusable" rather than as a crash.
        """
        variant = choice.variant
        source = f"{self.bundle.source}/{variant.file if variant else spec.file}"
        data = (
            self.bundle.variant_bytes[(role, variant.precision)]
            if variant
            else self.bundle.model_bytes[role]
        )
        try:
            session = ort.InferenceSession(data, options, providers=providers)
        except Exception as exc:  # onnxruntime's own types: InvalidProtobuf, InvalidGraph, Fail...
            raise BundleError(
                f"{source}: the models.{role} file cannot be loaded: {_session_failure(exc)}"
            ) from exc
        check_session_io(session, role, spec.input, outputs, source)
        return session

    @property
    def main_provider(self) -> str:
        """The provider doing the work, e.g. 'CPU' or 'CUDA', for a status bar."""
        firsts = {providers[0] for providers in self.providers.values()}
        return "+".join(sorted(p.removesuffix("ExecutionProvider") for p in firsts))

    @property
    def precisions(self) -> dict[str, str]:
        """The precision each model runs, e.g. {'segmentation': 'fp32', 'anomaly': 'int8'}."""
        return {role: choice.precision for role, choice in self.variants.items()}

    @property
    def variant_label(self) -> str:
        """The precisions in use in a few words, for a status bar: 'int8' when every model
        runs it, else per model, e.g. 'U-Net fp32, anomaly int8'."""
        precisions = self.precisions
        if len(set(precisions.values())) <= 1:
            return next(iter(precisions.values()), FP32)
        return ", ".join(f"{ROLE_NAMES[role]} {p}" for role, p in precisions.items())

    def prepare(self, image: np.ndarray) -> PreparedInput:
        """The model inputs of `image`, for `inspect(image, prepared=...)`; may run on another
        thread than `inspect` (it touches no session)."""
        clock = time.perf_counter()
        tensors: dict[InputSpec, np.ndarray] = {}
        for spec in self._input_specs():
            if spec not in tensors:
                tensors[spec] = to_model_input(image, spec)
        return PreparedInput(tensors, _lap(clock))

    def inspect_file(
        self, path: Path | str, thresholds: Thresholds | None = None
    ) -> InspectionResult:
        """Decode and inspect an image file; raises engine.imageio.ImageReadError."""
        start = time.perf_counter()
        image = read_image(path)
        decode_ms = (time.perf_counter() - start) * 1000
        result = self.inspect(image, thresholds)
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        return result

    def inspect(
        self,
        image: np.ndarray,
        thresholds: Thresholds | None = None,
        *,
        full_resolution: bool = False,
        prepared: PreparedInput | None = None,
    ) -> InspectionResult:
        """Inspect one image (grey/BGR/BGRA; 8 or 16 bit, or float) within the bundle's
        `input_limits` (else CannotJudge is raised; a bundle without them takes any size).

        The planes (probability, anomaly_map, heat and the mask) come at the working
        resolution (working_size): the image's own size up to WORKING_SIDE px on the long side,
        else scaled down to that, so a 7000x7000 image costs no more post-processing memory
        than a 2048x2048 one. Regions (bbox, outline, area) are always in image pixels.
        `full_resolution` gives planes at the image's size, for pixel metrics against
        full-size ground truth. `prepared` holds this image's inputs made by `prepare`, in
        which case its preprocess time is reported.
        """
        check_judgeable(image, self.bundle.input_limits)
        timings: dict[str, float] = {}
        height, width = image.shape[:2]
        plane_h, plane_w = (height, width) if full_resolution else working_size(height, width)
        specs = set(self._input_specs())
        if prepared is None or not specs <= prepared.tensors.keys():  # made for another bundle
            prepared = self.prepare(image)
        inputs = prepared.tensors
        timings["preprocess"] = prepared.preprocess_ms

        result = InspectionResult(
            verdict=Verdict.OK, reasons=[], image_shape=(height, width), thresholds=self.thresholds
        )
        post_ms = 0.0
        seg = self.bundle.segmentation
        if seg:
            clock = time.perf_counter()
            (output,) = self._sessions["segmentation"].run(
                [seg.output_name], {seg.input.name: inputs[seg.input]}
            )
            timings["segmentation"] = _lap(clock)
            clock = time.perf_counter()
            plane = output[0, 0].astype(np.float32)
            if seg.output_kind == "logits":
                plane = 1.0 / (1.0 + np.exp(-plane))
            result.probability = _resize_plane(plane, plane_w, plane_h)
            post_ms += _lap(clock)
        ano = self.bundle.anomaly
        if ano:
            clock = time.perf_counter()
            names = [ano.map_output, ano.score_output]
            if ano.global_score_output:
                names.append(ano.global_score_output)
            outputs = self._sessions["anomaly"].run(names, {ano.input.name: inputs[ano.input]})
            timings["anomaly"] = _lap(clock)
            clock = time.perf_counter()
            raw_map = outputs[0][0, 0].astype(np.float32)
            heat = np.clip((raw_map - ano.map_low) / (ano.map_high - ano.map_low), 0.0, 1.0)
            result.anomaly_map = _resize_plane(raw_map, plane_w, plane_h)
            result.heat = _resize_plane(heat, plane_w, plane_h)  # normalised small: cheaper
            result.anomaly_score = float(np.ravel(outputs[1])[0])
            if ano.global_score_output:
                result.global_score = float(np.ravel(outputs[2])[0])
            post_ms += _lap(clock)
        clock = time.perf_counter()
        result = decide(result, thresholds or self.thresholds)
        timings["postprocess"] = post_ms + _lap(clock)
        result.timings_ms = timings
        return result

    def _input_specs(self) -> list[InputSpec]:
        return [m.input for m in (self.bundle.segmentation, self.bundle.anomaly) if m]


ROLE_NAMES = {"segmentation": "U-Net", "anomaly": "anomaly"}

# Planes at most this long a side: 2048 keeps every MVTec AD image (700-1024 px) and common
# 2-5 MP cameras at their own resolution, and the models see 256 px anyway.
WORKING_SIDE = 2048


def working_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) of the planes for an image: its own, or scaled to WORKING_SIDE."""
    scale = WORKING_SIDE / max(height, width)
    if scale >= 1.0:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def _image_components(
    mask: np.ndarray, min_area_px: int, source: str, image_shape: tuple[int, int]
) -> tuple[np.ndarray, list[Region], int]:
    """_components of a plane at the working resolution, measured in image pixels.

    The minimum area is in image pixels (what an engineer sets), so it shrinks with the
    plane's area; bboxes, outlines and areas (the near miss too) are scaled back, so verdicts
    and reported sizes do not depend on the working resolution.
    """
    scale_y, scale_x = image_shape[0] / mask.shape[0], image_shape[1] / mask.shape[1]
    if scale_x == scale_y == 1.0:
        return _components(mask, min_area_px, source)
    kept, regions, near_miss = _components(mask, min_area_px / (scale_x * scale_y), source)
    scaled = [_scale_region(r, scale_x, scale_y, image_shape) for r in regions]
    return kept, scaled, round(near_miss * scale_x * scale_y)


def _scale_region(
    region: Region, scale_x: float, scale_y: float, image_shape: tuple[int, int]
) -> Region:
    """A region found on a scaled plane, in image pixels: box edges scale as edges, outline
    points as pixel centres (clipped to the image)."""
    left, top, width, height = region.bbox
    x0, y0 = round(left * scale_x), round(top * scale_y)
    x1, y1 = round((left + width) * scale_x), round((top + height) * scale_y)
    centres = (region.contour + 0.5) * np.array([scale_x, scale_y]) - 0.5
    limits = np.array([image_shape[1] - 1, image_shape[0] - 1])
    contour = np.clip(np.rint(centres), 0, limits).astype(np.int32)
    area = round(region.area_px * scale_x * scale_y)
    return Region(contour, (x0, y0, x1 - x0, y1 - y0), area, region.source)


def _resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    if plane.shape == (height, width):
        return plane
    return cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)


def _lap(start: float) -> float:
    return (time.perf_counter() - start) * 1000
