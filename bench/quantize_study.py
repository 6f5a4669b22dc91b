"""Study: int8 (QDQ static) variants of a bundle's anomaly model or U-Net, speed and accuracy.

For each recipe (training/quantize.py RECIPES) this builds an int8 copy of the anomaly model
with onnxruntime.quantization (QDQ, per-channel symmetric int8 weights, uint8 activations),
calibrated on the bundle's own fit images (train/good, listed in the manifest) through the
engine's preprocessing, then

* times the anomaly model alone against fp32 (the Inspector's session options, the same
  preprocessed test images, fp32/int8 order alternating, median of N runs each), and
* evaluates image and pixel AUROC on `<category>/test` through the station's Inspector on a
  scratch bundle (under --work, outside the project) holding the variant, with the collection
  and metric functions of `station-train evaluate` (training.evaluate_anomaly).

With `--model segmentation` the same for the U-Net: calibrated on its training split,
evaluated by held-out Dice (training.evaluate_segmentation, as `station-train evaluate`).

With `--bank-rows N` the anomaly model is first cut to a memory bank of N entries, picked from
the shipped bank by the greedy k-centre selection that built it (a cheaper search; the
thresholds stay those of the full bank, the AUROCs do not depend on them).

The source bundle is not changed. Results: a markdown table (stdout, --md) and JSON lines.

    .venv/bin/python bench/quantize_study.py --bundle assets/default_bundle \
        --data /work/shared/data/mvtec_ad --category metal_nut --json /tmp/q/rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from engine.bundle import load_bundle  # noqa: E402
from engine.imageio import read_image  # noqa: E402
from engine.preprocess import to_model_input  # noqa: E402
from training.anomaly_model import greedy_coreset  # noqa: E402
from training.quantize import (  # noqa: E402
    RECIPES,
    STUDIES,
    cpu_description,
    fold_fp16_initializers,
    node_groups,
    scratch_bundle,
    session,
)

# the accuracy columns of each model's table: (header, metric key)
COLUMNS = {
    "anomaly": [
        ("image AUROC", "image_auroc"),
        ("pixel AUROC", "pixel_auroc"),
        ("AUPRO", "aupro"),
        ("max score shift", "max_score_shift"),
    ],
    "segmentation": [
        ("held-out Dice", "dice_mean"),
        ("IoU", "iou_mean"),
        ("pixel AUROC", "pixel_auroc"),
        ("recall", "image_recall"),
        ("false rejects", "false_reject_rate"),
    ],
}


def row(m) -> dict:
    out = {
        "variant": m.recipe.name,
        "desc": m.recipe.describe(),
        "ms_fp32": m.ms_fp32,
        "ms_int8": m.ms_int8,
        "ratio": m.ms_fp32 / m.ms_int8,
        "file": m.path.name,
    }
    if m.metrics:
        out.update(m.metrics)
        out["max_score_shift"] = m.max_score_shift
    return out


def markdown_table(rows: list[dict], role: str = "anomaly") -> str:
    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    columns = COLUMNS[role]
    lines = [
        "| variant | int8 ops in groups; kept float; calibration | ms fp32 | ms int8 | speed-up | "
        + " | ".join(header for header, _ in columns)
        + " |",
        "|---" * (5 + len(columns)) + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['desc']} | {f(r.get('ms_fp32'), '.0f')} | "
            f"{f(r.get('ms_int8'), '.0f')} | {f(r.get('ratio'), '.2f')}x | "
            + " | ".join(f(r.get(key), ".4f") for _, key in columns)
            + " |"
        )
    return "\n".join(lines)


def cut_bank(bundle_dir: Path, rows: int, work: Path) -> Path:
    """An anomaly-only copy of the bundle whose memory bank keeps `rows` of its entries."""
    model = fold_fp16_initializers(
        onnx.load_model_from_string(load_bundle(bundle_dir).model_bytes["anomaly"])
    )
    inits = {t.name: t for t in model.graph.initializer}
    (matmul,) = [n for n in model.graph.node if n.name in node_groups(model)["bank_matmul"]]
    bank = numpy_helper.to_array(inits[matmul.input[1]])  # [features, entries]
    keep = greedy_coreset(torch.from_numpy(bank.T.copy()), rows).numpy()
    for name, array in ((matmul.input[1], bank[:, keep]), ("bank_sq", None)):
        if array is None:
            array = numpy_helper.to_array(inits[name])[keep]
        inits[name].CopyFrom(numpy_helper.from_array(array.astype("float32"), name))
    work.mkdir(parents=True, exist_ok=True)
    onnx.save(model, work / f"anomaly_bank{rows}.onnx")
    return scratch_bundle(bundle_dir, work / f"anomaly_bank{rows}.onnx", work / f"bank{rows}")


def time_against(
    other: Path, other_bundle: Path, model: Path, study, n: int
) -> tuple[float, float]:
    """Median ms of `other` (an anomaly model file of `other_bundle`) and of `model`,
    each on the same test images preprocessed for its own input, order alternating."""
    spec = load_bundle(other_bundle).anomaly.input
    images = [read_image(s.image) for s in study.samples[:: max(1, len(study.samples) // 8)][:8]]
    pairs = [
        (session(other), [to_model_input(i, spec) for i in images], spec.name),
        (session(model), study.timing_inputs, study.spec.name),
    ]
    times: tuple[list[float], list[float]] = ([], [])
    for sess, inputs, name in pairs:
        sess.run(None, {name: inputs[0]})
    for i in range(n):
        for k in (0, 1) if i % 2 == 0 else (1, 0):
            sess, inputs, name = pairs[k]
            start = time.perf_counter()
            sess.run(None, {name: inputs[i % len(inputs)]})
            times[k].append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, default=ROOT / "assets/default_bundle")
    p.add_argument("--data", type=Path, default=Path("/work/shared/data/mvtec_ad"))
    p.add_argument("--category", default="metal_nut")
    p.add_argument("--work", type=Path, default=Path("/tmp/quantize_study"))
    p.add_argument("--model", choices=sorted(STUDIES), default="anomaly")
    p.add_argument("--variants", help="comma-separated recipe names (default: all of --model)")
    p.add_argument("--calib-n", type=int, default=32)
    p.add_argument("--timing-n", type=int, default=20)
    p.add_argument("--no-eval", action="store_true", help="timing only")
    p.add_argument("--bank-rows", type=int, help="cut the anomaly memory bank to N entries first")
    p.add_argument(
        "--against",
        type=Path,
        help="also time each variant against this model file of a bundle folder (e.g. "
        "assets/default_bundle/anomaly.int8.onnx), each on its own input size",
    )
    p.add_argument("--json", type=Path, help="append one JSON object per variant")
    p.add_argument("--md", type=Path, help="write the table as markdown")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("root").setLevel(logging.ERROR)  # the quantizer's pre-processing hint

    bundle = args.bundle
    if args.bank_rows:
        bundle = cut_bank(args.bundle, args.bank_rows, args.work / "cut")
        print(f"memory bank cut to {args.bank_rows} entries: {bundle}", flush=True)
    study = STUDIES[args.model](
        bundle,
        args.data,
        args.category,
        args.work,
        args.calib_n,
        args.timing_n,
        evaluate=not args.no_eval,
    )
    print(
        f"calibration: {len(study.calib)} training images; fp16-weight fold max |diff| "
        f"{study.fold_diff:.1e}",
        flush=True,
    )
    rows = []
    if study.fp32_metrics:
        shift = {"max_score_shift": 0.0} if args.model == "anomaly" else {}
        rows.append({"variant": "fp32 (shipped)", "desc": "-", **study.fp32_metrics, **shift})
    names = (
        args.variants.split(",")
        if args.variants
        else [n for n, r in RECIPES.items() if r.role == args.model]
    )
    for name in [v for v in names if v]:
        measured = study.measure(RECIPES[name])
        r = row(measured)
        if args.against:
            r["ms_against"], r["ms_this"] = time_against(
                args.against, args.against.parent, measured.path, study, args.timing_n
            )
            print(f"{name}: {r['ms_this']:.1f} ms vs {args.against}: {r['ms_against']:.1f} ms")
        rows.append(r)
        print(json.dumps({k: v for k, v in r.items() if k in ("variant", "ratio")}), flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(r) + "\n")
    table = markdown_table(rows, args.model)
    print(table)
    print(cpu_description())
    if args.md:
        args.md.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
