"""One runtime running one model, driven over a pipe by bench/bench_runtimes.py.

Runs in whichever virtual environment holds the runtime (the station's .venv, or one the
benchmark created), so it imports only the standard library and numpy at the top, and the
runtime of its backend when it starts:

- ``ort``: an onnxruntime session on an ONNX file (`--provider cpu` or `openvino`), with the
  Inspector's session options (defaults, warnings off);
- ``torch``: the training module rebuilt from the bundle (bench/runtimes/torch_models.py), eager,
  under `torch.inference_mode()`;
- ``anomalib``: anomalib's PatchCore torch model (WR50 layer2 + layer3, random weights since
  none can be downloaded here) with a random memory bank of `--bank-rows` rows, the size its
  default 10 % coreset keeps of the category's training patches.

Protocol (JSON lines): after loading and `--warmup` untimed runs it writes
``{"ready": ...}``; then each line from the driver is an image index, answered with
``{"ms": ...}`` (the inference alone, timed here); ``quit`` saves every output to `--outputs`
(.npz) and answers with the peak RSS while running (the peak of loading and warm-up is in
the ready message). Anything a library prints goes to stderr, because the
protocol owns stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

REPO = Path(__file__).resolve().parents[2]

Runner = Callable[[np.ndarray], dict[str, np.ndarray]]


def ort_runner(model: Path, provider: str, threads: int) -> tuple[Runner, dict]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # as the Inspector
    openvino = {"device_type": "CPU"}
    if threads:
        options.intra_op_num_threads = threads
        openvino["num_of_threads"] = str(threads)
    providers = {
        "cpu": ["CPUExecutionProvider"],
        "openvino": [("OpenVINOExecutionProvider", openvino), "CPUExecutionProvider"],
    }[provider]
    session = ort.InferenceSession(model.read_bytes(), options, providers=providers)
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(outputs, session.run(None, {name: x}), strict=True))

    package = "onnxruntime-openvino" if provider == "openvino" else "onnxruntime"
    info = {"runtime": f"{package} {ort.__version__}", "providers": session.get_providers()}
    return run, info


def torch_runner(bundle_path: Path, role: str, threads: int) -> tuple[Runner, dict]:
    sys.path.insert(0, str(REPO))
    import torch

    if threads:
        torch.set_num_threads(threads)

    from bench.runtimes.torch_models import anomaly_graph_from_bundle, unet_from_bundle
    from engine.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    if role == "segmentation":
        module, names = unet_from_bundle(bundle), [bundle.segmentation.output_name]
    else:
        ano = bundle.anomaly
        module = anomaly_graph_from_bundle(bundle)
        names = [ano.map_output, ano.score_output, ano.global_score_output][
            : 3 if module.has_global else 2
        ]

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = module(torch.from_numpy(x))
        out = (out,) if isinstance(out, torch.Tensor) else out
        return {n: t.numpy() for n, t in zip(names, out, strict=True)}

    info = {"runtime": f"torch {torch.__version__} eager", "threads": torch.get_num_threads()}
    return run, info


def anomalib_runner(bank_rows: int, threads: int) -> tuple[Runner, dict]:
    import anomalib
    import torch
    from anomalib.models.image.patchcore.torch_model import PatchcoreModel

    if threads:
        torch.set_num_threads(threads)

    torch.manual_seed(0)
    model = PatchcoreModel(
        layers=["layer2", "layer3"], backbone="wide_resnet50_2", pre_trained=False
    ).eval()
    with torch.inference_mode():  # the embedding width, from one forward pass in train mode
        model.train()
        width = model(torch.zeros(1, 3, 64, 64)).shape[1]
        model.eval()
    model.memory_bank = torch.randn(bank_rows, width)

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = model(torch.from_numpy(x))
        return {"anomaly_map": out.anomaly_map.numpy(), "score": out.pred_score.numpy()}

    info = {
        "runtime": f"anomalib {anomalib.__version__} PatchCore, torch {torch.__version__} eager",
        "threads": torch.get_num_threads(),
        "memory_bank": [bank_rows, int(width)],
    }
    return run, info


class Inputs:
    """One image at a time from the .npy of all inputs, read (not memory-mapped): mapped pages
    would count in this process's RSS, so the memory figure would grow with the image count."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("rb")
        version = np.lib.format.read_magic(self.file)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[version]
        shape, _, self.dtype = read_header(self.file)
        self.item_shape = (1, *shape[1:])
        self.count = int(np.prod(shape[1:]))
        self.offset = self.file.tell()

    def read(self, index: int) -> np.ndarray:
        self.file.seek(self.offset + index * self.count * self.dtype.itemsize)
        return np.fromfile(self.file, self.dtype, self.count).reshape(self.item_shape)


class Outputs:
    """Every run's outputs, written to raw files as they come (not held in memory, for the
    same reason), saved as one .npz, rows sorted by image index, at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, BinaryIO] = {}

    def add(self, outputs: dict[str, np.ndarray]) -> None:
        for name, value in outputs.items():
            if name not in self.files:
                self.files[name] = (self.folder / f"{len(self.files)}.f32").open("wb")
            self.files[name].write(np.ascontiguousarray(value, np.float32).tobytes())

    def save(self, path: Path, order: list[int]) -> None:
        rows = np.argsort(order)
        arrays = {"index": np.array(order)[rows]}
        for name, file in self.files.items():
            file.close()
            values = np.fromfile(file.name, np.float32).reshape(len(order), -1)
            arrays[name] = values[rows]
        np.savez(path, **arrays)
        shutil.rmtree(self.folder)


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss, which on Linux keeps the
    parent's peak across fork and exec (every worker would report the driver's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start the peak RSS afresh (Linux: 5 to clear_refs), so the run's peak leaves out what
    loading needed only for a moment (torchvision builds all of VGG16 before it is cut)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("ort", "torch", "anomalib"), required=True)
    parser.add_argument("--role", choices=("segmentation", "anomaly"), required=True)
    parser.add_argument("--model", type=Path, help="ONNX file (ort)")
    parser.add_argument("--provider", default="cpu", choices=("cpu", "openvino"))
    parser.add_argument("--bundle", type=Path, help="bundle folder (torch)")
    parser.add_argument("--bank-rows", type=int, default=0, help="memory bank rows (anomalib)")
    parser.add_argument("--inputs", type=Path, required=True, help=".npy [N, 3, H, W] float32")
    parser.add_argument("--outputs", type=Path, required=True, help=".npz written at quit")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: default)")
    args = parser.parse_args(argv)

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # native libraries' prints must not corrupt the protocol
    sys.stdout = sys.stderr

    def say(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")

    started = time.perf_counter()
    try:
        if args.backend == "ort":
            run, info = ort_runner(args.model, args.provider, args.threads)
        elif args.backend == "torch":
            run, info = torch_runner(args.bundle, args.role, args.threads)
        else:
            run, info = anomalib_runner(args.bank_rows, args.threads)
        inputs = Inputs(args.inputs)
        for _ in range(args.warmup):
            run(inputs.read(0))
    except Exception as exc:  # any failure to start is reported to the driver, which shows it
        say({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    load_peak = peak_rss_mb()
    info["peak_rss_reset"] = reset_peak_rss()
    say(
        {
            "ready": True,
            "load_s": time.perf_counter() - started,
            "load_peak_rss_mb": load_peak,
            **info,
        }
    )
    order: list[int] = []
    spill = Outputs(args.outputs.with_suffix(".parts"))
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        index = int(command)
        x = inputs.read(index)
        clock = time.perf_counter()
        out = run(x)
        ms = (time.perf_counter() - clock) * 1000
        order.append(index)
        spill.add(out)
        say({"ms": ms})
    peak = peak_rss_mb()  # before the outputs are gathered in memory to be saved
    spill.save(args.outputs, order)
    say({"peak_rss_mb": peak})
    return 0


if __name__ == "__main__":
    sys.exit(main())
