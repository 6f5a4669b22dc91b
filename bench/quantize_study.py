"""Study: int8 (QDQ static) variants of a bundle's anomaly model, speed and accuracy.

For each recipe (training/quantize.py RECIPES) this builds an int8 copy of the anomaly model
with onnxruntime.quantization (QDQ, per-channel symmetric int8 weights, uint8 activations),
calibrated on the bundle's own fit images (train/good, listed in the manifest) through the
engine's preprocessing, then

* times the anomaly model alone against fp32 (the Inspector's session options, the same
  preprocessed test images, fp32/int8 order alternating, median of N runs each), and
* evaluates image and pixel AUROC on `<category>/test` through the station's Inspector on a
  scratch bundle (under --work, outside the project) holding the variant, with the collection
  and metric functions of `station-train evaluate` (training.evaluate_anomaly).

The source bundle is not changed. Results: a markdown table (stdout, --md) and JSON lines.

    .venv/bin/python bench/quantize_study.py --bundle assets/default_bundle \
        --data /work/shared/data/mvtec_ad --category metal_nut --json /tmp/q/rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.quantize import RECIPES, Study, cpu_description  # noqa: E402


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
        out.update(
            image_auroc=m.metrics["image_auroc"],
            pixel_auroc=m.metrics["pixel_auroc"],
            aupro=m.metrics["aupro"],
            max_score_shift=m.max_score_shift,
            inspector_ms=m.metrics["inspector_anomaly_ms_median"],
        )
    return out


def markdown_table(rows: list[dict]) -> str:
    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines = [
        "| variant | int8 ops in groups; kept float; calibration | ms fp32 | ms int8 | "
        "speed-up | image AUROC | pixel AUROC | AUPRO | max score shift |",
        "|---" * 9 + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['desc']} | {f(r.get('ms_fp32'), '.0f')} | "
            f"{f(r.get('ms_int8'), '.0f')} | {f(r.get('ratio'), '.2f')}x | "
            f"{f(r.get('image_auroc'), '.4f')} | {f(r.get('pixel_auroc'), '.4f')} | "
            f"{f(r.get('aupro'), '.4f')} | {f(r.get('max_score_shift'), '.4f')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, default=ROOT / "assets/default_bundle")
    p.add_argument("--data", type=Path, default=Path("/work/shared/data/mvtec_ad"))
    p.add_argument("--category", default="metal_nut")
    p.add_argument("--work", type=Path, default=Path("/tmp/quantize_study"))
    p.add_argument("--variants", default=",".join(RECIPES), help="comma-separated recipe names")
    p.add_argument("--calib-n", type=int, default=32)
    p.add_argument("--timing-n", type=int, default=20)
    p.add_argument("--no-eval", action="store_true", help="timing only")
    p.add_argument("--json", type=Path, help="append one JSON object per variant")
    p.add_argument("--md", type=Path, help="write the table as markdown")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("root").setLevel(logging.ERROR)  # the quantizer's pre-processing hint

    study = Study(
        args.bundle,
        args.data,
        args.category,
        args.work,
        args.calib_n,
        args.timing_n,
        evaluate=not args.no_eval,
    )
    print(
        f"calibration: {len(study.calib)} fit images; fp16-weight fold max |diff| "
        f"{study.fold_diff:.1e}",
        flush=True,
    )
    rows = []
    if study.fp32_metrics:
        m = study.fp32_metrics
        rows.append(
            {
                "variant": "fp32 (shipped)",
                "desc": "-",
                "image_auroc": m["image_auroc"],
                "pixel_auroc": m["pixel_auroc"],
                "aupro": m["aupro"],
                "max_score_shift": 0.0,
                "inspector_ms": m["inspector_anomaly_ms_median"],
            }
        )
    for name in [v for v in args.variants.split(",") if v]:
        r = row(study.measure(RECIPES[name]))
        rows.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "desc"}), flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(r) + "\n")
    table = markdown_table(rows)
    print(table)
    print(cpu_description())
    if args.md:
        args.md.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
