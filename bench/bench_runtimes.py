"""Side by side: torch eager, onnxruntime fp32 and int8, OpenVINO and anomalib's PatchCore on the
same images, for both models of a bundle (issue 19).

Every lane (a runtime running one model) is its own worker process (bench/runtimes/worker.py):
the station's .venv for torch and onnxruntime, a separate environment for onnxruntime-openvino
and one for anomalib, created under --venvs on first use (bench/runtimes/venvs.py). The lanes
are timed round robin over the images (lane order rotated every image), one run at a time, so
load from other work on a shared CPU falls on every lane alike: read the ratios.

- torch eager: the training modules rebuilt from the bundle's ONNX initializers
  (bench/runtimes/torch_models.py; parity against onnxruntime is in the table);
- onnxruntime fp32: the bundle's ONNX files, CPU execution provider, the Inspector's options;
- onnxruntime int8: the bundle's int8 variants (`station-train quantize`); a bundle without an
  int8 anomaly model gets one in a copy under --work (made once, reused);
- OpenVINO: onnxruntime-openvino's OpenVINOExecutionProvider (device CPU) on the same files;
- anomalib PatchCore (WR50 layer2+layer3, random weights: speed only), same input tensors.

Accuracy: image AUROC from each lane's own scores on the timed images (--images 0: all of
test/), and, for the onnxruntime rows, through the engine's Inspector: image and pixel AUROC
of the anomaly model on all of test/ (training.quantize.evaluate_dir), held-out Dice of the
U-Net (training.evaluate_segmentation). Table and figures: stdout and --work. docs/runtimes.md.

    .venv/bin/python bench/bench_runtimes.py [--images N] [--threads 1] [--skip anomalib]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `engine`, `training`, `bench` importable
    sys.path.insert(0, str(REPO))

from bench.runtimes import report  # noqa: E402
from bench.runtimes.pool import Lane, round_robin, start_all  # noqa: E402
from bench.runtimes.venvs import ANOMALIB, OPENVINO, VenvError, ensure_venv  # noqa: E402
from engine.bundle import Bundle, BundleError, InputSpec, load_bundle  # noqa: E402
from engine.imageio import read_image  # noqa: E402
from engine.preprocess import to_model_input  # noqa: E402
from training.anomaly_metrics import auroc  # noqa: E402
from training.evaluate_segmentation import evaluate_segmentation  # noqa: E402
from training.mvtec import DatasetError, Sample, category_dir, list_samples  # noqa: E402
from training.quantize import cpu_description, evaluate_dir, scratch_bundle  # noqa: E402

log = logging.getLogger("bench_runtimes")
DEFAULT_DATA = Path(os.environ.get("MVTEC_ROOT", REPO.parent / "shared/data/mvtec_ad"))
RUNTIMES = ("torch", "ort-fp32", "ort-int8", "openvino-fp32", "openvino-int8", "anomalib")
LABELS = {
    "torch": "torch eager (fp32)",
    "ort-fp32": "onnxruntime fp32 (CPU EP)",
    "ort-int8": "onnxruntime int8 (CPU EP)",
    "openvino-fp32": "OpenVINO EP fp32",
    "openvino-int8": "OpenVINO EP int8 (same QDQ file)",
    "anomalib": "anomalib 2.7.0 PatchCore (torch eager)",
}
DEFAULT_IMAGES = 40  # 6-15 min here with every lane, by how busy the 2 shared cores are
ANOMALIB_CORESET = 0.1  # anomalib Patchcore's default coreset_sampling_ratio
ANOMALIB_STRIDE = 8  # WR50 layer2, where its patch grid lives


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=REPO / "assets/default_bundle",
        help="bundle folder (default: the default bundle)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MVTec AD root")
    parser.add_argument("--category", default="metal_nut", help="dataset category")
    parser.add_argument(
        "--images",
        type=int,
        default=DEFAULT_IMAGES,
        help=f"test images to time, evenly spread over the types (default {DEFAULT_IMAGES}; "
        "0: all)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="intra-op threads of every runtime (0: defaults)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per lane")
    parser.add_argument("--pause-ms", type=float, default=20, help="idle time between runs")
    parser.add_argument(
        "--skip", default="", help=f"comma-separated runtimes to leave out: {','.join(RUNTIMES)}"
    )
    parser.add_argument(
        "--no-inspector",
        action="store_true",
        help="skip the accuracy of the onnxruntime rows through the Inspector",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "runs/bench_runtimes",
        help="where inputs, outputs, logs and the table go (default runs/bench_runtimes)",
    )
    parser.add_argument(
        "--venvs",
        type=Path,
        default=REPO / "runs/bench_venvs",
        help="where the OpenVINO and anomalib environments are made (default runs/bench_venvs)",
    )
    args = parser.parse_args(argv)
    unknown = set(filter(None, args.skip.split(","))) - set(RUNTIMES)
    if unknown:
        parser.error(f"--skip: unknown runtime(s) {sorted(unknown)}; known: {RUNTIMES}")
    return args


# --------------------------------------------------------------------------- inputs


def pick_test_images(data: Path, category: str, n: int) -> list[Sample]:
    samples = [s for s in list_samples(category_dir(data, category)) if s.split == "test"]
    if n and n < len(samples):
        samples = [samples[round(i * len(samples) / n)] for i in range(n)]
    return samples


def write_inputs(bundle: Bundle, samples: list[Sample], work: Path) -> dict[str, Path]:
    """Each model's input tensors for `samples` (the station's preprocessing), one .npy per
    distinct input spec; returns {role: path}."""
    specs: dict[str, InputSpec] = {
        role: model.input
        for role, model in (("segmentation", bundle.segmentation), ("anomaly", bundle.anomaly))
        if model
    }
    files: dict[InputSpec, Path] = {}
    images = [read_image(s.image) for s in samples]
    for spec in dict.fromkeys(specs.values()):
        path = work / f"inputs_{spec.width}x{spec.height}_{len(files)}.npy"
        np.save(path, np.concatenate([to_model_input(image, spec) for image in images]))
        files[spec] = path
    return {role: files[spec] for role, spec in specs.items()}


# --------------------------------------------------------------------------- int8 models


class Int8Error(RuntimeError):
    """The int8 variants the benchmark needed could not be made."""


def int8_files(bundle_dir: Path) -> dict[str, Path]:
    bundle = load_bundle(bundle_dir)
    found = {}
    for role, model in (("segmentation", bundle.segmentation), ("anomaly", bundle.anomaly)):
        for variant in model.variants if model else ():
            if variant.precision == "int8":
                found[role] = Path(bundle_dir) / variant.file
    return found


def ensure_int8(bundle_dir: Path, data: Path, category: str, work: Path) -> dict[str, Path]:
    """The bundle's int8 models; without an int8 anomaly model, a copy of the bundle under
    `work` gets one from `station-train quantize` (made once: reused while the copy's fp32
    model is the bundle's)."""
    found = int8_files(bundle_dir)
    if "anomaly" in found or load_bundle(bundle_dir).anomaly is None:
        return found
    copy = work / "int8_bundle"
    source_sha = load_bundle(bundle_dir).manifest["models"]["anomaly"]["sha256"]
    if copy.exists():
        cached = load_bundle(copy).manifest["models"]["anomaly"]["sha256"]
        if cached == source_sha and "anomaly" in int8_files(copy):
            return {**int8_files(copy), **found}
        shutil.rmtree(copy)
    shutil.copytree(bundle_dir, copy)
    command = [sys.executable, "-m", "training.cli", "quantize", "--bundle", str(copy)]
    command += ["--data", str(data), "--category", category]
    log.info("no int8 anomaly model in %s; making one: %s", bundle_dir, " ".join(command))
    if subprocess.run(command, cwd=REPO).returncode != 0:
        raise Int8Error(f"`{' '.join(command)}` failed; its messages are above")
    return {**int8_files(copy), **found}


# --------------------------------------------------------------------------- lanes


def make_lanes(
    args: argparse.Namespace, bundle: Bundle, int8: dict[str, Path], skip: set[str]
) -> tuple[list[Lane], list[str]]:
    """The lanes to run, and a note for each one left out and why."""
    notes: list[str] = []
    pythons: dict[str, Path | None] = {"station": Path(sys.executable)}
    envs = ((OPENVINO, ("openvino-fp32", "openvino-int8")), (ANOMALIB, ("anomalib",)))
    for spec, runtimes in envs:
        pythons[spec.name] = None
        if set(runtimes) <= skip:
            continue
        try:
            pythons[spec.name] = ensure_venv(args.venvs, spec)
        except VenvError as exc:
            notes.append(f"{', '.join(runtimes)}: not run, the environment failed: {exc}")
    lanes = []
    for role, model in (("segmentation", bundle.segmentation), ("anomaly", bundle.anomaly)):
        if model is None:
            continue
        fp32 = Path(bundle.source) / model.file
        candidates = {
            "torch": ("station", ["--backend", "torch", "--bundle", str(bundle.source)]),
            "ort-fp32": ("station", ["--backend", "ort", "--model", str(fp32)]),
            "openvino-fp32": (
                "openvino",
                ["--backend", "ort", "--model", str(fp32), "--provider", "openvino"],
            ),
        }
        if role in int8:
            candidates["ort-int8"] = ("station", ["--backend", "ort", "--model", str(int8[role])])
            candidates["openvino-int8"] = (
                "openvino",
                ["--backend", "ort", "--model", str(int8[role]), "--provider", "openvino"],
            )
        else:
            notes.append(f"int8 {role}: the bundle has no int8 variant of this model")
        if role == "anomaly":
            bank = anomalib_bank_rows(args.data, args.category, model.input.width)
            candidates["anomalib"] = (
                "anomalib",
                ["--backend", "anomalib", "--bank-rows", str(bank)],
            )
        for runtime in RUNTIMES:
            if runtime in skip or runtime not in candidates:
                continue
            env, worker_args = candidates[runtime]
            if pythons[env] is None:
                continue
            key = f"{runtime}/{role}"
            lanes.append(Lane(key, LABELS[runtime], role, pythons[env], worker_args))
    return lanes, notes


def anomalib_bank_rows(data: Path, category: str, size: int) -> int:
    """The memory bank anomalib's PatchCore would keep for this category at this input size."""
    n_train = sum(s.split == "train" for s in list_samples(category_dir(data, category)))
    return int(n_train * (size // ANOMALIB_STRIDE) ** 2 * ANOMALIB_CORESET)


# --------------------------------------------------------------------------- accuracy


def load_outputs(lane: Lane) -> dict[str, np.ndarray] | None:
    if lane.outputs is None or not lane.outputs.exists() or lane.error:
        return None
    with np.load(lane.outputs) as data:
        return {k: data[k] for k in data.files}


def inspector_accuracy(args: argparse.Namespace, role: str, model: Path) -> str:
    """`model`'s accuracy as the bundle's `role` model through the Inspector, on a scratch
    bundle holding it alone (so the engine cannot pick another variant): image and pixel
    AUROC on all of test/ (anomaly, as training.quantize), held-out Dice (U-Net, as
    `station-train evaluate`)."""
    scratch = scratch_bundle(args.bundle, model, args.work / f"eval_{role}_{model.stem}", role)
    try:
        if role == "anomaly":
            with tempfile.TemporaryDirectory() as gallery:
                samples = pick_test_images(args.data, args.category, 0)
                metrics, _ = evaluate_dir(scratch, samples, Path(gallery))
            return f"image {metrics['image_auroc']:.4f} / pixel {metrics['pixel_auroc']:.4f} AUROC"
        summary = evaluate_segmentation(
            scratch, args.data, args.category, scratch / "evaluation", gallery=False
        )
        return f"held-out Dice {summary['dice_mean']:.4f}"
    finally:
        shutil.rmtree(scratch)


def build_rows(
    lanes: list[Lane],
    bundle: Bundle,
    labels: np.ndarray,
    inspector: dict[str, str],  # lane key -> accuracy through the Inspector
) -> tuple[list[report.Row], dict[str, float | None]]:
    """Table rows (every lane, then both models per runtime) and the headline ratios."""
    by_key = {lane.key: lane for lane in lanes}
    outputs = {lane.key: load_outputs(lane) for lane in lanes}
    main_output = {
        "segmentation": bundle.segmentation.output_name if bundle.segmentation else None,
        "anomaly": bundle.anomaly.score_output if bundle.anomaly else None,
    }
    rows: dict[str, report.Row] = {}
    for lane in lanes:
        row = report.lane_row(lane)
        runtime = lane.key.split("/")[0]
        out, ref = outputs[lane.key], outputs.get(f"ort-fp32/{lane.role}")
        name = main_output[lane.role]
        if runtime == "anomalib":
            row.image_auroc = report.PUBLISHED_PATCHCORE
        elif out is not None and lane.role == "anomaly" and name in out:
            value = auroc(labels[out["index"]], out[name].ravel())
            row.image_auroc = report._f(value, ".4f")
        if runtime != "anomalib" and out is not None and ref is not None:
            row.max_diff = report._f(report.max_abs_diff(out, ref, name), ".2e")
            if lane.role == "anomaly":
                row.max_diff = f"score {row.max_diff}"
        row.inspector_accuracy = inspector.get(lane.key, "-")
        rows[lane.key] = row
    table = list(rows.values())
    both = {}
    for runtime in RUNTIMES:
        seg, ano = by_key.get(f"{runtime}/segmentation"), by_key.get(f"{runtime}/anomaly")
        if seg and ano and (row := report.combined_row(LABELS[runtime], seg, ano)):
            both[runtime] = row
            table.append(row)
    ratios = {}
    for label, slow, fast in (
        ("ort fp32 / torch eager, U-Net", "torch/segmentation", "ort-fp32/segmentation"),
        ("ort fp32 / torch eager, anomaly", "torch/anomaly", "ort-fp32/anomaly"),
        ("ort int8 / ort fp32, U-Net", "ort-fp32/segmentation", "ort-int8/segmentation"),
        ("ort int8 / ort fp32, anomaly", "ort-fp32/anomaly", "ort-int8/anomaly"),
        ("OpenVINO fp32 / ort fp32, U-Net", "ort-fp32/segmentation", "openvino-fp32/segmentation"),
        ("OpenVINO fp32 / ort fp32, anomaly", "ort-fp32/anomaly", "openvino-fp32/anomaly"),
        ("OpenVINO int8 / ort int8, U-Net", "ort-int8/segmentation", "openvino-int8/segmentation"),
        ("OpenVINO int8 / ort int8, anomaly", "ort-int8/anomaly", "openvino-int8/anomaly"),
        ("ort fp32 / anomalib PatchCore, anomaly", "anomalib/anomaly", "ort-fp32/anomaly"),
    ):
        ratios[label] = report.ratio(rows.get(slow), rows.get(fast))
    for label, slow, fast in (
        ("ort fp32 / torch eager, both models", "torch", "ort-fp32"),
        ("ort int8 / ort fp32, both models", "ort-fp32", "ort-int8"),
        ("OpenVINO int8 / ort fp32, both models", "ort-fp32", "openvino-int8"),
    ):
        ratios[label] = report.ratio(both.get(slow), both.get(fast))
    return table, ratios


# --------------------------------------------------------------------------- main


def versions(lanes: list[Lane]) -> list[str]:
    seen = {}
    for lane in lanes:
        if lane.info.get("runtime"):
            seen.setdefault(lane.info["runtime"], lane.info.get("providers"))
    return [f"{name}" + (f" (providers {p})" if p else "") for name, p in seen.items()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        return run(args, argv)
    except (BundleError, DatasetError, Int8Error) as exc:
        log.error("%s", exc)
        return 2


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    started = time.perf_counter()
    skip = set(filter(None, args.skip.split(",")))
    args.work.mkdir(parents=True, exist_ok=True)
    bundle = load_bundle(args.bundle)
    if not Path(bundle.source).is_dir():
        raise SystemExit(f"{args.bundle}: a bundle folder is needed (unpack the .zip)")
    samples = pick_test_images(args.data, args.category, args.images)
    labels = np.array([not s.is_good for s in samples])
    inputs = write_inputs(bundle, samples, args.work)
    int8 = (
        {}
        if {"ort-int8", "openvino-int8"} <= skip
        else ensure_int8(args.bundle, args.data, args.category, args.work)
    )
    lanes, notes = make_lanes(args, bundle, int8, skip)
    workers = start_all(lanes, inputs, args.work, args.warmup, args.threads)
    round_robin(workers, range(len(samples)), args.pause_ms / 1000)

    inspector: dict[str, str] = {}
    for lane in [] if args.no_inspector else lanes:
        runtime, role = lane.key.split("/")
        model = {"ort-fp32": Path(bundle.source) / getattr(bundle, role).file}.get(runtime)
        model = int8.get(role) if runtime == "ort-int8" else model
        if model is not None:
            log.info("accuracy of %s through the Inspector", model.name)
            inspector[lane.key] = inspector_accuracy(args, role, model)
    rows, ratios = build_rows(lanes, bundle, labels, inspector)
    notes += [f"{lane.key}: {lane.error}" for lane in lanes if lane.error]

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = " ".join([".venv/bin/python", "bench/bench_runtimes.py", *(argv or sys.argv[1:])])
    lines = [
        f"# Runtimes side by side ({stamp})",
        "",
        f"- command: `{command}`",
        f"- CPU: {cpu_description()}; {platform.machine()}, Python {platform.python_version()}",
        f"- bundle: {args.bundle} ({bundle.name}); images: {len(samples)} of "
        f"{args.category}/test, input {bundle.anomaly.input.width if bundle.anomaly else '?'} px",
        f"- runtimes: {'; '.join(versions(lanes))}",
        f"- timing: each lane a separate process, one run at a time, round robin over the "
        f"images (lane order rotated per image), {args.warmup} untimed warm-up runs, "
        f"{args.pause_ms:g} ms idle between runs; intra-op threads: "
        f"{args.threads or 'each runtime default'}; wall time "
        f"{time.perf_counter() - started:.0f} s",
        "",
        report.markdown(rows),
        "",
        "Speed ratios (mean ms of the slower / the faster; ort fp32 / torch eager goal >= 1.5):",
        "",
        *(f"- {k}: {'-' if v is None else f'{v:.2f}x'}" for k, v in ratios.items()),
        *([""] + [f"- note: {n}" for n in notes] if notes else []),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    md = args.work / f"runtimes-{stamp}.md"
    md.write_text(text, encoding="utf-8")
    figures = {
        "command": command,
        "cpu": cpu_description(),
        "images": [str(s.image) for s in samples],
        "rows": [r.to_dict() for r in rows],
        "ratios": ratios,
        "lanes": [
            {**dataclasses.asdict(lane), "python": str(lane.python), "outputs": str(lane.outputs)}
            for lane in lanes
        ],
        "notes": notes,
    }
    md.with_suffix(".json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"written: {md} and {md.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
