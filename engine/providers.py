"""Choosing onnxruntime execution providers: the fastest available, or the one asked for.

OpenVINO (the `onnxruntime-openvino` build) is a choice, never picked by `auto`: whether it
beats the default CPU provider depends on the CPU and the model, so an engineer chooses it
after measuring (bench/bench_runtimes.py).
"""

import logging
import os

import onnxruntime as ort

log = logging.getLogger(__name__)

PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)
ALIASES = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
INSTALL_HINTS = {
    "CUDAExecutionProvider": "for CUDA install onnxruntime-gpu",
    "OpenVINOExecutionProvider": "for OpenVINO install onnxruntime-openvino",
    "DmlExecutionProvider": "for DirectML install onnxruntime-directml",
}
ENV_VAR = "STATION_PROVIDER"
CHOICES = ("auto", "cpu", "cuda", "directml", "coreml", "openvino")  # the names a person picks


class ProviderError(Exception):
    """The provider asked for is unknown or not available in this onnxruntime build."""


def choose_providers(override: str | None = None) -> list[str]:
    """Providers to request, best first, always ending with CPU.

    `override` (or env STATION_PROVIDER) names one provider, e.g. 'cpu' or 'cuda'. Even then
    onnxruntime may fall back silently at session creation, so callers report
    `session.get_providers()`, not this list.
    """
    available = ort.get_available_providers()
    wanted = override or os.environ.get(ENV_VAR) or ""
    if wanted and wanted.lower() != "auto":
        name = ALIASES.get(wanted.lower(), wanted)
        if name not in ALIASES.values():
            raise ProviderError(
                f"unknown execution provider {wanted!r}; use one of {', '.join(ALIASES)} or auto"
            )
        if name not in available:
            hint = INSTALL_HINTS.get(name, "")
            raise ProviderError(
                f"execution provider {wanted!r} is not available in this onnxruntime "
                f"(available: {', '.join(available)})" + (f"; {hint}" if hint else "")
            )
        return [name] if name == "CPUExecutionProvider" else [name, "CPUExecutionProvider"]
    chosen = [p for p in PREFERENCE if p in available]
    log.debug("available providers %s, chosen %s", available, chosen)
    return chosen


def available_choices() -> tuple[str, ...]:
    """The CHOICES this onnxruntime build can run, auto first: one it lacks would only fail
    when a model loads, so screens do not offer it."""
    available = set(ort.get_available_providers())
    return tuple(name for name in CHOICES if name == "auto" or ALIASES[name] in available)
