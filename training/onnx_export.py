"""Exporting a torch model to ONNX with a dynamic batch axis, and checking it agrees."""

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

log = logging.getLogger(__name__)
OPSET = 18  # the lowest opset torch's export-based (dynamo) exporter writes natively

# the exporter's graph passes log every rewrite at INFO, which buries a training run's progress
for _name in ("onnx_ir", "onnxscript"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def export_onnx(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    path: Path | str,
    input_name: str,
    output_names: list[str],
) -> Path:
    """Export `model` (eval mode, on CPU) so the batch axis of input and outputs is dynamic.

    Uses torch's export-based (dynamo) exporter, which replaced the deprecated TorchScript one;
    the weights are written inside the .onnx file, so a bundle model stays one file.
    """
    path = Path(path)
    model = model.eval().cpu()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example_input.cpu(),),
            str(path),
            input_names=[input_name],
            output_names=output_names,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    log.info("exported %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def parity_max_abs_diff(
    model: torch.nn.Module, onnx_path: Path | str, batch: torch.Tensor
) -> float:
    """Max abs difference over all outputs between torch and onnxruntime (CPU) on `batch`."""
    model = model.eval().cpu()
    with torch.no_grad():
        expected = model(batch.cpu())
    if isinstance(expected, torch.Tensor):
        expected = (expected,)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: batch.cpu().numpy()})
    return max(float(np.max(np.abs(e.numpy() - g))) for e, g in zip(expected, got, strict=True))


class ParityError(RuntimeError):
    """The exported ONNX model disagrees with torch by more than the allowed difference."""


def check_parity(
    model: torch.nn.Module, onnx_path: Path | str, batch: torch.Tensor, limit: float
) -> float:
    """`parity_max_abs_diff` of the export at `onnx_path`; raises ParityError above `limit`."""
    parity = parity_max_abs_diff(model, onnx_path, batch)
    if parity > limit:
        raise ParityError(
            f"{onnx_path}: torch and onnxruntime differ by {parity:.2e} (limit {limit:.0e})"
        )
    return parity
