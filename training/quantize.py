"""Add int8 variants of a bundle's models (anomaly model, U-Net), measured through the
station's Inspector, and keep each only if it passes the accuracy gate.

A variant is built with onnxruntime static quantization (QDQ; per-channel symmetric int8
weights, uint8 activations) from a recipe that says which nodes go int8; everything else stays
float. It is calibrated on the images the model was fitted on (the anomaly model: the
manifest's `fit` list of train/good images; the U-Net: its training split), through the
engine's own preprocessing. Then the variant and the fp32 model are evaluated the same way as
`station-train evaluate` (anomaly model: image / pixel AUROC on `<category>/test`; U-Net:
held-out Dice on the split its manifest records), a scratch bundle holding the model run
through the Inspector, and both are timed alone with the Inspector's session options on the
same images, order alternating.

The fp32 model stays in the bundle; the int8 file is written beside it and recorded under
`models.<role>.variants` (precision, file, sha256, recipe, calibration, metrics, speed, gate)
when engine.variants.check_gate passes it (at most 0.5 points lower image AUROC and 1 point
lower pixel AUROC; U-Net at most 1 point lower Dice); the station then runs it on the CPU.
See docs/quantization.md for the study behind the default recipes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from engine.bundle import VariantSpec, add_variant, load_bundle, sha256_bytes, write_model
from engine.imageio import read_image
from engine.inspector import Inspector
from engine.preprocess import to_model_input
from engine.variants import check_gate
from training.evaluate_anomaly import _metrics, collect
from training.evaluate_segmentation import evaluate_segmentation
from training.mvtec import category_dir, list_samples

log = logging.getLogger(__name__)

# every op type a recipe of the role may quantize: one calibration cache per method and model
CALIB_OP_TYPES = {
    "anomaly": ["Conv", "Relu", "MaxPool", "MatMul"],
    "segmentation": ["Conv", "Relu", "MaxPool", "Concat", "Resize"],
}


# --------------------------------------------------------------------------- graph


def fold_fp16_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace `Cast(fp16 initializer) -> fp32` nodes by fp32 initializers.

    Bundles store big weights as fp16 with a Cast in the graph; the quantizer only quantizes
    weights that are initializers of the consuming node, so fold them first (exact).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    keep, folded = [], set()
    for node in graph.node:
        src = node.input[0] if node.input else None
        if (
            node.op_type == "Cast"
            and src in inits
            and inits[src].data_type == onnx.TensorProto.FLOAT16
        ):
            array = numpy_helper.to_array(inits[src]).astype(np.float32)
            graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
            folded.add(src)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    rest = [t for t in graph.initializer if t.name not in folded]
    del graph.initializer[:]
    graph.initializer.extend(rest)
    onnx.checker.check_model(model)
    return model


def node_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Named node sets of the anomaly graph: the VGG backbone (up to the last feature tap),
    its convs, the memory-bank matmul (patch features x bank), and the map's blur convs.
    Everything else (sqrt/L2 normalisation, pooling, distances, global score) is the tail."""
    nodes = model.graph.node
    inits = {t.name: t for t in model.graph.initializer}
    casts = {n.output[0]: n.input[0] for n in nodes if n.op_type == "Cast"}

    def dims(name: str) -> list[int]:
        name = casts.get(name, name)
        return list(inits[name].dims) if name in inits else []

    # Backbone: Conv nodes with `backbone.*` weights, and the Relu/MaxPool nodes fed by them
    # (node names depend on the exporter; weight names do not).
    convs = [
        n.name
        for n in nodes
        if n.op_type == "Conv"
        and len(n.input) > 1
        and casts.get(n.input[1], n.input[1]).startswith("backbone.")
    ]
    members, produced = set(convs), set()
    for n in nodes:  # topological order
        if n.name in members or (n.op_type in ("Relu", "MaxPool") and n.input[0] in produced):
            members.add(n.name)
            produced.update(n.output)
    backbone = [n.name for n in nodes if n.name in members]
    bank_len = dims("bank_sq")[-1:] or [None]
    matmuls = [(n.name, dims(n.input[1])) for n in nodes if n.op_type == "MatMul"]
    bank = [name for name, d in matmuls if d and d[-1] == bank_len[0]]
    if not bank and matmuls:  # fall back to the biggest weight matrix
        bank = [max(matmuls, key=lambda m: int(np.prod(m[1] or [0])))[0]]
    return {
        "backbone": backbone,
        "backbone_convs": convs,
        "first_conv": convs[:1],
        "last_conv": convs[-1:],
        "bank_matmul": bank,
        "tail_convs": [n.name for n in nodes if n.op_type == "Conv" and n.name not in backbone],
        "all": [n.name for n in nodes],
    }


def segmentation_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Named node sets of the U-Net graph: its convs, and the head (the last conv, whose
    logits the sigmoid turns into the probability the pixel threshold cuts)."""
    nodes = model.graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    return {"all": [n.name for n in nodes], "convs": convs, "head": convs[-1:]}


def groups_for(role: str, model: onnx.ModelProto) -> dict[str, list[str]]:
    return node_groups(model) if role == "anomaly" else segmentation_groups(model)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Which nodes go int8 (op types within node groups), which stay float, how calibrated."""

    name: str
    method: str  # minmax | entropy | percentile
    op_types: tuple[str, ...]
    quantize: tuple[str, ...]  # node groups that may be quantized
    exclude: tuple[str, ...] = ()  # node groups kept float inside those
    note: str = ""
    role: str = "anomaly"  # the model it applies to

    def describe(self) -> str:
        kept = "+".join(self.exclude) if self.exclude else "-"
        ops = "/".join(self.op_types)
        return f"{ops} in {'+'.join(self.quantize)}; float: {kept}; {self.method}"

    def to_manifest(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op_types": list(self.op_types),
            "quantized_node_groups": list(self.quantize),
            "float_node_groups": list(self.exclude),
            "format": "QDQ",
            "weights": "int8, per-channel, symmetric",
            "activations": "uint8, per-tensor, asymmetric",
            "calibration_method": self.method,
        }


BB = ("Conv", "Relu", "MaxPool")
UNET = ("Conv", "Relu", "MaxPool", "Concat", "Resize")
RECIPES = {
    r.name: r
    for r in [
        Recipe(
            "conv_all_minmax",
            "minmax",
            ("Conv",),
            ("all",),
            note="the issue's quick try: every Conv node, the map's blur convs too",
        ),
        Recipe("bb_minmax", "minmax", BB, ("backbone",)),
        Recipe("bb_entropy", "entropy", BB, ("backbone",)),
        Recipe("bb_percentile", "percentile", BB, ("backbone",)),
        Recipe("bb_keepfirst_minmax", "minmax", BB, ("backbone",), ("first_conv",)),
        Recipe("bb_keepfl_minmax", "minmax", BB, ("backbone",), ("first_conv", "last_conv")),
        Recipe(
            "bb_convonly_minmax",
            "minmax",
            ("Conv",),
            ("backbone",),
            note="backbone Conv only: Relu/MaxPool between DQ and Q",
        ),
        Recipe(
            "bank_only_minmax",
            "minmax",
            ("MatMul",),
            ("bank_matmul",),
            note="only the memory-bank matmul",
        ),
        Recipe(
            "blur_only_minmax",
            "minmax",
            ("Conv",),
            ("tail_convs",),
            note="only the two Gaussian-blur convs of the map",
        ),
        Recipe("bb_bank_minmax", "minmax", (*BB, "MatMul"), ("backbone", "bank_matmul")),
        Recipe("bb_bank_entropy", "entropy", (*BB, "MatMul"), ("backbone", "bank_matmul")),
        Recipe("bb_bank_percentile", "percentile", (*BB, "MatMul"), ("backbone", "bank_matmul")),
        Recipe("unet_minmax", "minmax", UNET, ("all",), ("head",), role="segmentation"),
        Recipe("unet_percentile", "percentile", UNET, ("all",), ("head",), role="segmentation"),
        Recipe("unet_all_minmax", "minmax", UNET, ("all",), role="segmentation", note="head too"),
        Recipe(
            "unet_convonly_minmax",
            "minmax",
            ("Conv",),
            ("all",),
            ("head",),
            note="convs only: Relu/MaxPool/Concat/Resize between DQ and Q",
            role="segmentation",
        ),
    ]
}
DEFAULT_RECIPE = "bb_bank_minmax"
DEFAULT_SEG_RECIPE = "unet_minmax"


# --------------------------------------------------------------------------- building


class _Reader:
    """onnxruntime CalibrationDataReader over preprocessed tensors (with strided ranges)."""

    def __init__(self, tensors: list[np.ndarray], input_name: str) -> None:
        self.all, self.tensors, self.name, self.i = tensors, tensors, input_name, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.tensors):
            return None
        self.i += 1
        return {self.name: self.tensors[self.i - 1]}

    def rewind(self) -> None:
        self.i = 0

    def __len__(self) -> int:
        return len(self.all)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.tensors, self.i = self.all[start_index:end_index], 0


def calibration_images(bundle_dir: Path, data_root: Path, category: str, n: int) -> list[Path]:
    """Up to `n` of the images the anomaly model was fitted on, evenly spread."""
    training = load_bundle(bundle_dir).manifest["models"]["anomaly"].get("training", {})
    fit = training.get("dataset", {}).get("split", {}).get("fit", [])
    cat = category_dir(data_root, category)
    paths = [cat / rel for rel in fit] or [s.image for s in list_samples(cat) if s.split == "train"]
    step = max(1, len(paths) // n)
    return paths[::step][:n]


def build_int8(
    recipe: Recipe,
    fp32_path: Path,
    calib: list[np.ndarray],
    input_name: str,
    out: Path,
    cache_dir: Path,
) -> Path:
    """Quantize `fp32_path` (fp16 weights already folded) by `recipe` into `out`.

    Ranges are calibrated once per method for every candidate tensor (CALIB_OP_TYPES) and
    cached in `cache_dir`, so recipes that differ only in what they quantize share them.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    groups = groups_for(recipe.role, onnx.load(fp32_path))
    allowed = {n for g in recipe.quantize for n in groups[g]}
    excluded = {n for g in recipe.exclude for n in groups[g]}
    exclude = sorted((set(groups["all"]) - allowed) | excluded)
    cache = (
        cache_dir
        / f"calib_{recipe.method}_{len(calib)}_{sha256_bytes(fp32_path.read_bytes())[:12]}.json"
    )
    extra = {
        "WeightSymmetric": True,
        "ActivationSymmetric": False,
        "CalibStridedMinMax": 4,  # 4 images at a time (memory); ranges merged
        **({"CalibPercentile": 99.999} if recipe.method == "percentile" else {}),
    }
    common = dict(
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=methods[recipe.method],
        extra_options=extra,
        calibration_cache_path=str(cache),
    )
    if not cache.exists():
        t0 = time.perf_counter()
        scratch = out.with_suffix(".calibrating.onnx")
        quantize_static(
            str(fp32_path),
            str(scratch),
            _Reader(calib, input_name),
            op_types_to_quantize=CALIB_OP_TYPES[recipe.role],
            **common,
        )
        scratch.unlink(missing_ok=True)
        log.info(
            "calibrated %s on %d images in %.0f s",
            recipe.method,
            len(calib),
            time.perf_counter() - t0,
        )
    quantize_static(
        str(fp32_path),
        str(out),
        _Reader(calib, input_name),
        op_types_to_quantize=list(recipe.op_types),
        nodes_to_exclude=exclude,
        **common,
    )
    return out


# --------------------------------------------------------------------------- measuring


def session(model: Path | bytes) -> ort.InferenceSession:
    """A CPU session with the Inspector's options."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    data = model.read_bytes() if isinstance(model, Path) else model
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def time_pair(
    a: ort.InferenceSession, b: ort.InferenceSession, inputs: list[np.ndarray], name: str, n: int
) -> tuple[float, float]:
    """Median ms per image of each session; same inputs, order alternating every round."""
    for s in (a, b):
        s.run(None, {name: inputs[0]})
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(n):
        feed = {name: inputs[i % len(inputs)]}
        for k in (0, 1) if i % 2 == 0 else (1, 0):
            t0 = time.perf_counter()
            (a, b)[k].run(None, feed)
            times[k].append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def scratch_bundle(src: Path, model: Path, out: Path, role: str = "anomaly") -> Path:
    """A bundle folder holding only `role`, whose model is `model`, with `src`'s settings."""
    if out.exists():
        shutil.rmtree(out)
    bundle = load_bundle(src)
    entry = dict(bundle.manifest["models"][role])
    for key in ("file", "sha256", "variants"):
        entry.pop(key, None)
    write_model(
        out,
        role,
        model,
        entry,
        name=bundle.name,
        defect_types=bundle.defect_types,
        input_limits=bundle.input_limits,
    )
    return out


def evaluate_dir(
    bundle_dir: Path, samples: list, gallery: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """Test metrics of a bundle's anomaly model through the Inspector, as `evaluate` does."""
    bundle = load_bundle(bundle_dir)
    inspector = Inspector(dataclasses.replace(bundle, segmentation=None), provider="cpu")
    data = collect(inspector, samples, gallery)
    metrics = _metrics(data, np.ones(len(samples), bool), 0.3)
    metrics["inspector_anomaly_ms_median"] = float(np.nanmedian(data.anomaly_ms))
    return metrics, data.scores


def cpu_description() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")),
        "unknown CPU",
    )
    flags = [
        f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f" {f}" in text
    ]
    return f"{model}, {os.cpu_count()} logical CPUs, {' '.join(flags) or 'no AVX2'}"


@dataclasses.dataclass
class Measured:
    recipe: Recipe
    path: Path
    ms_fp32: float
    ms_int8: float
    metrics: dict[str, Any] | None
    fp32_metrics: dict[str, Any] | None
    max_score_shift: float | None


class Study:
    """Shared state for measuring several recipes of the anomaly model on one bundle (fp32
    evaluated once)."""

    role = "anomaly"

    def __init__(
        self,
        bundle_dir: Path,
        data_root: Path,
        category: str,
        work: Path,
        calib_n: int = 32,
        timing_n: int = 20,
        evaluate: bool = True,
    ) -> None:
        self.bundle_dir, self.work = Path(bundle_dir), Path(work)
        self.data_root, self.category = Path(data_root), category
        self.cat_dir = category_dir(data_root, category)
        self.work.mkdir(parents=True, exist_ok=True)
        self.timing_n, self.do_eval = timing_n, evaluate
        bundle = load_bundle(self.bundle_dir)
        spec = bundle.anomaly if self.role == "anomaly" else bundle.segmentation
        if spec is None:
            raise SystemExit(f"{bundle_dir}: the bundle has no {self.role} model")
        self.spec = spec.input
        self.calib_paths = self.calibration_paths(calib_n)
        self.calib = [to_model_input(read_image(p), self.spec) for p in self.calib_paths]
        self.fp32_path = self.work / f"{self.role}_fp32.onnx"
        shipped_bytes = bundle.model_bytes[self.role]
        folded = fold_fp16_initializers(onnx.load_model_from_string(shipped_bytes))
        onnx.save(folded, self.fp32_path)
        self.fp32 = session(self.fp32_path)
        timing = self.timing_paths()
        step = max(1, len(timing) // 8)
        self.timing_inputs = [to_model_input(read_image(p), self.spec) for p in timing[::step][:8]]
        shipped = session(shipped_bytes)
        feed = {self.spec.name: self.timing_inputs[0]}
        self.fold_diff = max(
            float(np.max(np.abs(x - y)))
            for x, y in zip(shipped.run(None, feed), self.fp32.run(None, feed), strict=True)
        )
        self.fp32_metrics, self.fp32_scores = (None, None)
        if evaluate:
            self.fp32_metrics, self.fp32_scores = self.evaluate_model(self.fp32_path, "fp32")

    def calibration_paths(self, n: int) -> list[Path]:
        return calibration_images(self.bundle_dir, self.data_root, self.category, n)

    def timing_paths(self) -> list[Path]:
        self.samples = [s for s in list_samples(self.cat_dir) if s.split == "test"]
        return [s.image for s in self.samples]

    def evaluate_model(self, model: Path, name: str) -> tuple[dict[str, Any], np.ndarray | None]:
        """Test metrics of `model` in the bundle's place, through the Inspector; and its image
        scores (to compare with fp32's), where the model has them."""
        tmp = scratch_bundle(self.bundle_dir, model, self.work / f"bundle_{name}")
        return evaluate_dir(tmp, self.samples, self.work / f"gallery_{name}")

    def measure(self, recipe: Recipe) -> Measured:
        if recipe.role != self.role:
            raise ValueError(f"recipe {recipe.name} is for the {recipe.role} model")
        path = build_int8(
            recipe,
            self.fp32_path,
            self.calib,
            self.spec.name,
            self.work / f"{self.role}_{recipe.name}.onnx",
            self.work,
        )
        ms32, ms8 = time_pair(
            self.fp32, session(path), self.timing_inputs, self.spec.name, self.timing_n
        )
        metrics, shift = None, None
        if self.do_eval:
            metrics, scores = self.evaluate_model(path, recipe.name)
            if scores is not None:
                shift = float(np.max(np.abs(scores - self.fp32_scores)))
        return Measured(recipe, path, ms32, ms8, metrics, self.fp32_metrics, shift)


class SegmentationStudy(Study):
    """The same for the U-Net: calibrated on its training split, evaluated on its held-out
    split (Dice, as `station-train evaluate`), timed on held-out images."""

    role = "segmentation"

    def _split(self) -> dict[str, list[str]]:
        training = load_bundle(self.bundle_dir).manifest["models"]["segmentation"]
        split = training.get("training", {}).get("dataset", {}).get("split")
        if not split:
            raise SystemExit(
                f"{self.bundle_dir}: field 'models.segmentation.training.dataset.split' is "
                "missing: the U-Net's training and held-out images are unknown"
            )
        return split

    def calibration_paths(self, n: int) -> list[Path]:
        paths = [self.cat_dir / rel for rel in self._split().get("train", [])]
        step = max(1, len(paths) // n)
        return paths[::step][:n]

    def timing_paths(self) -> list[Path]:
        return [self.cat_dir / rel for rel in self._split().get("test", [])]

    def evaluate_model(self, model: Path, name: str) -> tuple[dict[str, Any], None]:
        tmp = scratch_bundle(self.bundle_dir, model, self.work / f"bundle_{name}", "segmentation")
        summary = evaluate_segmentation(
            tmp, self.data_root, self.category, self.work / f"eval_{name}", gallery=False
        )
        return summary, None


STUDIES = {"anomaly": Study, "segmentation": SegmentationStudy}
# what the manifest records of each evaluation (the gate's metrics among them)
RECORDED = {
    "anomaly": (
        "image_auroc",
        "pixel_auroc",
        "aupro",
        "global_image_auroc",
        "inspector_anomaly_ms_median",
    ),
    "segmentation": (
        "dice_mean",
        "iou_mean",
        "pixel_auroc",
        "image_recall",
        "false_reject_rate",
    ),
}


# --------------------------------------------------------------------------- subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle",
        type=Path,
        required=True,
        help="bundle folder; the int8 files and manifest entries are added to it",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset root (MVTec layout)")
    parser.add_argument("--category", required=True)
    parser.add_argument(
        "--model",
        choices=["anomaly", "segmentation", "both"],
        default="both",
        help="which model(s) to quantize (default both: each the bundle has)",
    )
    parser.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        choices=sorted(n for n, r in RECIPES.items() if r.role == "anomaly"),
        help=f"anomaly model: which nodes go int8 (default {DEFAULT_RECIPE}; docs/quantization.md)",
    )
    parser.add_argument(
        "--seg-recipe",
        default=DEFAULT_SEG_RECIPE,
        choices=sorted(n for n, r in RECIPES.items() if r.role == "segmentation"),
        help=f"U-Net: which nodes go int8 (default {DEFAULT_SEG_RECIPE})",
    )
    parser.add_argument(
        "--calib-images", type=int, default=32, help="images to calibrate on (default 32)"
    )
    parser.add_argument("--timing-runs", type=int, default=20)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument(
        "--keep-failing",
        action="store_true",
        help="add a variant to the bundle even if it fails the accuracy gate (recorded as "
        "failed: the station runs it only when forced with STATION_VARIANT=int8)",
    )
    parser.add_argument(
        "--report", type=Path, help="write every measured entry, kept or not, to this JSON file"
    )


def variant_entry(study: Study, m: Measured, category: str, timing_runs: int) -> dict[str, Any]:
    """The manifest entry of a measured variant (add_variant fills file and sha256)."""
    keys = RECORDED[study.role]
    split = f"{category}/test" if study.role == "anomaly" else f"{category}/held-out test split"
    metrics: dict[str, Any] = {
        "split": split,
        "int8": {k: m.metrics.get(k) for k in keys},
        "fp32": {k: m.fp32_metrics.get(k) for k in keys},
    }
    if m.max_score_shift is not None:
        metrics["max_score_shift"] = m.max_score_shift
    gate = check_gate(study.role, VariantSpec("int8", "-", metrics))
    return {
        "precision": "int8",
        "recipe": m.recipe.to_manifest(),
        "calibration_images": [p.relative_to(study.cat_dir).as_posix() for p in study.calib_paths],
        "metrics": metrics,
        "gate": {"passed": gate.passed, "reason": gate.reason},
        "speed": {
            "ms_fp32": m.ms_fp32,
            "ms_int8": m.ms_int8,
            "speedup": m.ms_fp32 / m.ms_int8,
            "cpu": cpu_description(),
            "onnxruntime": ort.__version__,
            "method": f"{study.role} model alone, median of {timing_runs} runs each, "
            "same images, order alternating",
        },
    }


def quantize_model(role: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build, measure and (if it passes the gate) add the int8 variant of one model; returns
    the measured entry."""
    recipe = RECIPES[args.recipe if role == "anomaly" else args.seg_recipe]
    study = STUDIES[role](
        args.bundle, args.data, args.category, work, args.calib_images, args.timing_runs
    )
    m = study.measure(recipe)
    entry = variant_entry(study, m, args.category, args.timing_runs)
    gate = entry["gate"]
    log.info(
        "int8 %s (%s): %.1f ms vs %.1f ms fp32 (%.2fx); %s",
        role,
        recipe.name,
        m.ms_int8,
        m.ms_fp32,
        m.ms_fp32 / m.ms_int8,
        gate["reason"],
    )
    if gate["passed"] or args.keep_failing:
        add_variant(args.bundle, role, m.path, entry)
    else:
        log.warning("int8 %s not added to the bundle: %s", role, gate["reason"])
    return entry


def run(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    present = [r for r in STUDIES if getattr(bundle, r) is not None]
    roles = present if args.model == "both" else [args.model]
    if not set(roles) <= set(present) or not roles:
        log.error("%s: the bundle has no %s model", args.bundle, args.model)
        return 2
    with tempfile.TemporaryDirectory(prefix="station-quantize.") as tmp:
        work = args.work or Path(tmp)
        report = {role: quantize_model(role, args, work / role) for role in roles}
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
