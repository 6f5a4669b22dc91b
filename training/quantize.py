"""Add an int8 variant of a bundle's anomaly model, measured through the station's Inspector.

The variant is built with onnxruntime static quantization (QDQ; per-channel symmetric int8
weights, uint8 activations) from a recipe that says which nodes go int8; everything else stays
float. It is calibrated on the images the model was fitted on (the manifest's `fit` list of
train/good images), through the engine's own preprocessing. Then the variant and the fp32 model
are evaluated the same way as `station-train evaluate` on `<category>/test` (a scratch bundle
holding the variant is run through the Inspector), and both are timed alone with the
Inspector's session options on the same images, order alternating.

The bundle keeps its fp32 model as the one the station runs; the int8 file is written beside
it and recorded under `models.anomaly.variants` in the manifest (precision, file, sha256,
recipe, calibration, metrics, speed). See docs/quantization.md for the study behind the
default recipe.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from engine.bundle import add_variant, load_bundle, sha256_bytes, write_model
from engine.imageio import read_image
from engine.inspector import Inspector
from engine.preprocess import to_model_input
from training.evaluate_anomaly import _metrics, collect
from training.mvtec import category_dir, list_samples

log = logging.getLogger(__name__)

CALIB_OP_TYPES = ["Conv", "Relu", "MaxPool", "MatMul"]  # one calibration cache per method


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


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Which nodes go int8 (op types within node groups), which stay float, how calibrated."""

    name: str
    method: str  # minmax | entropy | percentile
    op_types: tuple[str, ...]
    quantize: tuple[str, ...]  # node groups that may be quantized
    exclude: tuple[str, ...] = ()  # node groups kept float inside those
    note: str = ""

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
    ]
}
DEFAULT_RECIPE = "bb_bank_minmax"


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
    groups = node_groups(onnx.load(fp32_path))
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
            op_types_to_quantize=CALIB_OP_TYPES,
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


def scratch_bundle(src: Path, model: Path, out: Path) -> Path:
    """An anomaly-only bundle folder whose model is `model`, with `src`'s anomaly settings."""
    if out.exists():
        shutil.rmtree(out)
    bundle = load_bundle(src)
    entry = dict(bundle.manifest["models"]["anomaly"])
    for key in ("file", "sha256", "variants"):
        entry.pop(key, None)
    write_model(
        out,
        "anomaly",
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
    """Shared state for measuring several recipes on one bundle (fp32 evaluated once)."""

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
        self.work.mkdir(parents=True, exist_ok=True)
        self.timing_n, self.do_eval = timing_n, evaluate
        bundle = load_bundle(self.bundle_dir)
        if bundle.anomaly is None:
            raise SystemExit(f"{bundle_dir}: the bundle has no anomaly model")
        self.spec = bundle.anomaly.input
        self.calib_paths = calibration_images(self.bundle_dir, data_root, category, calib_n)
        self.calib = [to_model_input(read_image(p), self.spec) for p in self.calib_paths]
        self.fp32_path = self.work / "anomaly_fp32.onnx"
        onnx.save(
            fold_fp16_initializers(onnx.load_model_from_string(bundle.model_bytes["anomaly"])),
            self.fp32_path,
        )
        self.fp32 = session(self.fp32_path)
        self.samples = [
            s for s in list_samples(category_dir(data_root, category)) if s.split == "test"
        ]
        step = max(1, len(self.samples) // 8)
        self.timing_inputs = [
            to_model_input(read_image(s.image), self.spec) for s in self.samples[::step][:8]
        ]
        shipped = session(bundle.model_bytes["anomaly"])
        feed = {self.spec.name: self.timing_inputs[0]}
        self.fold_diff = max(
            float(np.max(np.abs(x - y)))
            for x, y in zip(shipped.run(None, feed), self.fp32.run(None, feed), strict=True)
        )
        self.fp32_metrics, self.fp32_scores = (None, None)
        if evaluate:
            self.fp32_metrics, self.fp32_scores = evaluate_dir(
                self.bundle_dir, self.samples, self.work / "gallery_fp32"
            )

    def measure(self, recipe: Recipe) -> Measured:
        path = build_int8(
            recipe,
            self.fp32_path,
            self.calib,
            self.spec.name,
            self.work / f"anomaly_{recipe.name}.onnx",
            self.work,
        )
        ms32, ms8 = time_pair(
            self.fp32, session(path), self.timing_inputs, self.spec.name, self.timing_n
        )
        metrics, shift = None, None
        if self.do_eval:
            tmp = scratch_bundle(self.bundle_dir, path, self.work / f"bundle_{recipe.name}")
            metrics, scores = evaluate_dir(tmp, self.samples, self.work / f"gallery_{recipe.name}")
            shift = float(np.max(np.abs(scores - self.fp32_scores)))
        return Measured(recipe, path, ms32, ms8, metrics, self.fp32_metrics, shift)


# --------------------------------------------------------------------------- subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle",
        type=Path,
        required=True,
        help="bundle folder; the int8 file and manifest entry are added to it",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset root (MVTec layout)")
    parser.add_argument("--category", required=True)
    parser.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        choices=sorted(RECIPES),
        help=f"which nodes go int8 (default {DEFAULT_RECIPE}; docs/quantization.md)",
    )
    parser.add_argument(
        "--calib-images", type=int, default=32, help="fit images to calibrate on (default 32)"
    )
    parser.add_argument("--timing-runs", type=int, default=20)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")


def run(args: argparse.Namespace) -> int:
    recipe = RECIPES[args.recipe]
    with tempfile.TemporaryDirectory(prefix="station-quantize.") as tmp:
        work = args.work or Path(tmp)
        study = Study(
            args.bundle, args.data, args.category, work, args.calib_images, args.timing_runs
        )
        m = study.measure(recipe)
        keys = (
            "image_auroc",
            "pixel_auroc",
            "aupro",
            "global_image_auroc",
            "inspector_anomaly_ms_median",
        )
        entry = {
            "precision": "int8",
            "recipe": recipe.to_manifest(),
            "calibration_images": [str(p.relative_to(p.parents[2])) for p in study.calib_paths],
            "metrics": {
                "split": f"{args.category}/test",
                "int8": {k: m.metrics.get(k) for k in keys},
                "fp32": {k: m.fp32_metrics.get(k) for k in keys},
                "max_score_shift": m.max_score_shift,
            },
            "speed": {
                "ms_fp32": m.ms_fp32,
                "ms_int8": m.ms_int8,
                "speedup": m.ms_fp32 / m.ms_int8,
                "cpu": cpu_description(),
                "onnxruntime": ort.__version__,
                "method": f"anomaly model alone, median of {args.timing_runs} runs each, "
                "same images, order alternating",
            },
        }
        add_variant(args.bundle, "anomaly", m.path, entry)
        log.info(
            "int8 anomaly (%s): %.0f ms vs %.0f ms fp32 (%.2fx); image AUROC %.4f (fp32 %.4f), "
            "pixel AUROC %.4f (fp32 %.4f)",
            recipe.name,
            m.ms_int8,
            m.ms_fp32,
            m.ms_fp32 / m.ms_int8,
            m.metrics["image_auroc"] or float("nan"),
            m.fp32_metrics["image_auroc"] or float("nan"),
            m.metrics["pixel_auroc"] or float("nan"),
            m.fp32_metrics["pixel_auroc"] or float("nan"),
        )
    return 0
