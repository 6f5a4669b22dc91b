"""Which precision of each model the station runs: fp32, or a variant such as int8.

One function, `choose_variant`, decides for every entry point (window, `station inspect`,
`station serve`, benchmarks, evaluation), from the bundle's recorded accuracy and the execution
provider. Automatic choice: a variant runs only on the CPU or OpenVINO provider (int8 kernels
are what make it faster there; on a GPU fp32 is the fast path) and only when the accuracy
recorded for it in the manifest passes the gate below, measured against the fp32 model by the
same evaluation.
An engineer forces a precision with `STATION_VARIANT` (or `station inspect --variant`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from engine.bundle import AnomalySpec, SegmentationSpec, VariantSpec
from engine.providers import ProviderError

log = logging.getLogger(__name__)

ENV_VAR = "STATION_VARIANT"
FP32 = "fp32"
CHOICES = ("auto", FP32, "int8")  # the names a person picks from
# Where `auto` may run a variant: the CPU provider (VNNI int8 kernels) and OpenVINO, which runs
# the same QDQ int8 files 1.55-1.59x faster than the CPU provider here, with the same image AUROC
# on metal_nut test/ (docs/runtimes.md); on GPUs fp32 is the fast path.
VARIANT_PROVIDERS = ("CPUExecutionProvider", "OpenVINOExecutionProvider")

#: The issue's accuracy gate: the most a variant may lose against fp32, per metric, in AUROC or
#: Dice units (0.005 = half a point). Metrics are those the variant's entry records under
#: `metrics.<precision>` and `metrics.fp32` (training/quantize.py writes them).
GATES: dict[str, tuple[tuple[str, float], ...]] = {
    "anomaly": (("image_auroc", 0.005), ("pixel_auroc", 0.01)),
    "segmentation": (("dice_mean", 0.01),),
}


class VariantError(ProviderError):
    """The precision asked for is unknown, or no model of the bundle has it. A session setting
    like the provider, so every entry point that reports a bad provider reports it too."""


@dataclass(frozen=True)
class Gate:
    passed: bool
    reason: str  # what was compared, for logs and the manifest


@dataclass(frozen=True)
class VariantChoice:
    """What one model runs: `precision` and the variant (None: the fp32 model), and why."""

    role: str
    precision: str
    variant: VariantSpec | None
    reason: str


def check_gate(role: str, variant: VariantSpec) -> Gate:
    """Whether `variant`'s recorded accuracy is within GATES[role] of the fp32 model's."""
    metrics = variant.metrics
    mine, base = metrics.get(variant.precision) or {}, metrics.get(FP32) or {}
    parts = []
    for key, allowed in GATES.get(role, ()):
        value, reference = mine.get(key), base.get(key)
        if not isinstance(value, int | float) or not isinstance(reference, int | float):
            return Gate(False, f"no recorded {key} for {variant.precision} and fp32")
        drop = reference - value
        parts.append(f"{key} {value:.4f} vs fp32 {reference:.4f}")
        if drop > allowed:
            return Gate(False, f"{parts[-1]}: {drop:.4f} lower, more than {allowed:g} allowed")
    if not parts:
        return Gate(False, f"no accuracy gate for the {role} model")
    return Gate(True, "; ".join(parts) + " (within the gate)")


def requested_variant(override: str | None = None) -> str:
    """The precision asked for: `override`, else env STATION_VARIANT, else 'auto'."""
    wanted = (override or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if wanted not in CHOICES:
        raise VariantError(
            f"unknown model variant {wanted!r} (from {'--variant' if override else ENV_VAR}); "
            f"use one of {', '.join(CHOICES)}"
        )
    return wanted


def choose_variant(
    role: str, spec: SegmentationSpec | AnomalySpec, provider: str, wanted: str
) -> VariantChoice:
    """The precision model `role` runs on `provider` (the first one requested), for `wanted`
    (requested_variant's answer). A forced precision the model lacks runs fp32."""
    by_precision = {v.precision: v for v in spec.variants}
    if wanted == FP32:
        return VariantChoice(role, FP32, None, "fp32 forced")
    if wanted != "auto":
        variant = by_precision.get(wanted)
        if variant is None:
            return VariantChoice(role, FP32, None, f"{wanted} forced, but the bundle has none")
        return VariantChoice(role, wanted, variant, f"{wanted} forced")
    if provider not in VARIANT_PROVIDERS:
        short = provider.removesuffix("ExecutionProvider")
        return VariantChoice(role, FP32, None, f"fp32 on {short}")
    for variant in spec.variants:
        gate = check_gate(role, variant)
        if gate.passed:
            return VariantChoice(role, variant.precision, variant, gate.reason)
        log.info("%s %s variant not used: %s", role, variant.precision, gate.reason)
    if spec.variants:
        return VariantChoice(role, FP32, None, "no variant passes the accuracy gate")
    return VariantChoice(role, FP32, None, "no variant in the bundle")
